"""CLI errors are one clear line and a non-zero exit code; help is fast and light."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path


def run(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "qa.cli", *args], capture_output=True, text=True, cwd=cwd, timeout=120)


def test_help_does_not_import_torch() -> None:
    code = "import sys, qa.cli; print('torch' in sys.modules or 'faiss' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.stdout.strip() == "False"
    help_text = run("--help").stdout
    assert "qa index" in help_text and "qa ask" in help_text and "QA_CORPUS_DIR" in help_text


def test_ask_without_index_is_one_line_error(tmp_path: Path) -> None:
    out = run("ask", "--index", str(tmp_path / "none"), "What?")
    assert out.returncode == 1
    assert out.stderr.strip().count("\n") == 0
    assert "qa: error: no index" in out.stderr and "qa index" in out.stderr
    assert "Traceback" not in out.stderr


def test_index_with_missing_corpus_is_one_line_error(tmp_path: Path) -> None:
    out = run("index", "--corpus", str(tmp_path / "nope"), "--index", str(tmp_path / "ix"))
    assert out.returncode == 1 and "corpus directory" in out.stderr and "Traceback" not in out.stderr


def test_environment_variables_set_directories(tmp_path: Path) -> None:
    import os

    env = dict(os.environ, QA_INDEX_DIR=str(tmp_path / "from-env"))
    out = subprocess.run([sys.executable, "-m", "qa.cli", "ask", "x"], capture_output=True, text=True, env=env)
    assert out.returncode == 1 and "from-env" in out.stderr


def test_bad_usage_exits_2() -> None:
    assert run("ask").returncode == 2
    assert run("frobnicate").returncode == 2
