"""qa on a real Ray cluster: a ``--ray`` build equals a local one, an incremental ``--ray``
build embeds only what changed, and ``qa serve --ray`` answers through Ray Serve replicas
and picks up a rebuilt index."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import threading
from pathlib import Path

import httpx
import numpy as np
import pytest
from ports import free_port, until

from qa.answer.service import QAService
from qa.index.build import build_index
from qa.index.builds import current_build
from qa.index.store import StoredIndex, load_index

REPO = Path(__file__).resolve().parents[2]
MODEL = "all-MiniLM-L6-v2"
QUESTIONS = ["Which Ukrainian president was ousted in 2014?",
             "What types of military hardware has Russia supplied to Iran?",
             "When did the two countries sign their treaty?",
             "Who painted the Mona Lisa?"]
NEW = "notes.txt"
NEW_TEXT = ("Caspian sturgeon are fished in the northern Caspian Sea. Their numbers have fallen sharply "
            "since the 1990s. Fishing quotas were agreed by the five shore states.\n")


def qa(*args: object) -> str:
    out = subprocess.run([sys.executable, "-m", "qa", *map(str, args)], capture_output=True, text=True,
                         timeout=900, cwd=REPO)
    assert out.returncode == 0, out.stdout + out.stderr
    return out.stdout


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    target = tmp_path_factory.mktemp("ray") / "corpus"
    shutil.copytree(REPO / "corpus", target)
    return target


@pytest.fixture(scope="module")
def builds(corpus: Path, ray_address: str) -> tuple[Path, Path]:
    """The corpus indexed locally and on the cluster (the CLI, as a user runs it)."""
    local, on_ray = corpus.parent / "local", corpus.parent / "on-ray"
    qa("index", "--corpus", corpus, "--index", local)
    out = qa("index", "--corpus", corpus, "--index", on_ray, "--ray", ray_address)
    assert "3 added" in out
    return local, on_ray


def answers(service: QAService) -> list[list[tuple[str, int, int]]]:
    return [[(e.source.document, e.source.start, e.source.end) for e in service.ask(q, 5).excerpts]
            for q in QUESTIONS]


def test_a_ray_build_equals_a_local_build(builds: tuple[Path, Path], real_embedder) -> None:
    a, b = (load_index(path, MODEL) for path in builds)
    assert [d.id for d in a.documents] == [d.id for d in b.documents]
    assert [d.text for d in a.documents] == [d.text for d in b.documents]
    assert a.manifest.documents == b.manifest.documents and a.manifest.counts == b.manifest.counts
    for table in ("sentences", "passages"):
        for column in ("doc", "start", "end"):
            assert np.array_equal(getattr(getattr(a, table), column), getattr(getattr(b, table), column))
    assert np.array_equal(a.entities.start, b.entities.start) and a.vocabulary == b.vocabulary
    for vectors in ("sentence_vectors", "passage_vectors", "word_vectors"):
        assert np.allclose(getattr(a, vectors), getattr(b, vectors), atol=1e-4), vectors
    local, on_ray = (QAService(path, real_embedder) for path in builds)
    local.load()
    on_ray.load()
    assert answers(local) == answers(on_ray)


def test_an_incremental_ray_build_embeds_only_what_changed(corpus: Path, builds: tuple[Path, Path],
                                                           ray_address: str, real_embedder) -> None:
    from qa.index.cluster import ClusterEmbedder, connect, read_on_cluster

    ray = connect(ray_address)
    embedder = ClusterEmbedder(real_embedder, MODEL, "onnx", workers=2)
    (corpus / NEW).write_text(NEW_TEXT, encoding="utf-8")
    try:
        report = build_index(corpus, builds[1], embedder, read=read_on_cluster)
    finally:
        embedder.close()
        ray.shutdown()
        (corpus / NEW).unlink()
    assert report.added == [NEW] and len(report.unchanged) == 3 and not report.changed
    index: StoredIndex = load_index(builds[1], MODEL)
    made = index.manifest.documents[NEW]
    assert report.embedded_texts == made["sentences"] + made["passages"]
    assert report.embedded_texts < len(index.sentences) // 10


def test_qa_serve_on_ray_answers_and_picks_up_a_rebuild(corpus: Path, builds: tuple[Path, Path],
                                                       ray_address: str, real_embedder) -> None:
    index = corpus.parent / "served"
    shutil.copytree(builds[0], index)
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "qa", "serve", "--corpus", corpus, "--index", index, "--ray", ray_address,
         "--replicas", "2", "--port", str(port)],
        cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    base = f"http://127.0.0.1:{port}"
    try:
        def replicas() -> int:
            assert server.poll() is None, server.stdout.read() if server.stdout else ""
            try:
                response = httpx.get(f"{base}/health", timeout=10)
            except httpx.HTTPError:
                return 0
            return int(response.json().get("replicas") or 0) if response.status_code == 200 else 0

        assert until(lambda: replicas() == 2, timeout=300, every=1.0)
        local = QAService(builds[0], real_embedder)
        local.load()
        with httpx.Client(timeout=60) as http:
            for question in QUESTIONS:
                body = http.post(f"{base}/ask", json={"question": question, "top_k": 5}).json()
                got = [(a["source"]["document"], a["source"]["start"], a["source"]["end"]) for a in body["answers"]]
                expected = local.ask(question, 5)
                assert got == [(e.source.document, e.source.start, e.source.end) for e in expected.excerpts]
                assert body["no_answer"] == expected.no_answer
            stop, failures, asked = threading.Event(), [], [0]

            def keep_asking() -> None:  # a reader asking all through the rebuild and the swap
                with httpx.Client(timeout=60) as reader:
                    while not stop.is_set():
                        response = reader.post(f"{base}/ask", json={"question": QUESTIONS[0], "top_k": 3})
                        asked[0] += 1
                        if response.status_code != 200 or not response.json()["answers"]:
                            failures.append(f"{response.status_code} {response.text[:200]}")

            reader = threading.Thread(target=keep_asking)
            reader.start()
            try:
                (corpus / NEW).write_text(NEW_TEXT, encoding="utf-8")
                qa("index", "--corpus", corpus, "--index", index)
                rebuilt = current_build(index).name

                def every_replica_has_it() -> bool:  # a run of answers all from the rebuilt index
                    return all(http.get(f"{base}/health").json()["index"] == rebuilt for _ in range(8))

                until(every_replica_has_it, timeout=120, every=0.5)
            finally:
                stop.set()
                reader.join(timeout=120)
            assert failures == [] and asked[0] > 10
            body = http.post(f"{base}/ask", json={"question": "Who agreed the fishing quotas?", "top_k": 1}).json()
            assert body["answers"][0]["source"]["document"] == NEW, json.dumps(body)[:500]
    finally:
        (corpus / NEW).unlink(missing_ok=True)
        server.terminate()
        server.wait(timeout=120)


def test_an_embedding_worker_that_dies_is_restarted(ray_address: str, real_embedder) -> None:
    from qa.index.cluster import ClusterEmbedder, connect

    ray = connect(ray_address)
    embedder = ClusterEmbedder(real_embedder, MODEL, "onnx", workers=2)
    texts = [f"Sentence number {i} about the Caspian Sea." for i in range(600)]
    try:
        expected = embedder.encode(texts)
        for actor in embedder._actors:
            ray.kill(actor, no_restart=False)  # the worker process dies; Ray starts it again
        again = embedder.encode(texts)
    finally:
        embedder.close()
        ray.shutdown()
    assert np.allclose(again, expected, atol=1e-5)
    assert np.allclose(expected[:3], real_embedder.encode(texts[:3]), atol=1e-4)
