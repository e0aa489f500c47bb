"""The question bank (``eval/bank/``) passes its checker: format, ids, the paraphrase rule, the
shares and the totals; and, with the collections fetched, every evidence sentence is verbatim in
its document as qa reads it.

The evidence check fetches the collections from Debian's archive and the npm registry
(``eval/bank/fetch.py``) into ``QA_BANK_DIR`` (default ``~/.cache/qa-bank/corpora``). Where the
tools it needs are missing it is skipped, unless ``QA_REQUIRE_BANK=1`` (CI sets it).
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest

REPO = Path(__file__).resolve().parent.parent
BANK = REPO / "eval" / "bank"


def _module(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(f"bank_{name}", BANK / f"{name}.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


check = _module("check")


def test_the_paraphrase_rule_counts_consecutive_content_words() -> None:
    evidence = "The committee approved the northern railway extension in March 1998."
    assert check.longest_shared_run("When did the panel back the new line to the north?", evidence)[0] == 0
    assert check.longest_shared_run("When was the northern railway extension approved?", evidence)[0] == 3
    run = check.longest_shared_run("When was the approved northern railway extension built?", evidence)
    assert run == (4, ["approved", "northern", "railway", "extension"])


def test_the_checker_reports_each_broken_rule(tmp_path: Path) -> None:
    folder = tmp_path / "bank" / "tiny"
    folder.mkdir(parents=True)
    (folder / "README.md").write_text("- Genre: g\n- Source: s\n- Licence: l\n- Format: txt\n- Fetch: f\n- Part: open\n")
    (tmp_path / "texts" / "tiny").mkdir(parents=True)
    (tmp_path / "texts" / "tiny" / "a.txt.txt").write_text("The dam was finished in 1961 after nine years of work.")
    lines = [
        '{"id": "x1", "question": "When was the dam completed?", "document": "a.txt", '
        '"evidence": ["The dam was finished in 1961 after nine years of work."], "answer": "1961", "type": "date"}',
        '{"id": "x1", "question": "How long did it take?", "document": "a.txt", '
        '"evidence": ["The dam was finished in 1962."], "answer": "nine years", "type": "number"}',
        '{"id": "x3", "question": "Who paid?", "answerable": false, "type": "guess"}',
        "not json",
    ]
    (folder / "questions.jsonl").write_text("\n".join(lines) + "\n")
    report = check.Report()
    check.check_collection(folder, check.Texts(tmp_path / "texts", None), set(), report)
    problems = "\n".join(report.problems)
    assert "not JSON" in problems
    assert "duplicate id 'x1'" in problems
    assert "evidence not verbatim" in problems
    assert "is not inside its evidence" in problems
    assert "unanswerable type 'guess'" in problems
    assert len(report.problems) == 5


def test_the_bank_passes_its_checker() -> None:
    out = subprocess.run([sys.executable, str(BANK / "check.py")], capture_output=True, text=True)
    assert out.returncode == 0, out.stdout[-3000:]


def _corpora() -> Path:
    root = Path(os.environ.get("QA_BANK_DIR", Path.home() / ".cache" / "qa-bank" / "corpora"))
    names = [p.name for p in BANK.iterdir() if (p / "README.md").is_file()]
    missing = [n for n in names if not (root / n).is_dir() or not any((root / n).iterdir())]
    tools = all(shutil.which(t) for t in ("apt-get", "dpkg-deb", "npm", "man"))
    if missing and not tools:
        if os.environ.get("QA_REQUIRE_BANK"):
            pytest.fail("fetching the bank needs apt-get, dpkg-deb, npm and man")
        pytest.skip("fetching the bank needs apt-get, dpkg-deb, npm and man (Debian)")
    for name in missing:
        if (root / name).exists():
            shutil.rmtree(root / name)
        out = subprocess.run([sys.executable, str(BANK / "fetch.py"), name, str(root / name)],
                             capture_output=True, text=True, timeout=900)
        if out.returncode != 0:
            message = f"could not fetch {name}: {out.stderr[-2000:]}"
            if os.environ.get("QA_REQUIRE_BANK"):
                pytest.fail(message)
            pytest.skip(message)
    return root


def test_every_evidence_sentence_is_verbatim_in_its_document() -> None:
    root = _corpora()
    out = subprocess.run([sys.executable, str(BANK / "check.py"), "--corpora", str(root)],
                         capture_output=True, text=True, cwd=REPO)
    assert out.returncode == 0, out.stdout[-3000:]
