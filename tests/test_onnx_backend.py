"""The ONNX Runtime backend: exported offline from the packaged weights, and the same
answers as torch."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from qa.answer.service import QAService

pytestmark = pytest.mark.model
REPO = Path(__file__).resolve().parent.parent
DEV = REPO / "eval" / "bank" / "russia-iran" / "questions.jsonl"  # the shared dev.jsonl and dev2.jsonl


def _questions() -> list[str]:
    return [json.loads(line)["question"] for line in DEV.read_text().splitlines() if line.strip()]


def test_export_runs_offline_into_its_cache(tmp_path: Path) -> None:
    """A fresh cache is filled from the local weights with every network connection refused."""
    script = textwrap.dedent(
        f"""
        import socket
        def refuse(*args, **kwargs):
            raise OSError("network access attempted")
        socket.socket.connect = refuse
        socket.create_connection = refuse
        from pathlib import Path
        from qa.embedding.encoder import OnnxEmbedder
        embedder = OnnxEmbedder(cache_dir=Path({str(tmp_path)!r}))
        v = embedder.encode_query(["Russia and Iran signed a partnership."])
        print(v.shape, round(float((v ** 2).sum()), 4))
        """
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HF_", "TRANSFORMERS_"))}
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env, timeout=600)
    assert out.returncode == 0, out.stderr
    assert "(1, 384) 1.0" in out.stdout
    files = sorted(p.name for p in tmp_path.glob("onnx/*/*.onnx"))
    assert files == ["model-int8-v2.onnx", "model.onnx"]


def test_question_vectors_match_torch(real_embedder) -> None:
    from qa.embedding.encoder import OnnxEmbedder, SentenceTransformerEmbedder

    questions = _questions()
    torch_vectors = SentenceTransformerEmbedder().encode(questions)
    int8 = OnnxEmbedder(int8_queries=True).encode_query(questions)
    fp32 = real_embedder.encode_query(questions)
    assert float((torch_vectors * int8).sum(axis=1).min()) >= 0.99  # every question
    assert float((torch_vectors * fp32).sum(axis=1).min()) >= 0.9999


def test_top_excerpts_match_the_torch_backend(real_index: Path, real_service: QAService) -> None:
    from qa.embedding.encoder import SentenceTransformerEmbedder

    torch_service = QAService(real_index, SentenceTransformerEmbedder(), real_service.model)
    torch_service.load()
    questions = _questions()
    same = 0
    for q in questions:
        a = [(e.source.document, e.source.start) for e in real_service.ask(q, 5).excerpts]
        b = [(e.source.document, e.source.start) for e in torch_service.ask(q, 5).excerpts]
        same += a == b
    assert same / len(questions) >= 0.99, f"{same} of {len(questions)} questions have the same five excerpts"


def test_unknown_backend_says_what_to_set() -> None:
    from qa.embedding.encoder import make_embedder
    from qa.errors import ModelLoadError

    with pytest.raises(ModelLoadError, match="QA_BACKEND"):
        make_embedder(backend="tensorflow")
