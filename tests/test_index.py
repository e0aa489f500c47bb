"""The index on disk: FAISS against brute force, manifest, mismatches, damage, incremental builds."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from qa.chunking.passages import ChunkingParams
from qa.embedding.encoder import HashingEmbedder
from qa.errors import IndexCorruptError, IndexMismatchError, IndexMissingError
from qa.index.build import build_index
from qa.index.builds import CURRENT_FILE, current_build
from qa.index.manifest import FORMAT_VERSION
from qa.index.store import load_index


def test_faiss_search_matches_numpy_brute_force(index_dir: Path, embedder: HashingEmbedder) -> None:
    index = load_index(index_dir, embedder.name)
    for name in ("sentence", "passage"):
        faiss_index = getattr(index, f"{name}_index")
        vectors = getattr(index, f"{name}_vectors")
        assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
        queries = embedder.encode(["longest river in Africa", "Everest height", "flood of the Nile"])
        k = min(5, faiss_index.ntotal)
        scores, ids = faiss_index.search(queries, k)
        brute = queries @ vectors.T
        for row in range(len(queries)):
            expected = np.sort(brute[row])[::-1][:k]
            assert np.allclose(scores[row], expected, atol=1e-5)
            assert np.allclose(brute[row][ids[row]], scores[row], atol=1e-5)


def test_manifest_records_model_dimension_parameters_and_hashes(index_dir: Path, corpus_dir: Path) -> None:
    manifest = json.loads((current_build(index_dir) / "manifest.json").read_text())
    assert manifest["format"] == "qa-index" and manifest["format_version"] == FORMAT_VERSION
    assert manifest["model"] == "hashing-64" and manifest["dimension"] == 64
    assert manifest["chunking"] == ChunkingParams().as_dict()
    assert set(manifest["documents"]) == {"alpha.md", "beta.txt"}
    import hashlib

    assert manifest["documents"]["beta.txt"]["sha256"] == hashlib.sha256((corpus_dir / "beta.txt").read_bytes()).hexdigest()
    assert not any(p.suffix == ".pkl" for p in current_build(index_dir).iterdir())


def test_records_keep_metadata_and_text(index_dir: Path, embedder: HashingEmbedder, corpus_dir: Path) -> None:
    index = load_index(index_dir, embedder.name)
    beta = index.documents[index.doc_rows["beta.txt"]]
    assert beta.meta.title == "Mountains of the World" and beta.meta.authors == ("A. Climber",)
    assert beta.text == (corpus_dir / "beta.txt").read_text(encoding="utf-8")
    alpha = index.documents[index.doc_rows["alpha.md"]]
    assert alpha.meta.title == "Alpha Notes on Rivers"  # from the Markdown heading
    s = index.sentences
    for row in range(len(s)):
        doc = index.documents[int(s.doc[row])]
        quoted = doc.text[int(s.start[row]) : int(s.end[row])]
        assert quoted == quoted.strip() and quoted


def test_loading_with_another_model_says_how_to_rebuild(index_dir: Path) -> None:
    with pytest.raises(IndexMismatchError, match=r"built with model 'hashing-64'.*qa index --full"):
        load_index(index_dir, "all-MiniLM-L6-v2")


def test_missing_index_says_how_to_build(tmp_path: Path) -> None:
    with pytest.raises(IndexMissingError, match="run `qa index`"):
        load_index(tmp_path / "nothing", "hashing-64")


@pytest.mark.parametrize("name", ["sentences.npy", "arrays/terms.json", "arrays/sentence_terms.values.npy",
                                  "arrays/passages.first.npy", "arrays/sections.json"])
def test_damaged_index_is_reported_not_crashing(index_dir: Path, embedder: HashingEmbedder, name: str) -> None:
    build = current_build(index_dir)
    (build / name).write_bytes(b"not what was written")
    with pytest.raises(IndexCorruptError, match="damaged.*qa index --full"):
        load_index(index_dir, embedder.name)


def test_truncated_records_are_reported(index_dir: Path, embedder: HashingEmbedder) -> None:
    build = current_build(index_dir)
    for column in (build / "arrays").glob("sentences.*.npy"):  # a table cut short, vectors whole
        np.save(column, np.load(column)[:3])
    with pytest.raises(IndexCorruptError, match="inconsistent"):
        load_index(index_dir, embedder.name)


def test_current_pointing_nowhere_is_reported(index_dir: Path, embedder: HashingEmbedder) -> None:
    (index_dir / CURRENT_FILE).write_text("build-gone\n")
    with pytest.raises(IndexCorruptError, match="missing build"):
        load_index(index_dir, embedder.name)


class CountingEmbedder(HashingEmbedder):
    """Counts the texts it embeds."""

    def __init__(self) -> None:
        super().__init__()
        self.count = 0

    def encode(self, texts: list[str], progress: bool = False) -> np.ndarray:
        self.count += len(texts)
        return super().encode(texts, progress)


def test_unchanged_documents_reuse_their_vectors(corpus_dir: Path, tmp_path: Path) -> None:
    embedder = CountingEmbedder()
    first = build_index(corpus_dir, tmp_path / "ix", embedder)
    assert sorted(first.added) == ["alpha.md", "beta.txt"] and embedder.count > 0
    before = load_index(tmp_path / "ix", embedder.name)

    embedder.count = 0
    (corpus_dir / "gamma.txt").write_text("The Danube flows through ten countries. It ends in the Black Sea.\n")
    second = build_index(corpus_dir, tmp_path / "ix", embedder)
    assert second.added == ["gamma.txt"] and sorted(second.unchanged) == ["alpha.md", "beta.txt"]
    after = load_index(tmp_path / "ix", embedder.name)
    gamma = after.doc_rows["gamma.txt"]
    new_rows = int((after.sentences.doc == gamma).sum()) + int((after.passages.doc == gamma).sum())
    new_words = set(after.vocabulary) - set(before.vocabulary)
    assert new_words and "danube" in new_words
    assert embedder.count == new_rows + len(new_words)  # only the new document (and its new words) was embedded
    old_words = before.word_vectors
    for word in ("nile", "everest"):  # known words keep their vectors
        assert np.array_equal(after.word_vectors[after.vocabulary.index(word)],
                              old_words[before.vocabulary.index(word)])
    # the reused vectors are the very same vectors
    for doc_id in ("alpha.md", "beta.txt"):
        old = before.sentence_vectors[before.sentences.doc == before.doc_rows[doc_id]]
        new = after.sentence_vectors[after.sentences.doc == after.doc_rows[doc_id]]
        assert np.array_equal(old, new)

    (corpus_dir / "gamma.txt").unlink()
    third = build_index(corpus_dir, tmp_path / "ix", embedder)
    assert third.removed == ["gamma.txt"]
    assert "gamma.txt" not in load_index(tmp_path / "ix", embedder.name).doc_rows


def test_changed_chunking_forces_a_full_rebuild(corpus_dir: Path, tmp_path: Path) -> None:
    embedder = HashingEmbedder()
    build_index(corpus_dir, tmp_path / "ix", embedder)
    report = build_index(corpus_dir, tmp_path / "ix", embedder, params=ChunkingParams(max_sentences=2))
    assert report.full_reason == "chunking parameters changed"
    assert sorted(report.added) == ["alpha.md", "beta.txt"]


def test_an_index_of_an_emptied_corpus_loads_and_declines(corpus_dir: Path, tmp_path: Path) -> None:
    from qa.answer.service import QAService

    embedder = HashingEmbedder()
    build_index(corpus_dir, tmp_path / "ix", embedder)
    for path in corpus_dir.iterdir():
        if path.suffix in (".md", ".txt"):
            path.unlink()
    report = build_index(corpus_dir, tmp_path / "ix", embedder)
    assert report.documents == 0 and sorted(report.removed) == ["alpha.md", "beta.txt"]
    service = QAService(tmp_path / "ix", embedder)
    service.load()
    answer = service.ask("Which river is the longest?", 3)
    assert answer.no_answer and answer.excerpts == ()
