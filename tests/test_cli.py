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


def test_version_and_python_dash_m() -> None:
    from importlib.metadata import version

    import qa

    for command in ([sys.executable, "-m", "qa", "--version"], [sys.executable, "-m", "qa.cli", "--version"]):
        out = subprocess.run(command, capture_output=True, text=True, timeout=60)
        assert out.returncode == 0 and out.stdout.strip() == f"qa {qa.__version__}"
    assert version("qa") == qa.__version__  # the package metadata takes its version from qa/__init__.py


def test_directory_options_go_before_or_after_the_command(tmp_path: Path) -> None:
    for args in (("--index", str(tmp_path / "before"), "ask", "What?"),
                 ("ask", "--index", str(tmp_path / "after"), "What?"),
                 ("--index", str(tmp_path / "ignored"), "ask", "--index", str(tmp_path / "after"), "What?")):
        out = run(*args)
        expected = "before" if args[1].endswith("before") else "after"
        assert out.returncode == 1 and f"{tmp_path / expected}" in out.stderr, out.stderr


def test_ask_file_answers_every_line_and_goes_on_after_a_failure(index_dir: Path, tmp_path: Path,
                                                                 monkeypatch, capsys) -> None:
    import json

    from qa import cli
    from qa.embedding.encoder import HashingEmbedder

    monkeypatch.setattr(cli, "_embedder", lambda settings: HashingEmbedder())
    questions = tmp_path / "questions.txt"
    questions.write_text("How tall is Mount Everest?\n\n   \n" + "x" * 2000 + "\nWhich sea does the Danube reach?\n",
                         encoding="utf-8")
    code = cli.main(["ask", "--index", str(index_dir), "--file", str(questions), "--json", "-k", "2"])
    out, err = capsys.readouterr()
    lines = [json.loads(line) for line in out.splitlines()]
    assert code == 1 and len(lines) == 3  # blank lines skipped; the failed one in its place
    assert lines[0]["question"] == "How tall is Mount Everest?" and len(lines[0]["answers"]) == 2
    assert "detail" in lines[1] and "1000" in lines[1]["detail"] and "answers" not in lines[1]
    assert lines[2]["question"] == "Which sea does the Danube reach?" and lines[2]["answers"]
    assert "question 2" in err and "1 of 3 questions failed" in err

    code = cli.main(["ask", "--index", str(index_dir), "--file", str(questions.with_name("missing.txt"))])
    assert code == 1 and "cannot read the questions" in capsys.readouterr().err
    assert cli.main(["ask", "--index", str(index_dir), "--file", str(questions), "Also a question?"]) == 2


def test_ask_file_prints_each_answer_under_its_question(index_dir: Path, tmp_path: Path, monkeypatch,
                                                        capsys) -> None:
    from qa import cli
    from qa.embedding.encoder import HashingEmbedder

    monkeypatch.setattr(cli, "_embedder", lambda settings: HashingEmbedder())
    questions = tmp_path / "questions.txt"
    questions.write_text("How tall is Mount Everest?\nWhich sea does the Danube reach?\n", encoding="utf-8")
    assert cli.main(["ask", "--index", str(index_dir), "--file", str(questions), "-k", "1"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("Q1: How tall is Mount Everest?") and "\nQ2: Which sea does the Danube reach?" in out
    assert out.count("characters ") == 2
