"""QueryBatcher: questions waiting for the model are encoded together, each caller gets
its own vectors, and an error reaches every caller of its batch."""

from __future__ import annotations

import threading

import numpy as np

from qa.embedding.encoder import HashingEmbedder, QueryBatcher


class GatedEmbedder(HashingEmbedder):
    """Holds its first run until released, so that other callers queue behind it."""

    def __init__(self) -> None:
        super().__init__()
        self.started = threading.Event()
        self.release = threading.Event()
        self.batches: list[list[str]] = []
        self.fail_on: str | None = None

    def encode_query(self, texts: list[str]) -> np.ndarray:
        self.batches.append(list(texts))
        if len(self.batches) == 1:
            self.started.set()
            assert self.release.wait(10)
        if self.fail_on in texts:
            raise RuntimeError("model failed")
        return self.encode(texts)


def _ask_in_threads(batcher: QueryBatcher, embedder: GatedEmbedder, questions: list[list[str]]) -> list:
    results: list = [None] * len(questions)

    def ask(i: int) -> None:
        try:
            results[i] = batcher.encode_query(questions[i])
        except RuntimeError as exc:
            results[i] = exc

    first = threading.Thread(target=ask, args=(0,))
    first.start()
    assert embedder.started.wait(10)
    others = [threading.Thread(target=ask, args=(i,)) for i in range(1, len(questions))]
    for t in others:
        t.start()
    # every other caller is queued once the batcher holds their texts
    for _ in range(1000):
        with batcher._cond:
            if len(batcher._waiting) == len(others):
                break
        threading.Event().wait(0.01)
    embedder.release.set()
    for t in [first, *others]:
        t.join(10)
    return results


def test_waiting_questions_share_one_run_and_get_their_own_vectors() -> None:
    embedder = GatedEmbedder()
    batcher = QueryBatcher(embedder)
    questions = [["first question"], ["second one", "a word"], ["third"], ["fourth question here"]]
    results = _ask_in_threads(batcher, embedder, questions)
    assert len(embedder.batches) == 2 and sorted(embedder.batches[1]) == sorted(
        t for q in questions[1:] for t in q)
    for texts, vectors in zip(questions, results):
        np.testing.assert_allclose(vectors, HashingEmbedder().encode(texts), atol=1e-6)


def test_an_error_reaches_every_caller_of_its_batch_and_the_batcher_recovers() -> None:
    embedder = GatedEmbedder()
    embedder.fail_on = "bad"
    batcher = QueryBatcher(embedder)
    results = _ask_in_threads(batcher, embedder, [["fine"], ["bad"], ["also queued"]])
    assert isinstance(results[0], np.ndarray)
    assert all(isinstance(r, RuntimeError) for r in results[1:])
    embedder.fail_on = None
    assert batcher.encode_query(["again"]).shape == (1, 64)


def test_a_lone_question_is_encoded_at_once() -> None:
    embedder = HashingEmbedder()
    batcher = QueryBatcher(embedder)
    np.testing.assert_allclose(batcher.encode_query(["alone"]), embedder.encode_query(["alone"]))
    assert batcher.runs == 1
