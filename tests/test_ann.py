"""Approximate search (qa.index.ann) for large collections: an HNSW index written by the build,
loaded with its search depth, close to exact search."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from sourcefiles import write

from qa.answer.service import QAService
from qa.embedding.encoder import HashingEmbedder
from qa.index import ann
from qa.index.build import build_index
from qa.index.builds import current_build
from qa.index.store import StoredIndex, load_index


def _many_sentences(corpus: Path, documents: int = 30, sentences: int = 40) -> None:
    """Documents each on a topic of its own (sentences drawn from their own 12 words), so
    that vectors cluster as real ones do."""
    rng = np.random.default_rng(7)
    for d in range(documents):
        words = [f"term{d * 12 + i}" for i in range(12)]
        lines = [" ".join(rng.choice(words, size=6)).capitalize() + "." for _ in range(sentences)]
        write(corpus / f"doc{d:02}.txt", "\n\n".join(lines) + "\n")


def test_large_builds_get_an_hnsw_index_close_to_exact_search(tmp_path: Path) -> None:
    corpus, index_dir = tmp_path / "corpus", tmp_path / "index"
    _many_sentences(corpus)
    embedder = HashingEmbedder()
    build_index(corpus, index_dir, embedder, ann_threshold=500)
    index = load_index(index_dir, embedder.name)
    assert index.manifest.search["sentences"]["kind"] == "hnsw"
    assert index.sentence_index.index.hnsw.efSearch == ann.EF_SEARCH
    assert (current_build(index_dir) / "sentences.faiss").exists()
    vectors = index.sentence_vectors
    queries = vectors[:: max(1, len(vectors) // 50)]
    scores, _ = index.sentence_index.search(np.ascontiguousarray(queries), 10)
    tenth = np.sort(queries @ vectors.T, axis=1)[:, -10]
    recall = float(np.mean(scores >= tenth[:, None] - 1e-5))  # ties at the tenth place count as found
    assert recall >= 0.98, recall
    service = QAService(index_dir, embedder)
    service.load()
    assert service.ask("term3 term17 term250").excerpts


def _recall(index: StoredIndex, queries: np.ndarray) -> float:
    vectors = index.sentence_vectors
    scores, rows = index.sentence_index.search(np.ascontiguousarray(queries), 10)
    assert (rows >= 0).all() and (rows < len(vectors)).all()
    # every returned row's own vector gives the returned score: nodes map to the right rows
    assert np.allclose(np.einsum("qd,qkd->qk", queries, vectors[rows]), scores, atol=1e-4)
    tenth = np.sort(queries @ vectors.T, axis=1)[:, -10]
    return float(np.mean(scores >= tenth[:, None] - 1e-5))


def test_a_rebuild_grows_the_graph_and_hides_the_vectors_of_changed_documents(tmp_path: Path) -> None:
    corpus, index_dir = tmp_path / "corpus", tmp_path / "index"
    _many_sentences(corpus)
    embedder = HashingEmbedder()
    build_index(corpus, index_dir, embedder, ann_threshold=500)
    first = load_index(index_dir, embedder.name).manifest.search["sentences"]
    distinct = len(np.unique(load_index(index_dir, embedder.name).sentence_vectors, axis=0))
    assert first["nodes"] == distinct and first["tombstones"] == 0  # one node per distinct vector

    write(corpus / "doc03.txt", "Quite another text. It has three sentences. All of them new.\n")  # 40 -> 3
    write(corpus / "extra.txt", "One more document. With two sentences.\n")
    (corpus / "doc07.txt").unlink()
    build_index(corpus, index_dir, embedder, ann_threshold=500)
    index = load_index(index_dir, embedder.name)
    grown = index.manifest.search["sentences"]
    assert len(index.sentence_vectors) == 1200 - 40 - 40 + 3 + 2
    assert grown["nodes"] == first["nodes"] + 3 + 2  # the graph grew, nothing rebuilt
    assert 70 <= grown["tombstones"] <= 80  # the nodes of the 80 sentences gone (a few are shared)
    assert index.sentence_index.ntotal == len(index.sentence_vectors)
    vectors = index.sentence_vectors
    assert _recall(index, vectors[:: max(1, len(vectors) // 60)]) >= 0.98
    texts = [index.documents[int(d)].text[int(a):int(b)] for d, a, b in
             zip(index.sentences.doc, index.sentences.start, index.sentences.end)]
    _, rows = index.sentence_index.search(np.ascontiguousarray(vectors[-2:]), 1)
    assert [texts[int(r)] for r in rows[:, 0]] == ["One more document.", "With two sentences."]

    for d in range(10):  # a third of the collection changes: too many tombstones, so a new graph
        (corpus / f"doc{d + 10:02}.txt").unlink()
    build_index(corpus, index_dir, embedder, ann_threshold=500)
    index = load_index(index_dir, embedder.name)
    rebuilt = index.manifest.search["sentences"]
    assert rebuilt["tombstones"] == 0 and rebuilt["nodes"] == len(np.unique(index.sentence_vectors, axis=0))
    assert _recall(index, index.sentence_vectors[::10]) >= 0.98


def test_small_builds_search_exactly(tmp_path: Path) -> None:
    corpus, index_dir = tmp_path / "corpus", tmp_path / "index"
    _many_sentences(corpus, documents=2, sentences=5)
    build_index(corpus, index_dir, HashingEmbedder())
    index = load_index(index_dir, HashingEmbedder().name)
    assert index.manifest.search["sentences"] == {"kind": "exact"}
    assert not (current_build(index_dir) / "sentences.faiss").exists()


def test_repeated_sentences_share_a_graph_node_and_are_all_found(tmp_path: Path) -> None:
    corpus, index_dir = tmp_path / "corpus", tmp_path / "index"
    _many_sentences(corpus)
    for d in range(30):  # the same footer sentence in every document
        path = corpus / f"doc{d:02}.txt"
        path.write_text(path.read_text() + "\nBack to the contents page.\n")
    embedder = HashingEmbedder()
    build_index(corpus, index_dir, embedder, ann_threshold=500)
    index = load_index(index_dir, embedder.name)
    info = index.manifest.search["sentences"]
    assert len(index.sentence_vectors) == 1230 and info["nodes"] <= 1230 - 29
    texts = [index.documents[int(d)].text[int(a):int(b)] for d, a, b in
             zip(index.sentences.doc, index.sentences.start, index.sentences.end)]
    footer = np.ascontiguousarray(embedder.encode(["Back to the contents page."]))
    scores, rows = index.sentence_index.search(footer, 40)
    hits = [texts[int(r)] for r in rows[0] if r >= 0]
    assert hits[:30] == ["Back to the contents page."] * 30  # every copy, each its own row
    assert len(set(rows[0][:30].tolist())) == 30 and np.allclose(scores[0][:30], scores[0][0])
    assert _recall(index, index.sentence_vectors[::20]) >= 0.98
