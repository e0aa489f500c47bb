"""``qa eval`` computes the shared scorer's metrics in-process; both must agree exactly when
they score the same responses (the scorer talking HTTP to a real server, ``qa eval`` asking
the same service directly)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from ports import running_server

from qa.answer.service import QAService
from qa.config import Settings
from qa.evaluation.metrics import evaluate, load_questions
from qa.http.app import create_app

REPO = Path(__file__).resolve().parent.parent
EVAL = REPO.parent / "shared" / "eval"
METRICS = ("questions", "hit@1", "recall@5", "mrr@10", "span_f1", "false_no_answer", "no_answer_accuracy",
           "verbatim", "excerpt_chars_median")


QUESTIONS = REPO / "eval" / "bank" / "russia-iran" / "questions.jsonl"  # the shared dev.jsonl and dev2.jsonl


@pytest.mark.model
def test_qa_eval_equals_the_shared_scorer(real_service: QAService) -> None:
    scorer, path = EVAL / "score.py", QUESTIONS
    if not scorer.exists():
        pytest.skip("shared/eval/score.py is not beside the checkout")
    settings = Settings(corpus_dir=REPO / "corpus", index_dir=real_service.index_dir)
    with running_server(create_app(settings, real_service)) as url:
        out = subprocess.run([sys.executable, str(scorer), str(path), "--url", url, "--json"],
                             capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stderr
    theirs = json.loads(out.stdout)
    ours, _, _ = evaluate(real_service, load_questions(path))
    assert theirs["errors"] == 0
    assert {m: ours[m] for m in METRICS} == {m: theirs[m] for m in METRICS}
    assert 0 < ours["hit@1"] < 1 and ours["verbatim"] == 1.0  # a set with misses, so the rules are exercised
