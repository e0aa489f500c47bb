"""Shared fixtures: a small fixture corpus, a fake embedder, built indexes and apps."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from qa.answer.service import QAService
from qa.embedding.encoder import HashingEmbedder
from qa.index.build import build_index

FIXTURES = Path(__file__).parent / "fixtures"
REPO = Path(__file__).resolve().parent.parent
# tests/cluster/ needs a Ray cluster on loopback; tests/test_ray.py runs it in its own network
# namespace (QA_RAY_NETNS=1), so the main run leaves it out.
collect_ignore = [] if os.environ.get("QA_RAY_NETNS") else ["cluster"]


@pytest.fixture
def corpus_dir(tmp_path: Path) -> Path:
    """A copy of the fixture corpus that a test may change."""
    target = tmp_path / "corpus"
    shutil.copytree(FIXTURES / "corpus", target)
    return target


@pytest.fixture
def embedder() -> HashingEmbedder:
    return HashingEmbedder()


@pytest.fixture
def index_dir(tmp_path: Path, corpus_dir: Path, embedder: HashingEmbedder) -> Path:
    """The fixture corpus indexed with the fake embedder."""
    target = tmp_path / "index"
    build_index(corpus_dir, target, embedder)
    return target


@pytest.fixture
def service(index_dir: Path, embedder: HashingEmbedder) -> QAService:
    service = QAService(index_dir, embedder)
    service.load()
    return service


@pytest.fixture(scope="session")
def real_embedder():
    """The packaged all-MiniLM-L6-v2 model on the default backend (ONNX Runtime, exported
    from the package's weights on first use), loaded once per test session."""
    from qa.embedding.encoder import OnnxEmbedder

    embedder = OnnxEmbedder()
    embedder.warm_up()
    return embedder


@pytest.fixture(scope="session")
def real_index(tmp_path_factory: pytest.TempPathFactory, real_embedder) -> Path:
    """The bundled corpus indexed with the real model, once per test session."""
    target = tmp_path_factory.mktemp("real") / "index"
    build_index(REPO / "corpus", target, real_embedder)
    return target


@pytest.fixture(scope="session")
def real_service(real_index: Path, real_embedder) -> QAService:
    service = QAService(real_index, real_embedder)
    service.load()
    return service
