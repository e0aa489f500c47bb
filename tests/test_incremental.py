"""Incremental `qa index`: only new and changed documents are read and embedded."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from sourcefiles import make_pdf, write

from qa import cli
from qa.answer.service import QAService
from qa.chunking.passages import ChunkingParams
from qa.embedding.encoder import HashingEmbedder
from qa.index.build import build_index
from qa.index.builds import current_build
from qa.index.store import StoredIndex, load_index

NEW_DOC = "The Danube flows through ten countries before it reaches the Black Sea.\n"


class CountingEmbedder(HashingEmbedder):
    """The fake embedder, remembering every text it embedded."""

    def __init__(self, dimension: int = 64) -> None:
        super().__init__(dimension)
        self.texts: list[str] = []

    def encode(self, texts: list[str], progress: bool = False) -> np.ndarray:
        self.texts += texts
        return super().encode(texts, progress)


def _service(index_dir: Path, embedder: HashingEmbedder) -> QAService:
    service = QAService(index_dir, embedder)
    service.load()
    return service


def test_first_build_adds_everything(corpus_dir: Path, tmp_path: Path) -> None:
    report = build_index(corpus_dir, tmp_path / "index", HashingEmbedder())
    assert sorted(report.added) == ["alpha.md", "beta.txt"]
    assert report.documents == 2 and report.sentences > 0 and not report.skipped
    assert "2 added, 0 changed, 0 removed, 0 unchanged, 0 skipped" in report.summary()


def test_unchanged_corpus_writes_no_build(corpus_dir: Path, index_dir: Path) -> None:
    before = current_build(index_dir)
    embedder = CountingEmbedder()
    report = build_index(corpus_dir, index_dir, embedder)
    assert report.up_to_date and report.summary().startswith("index is up to date")
    assert current_build(index_dir) == before
    assert embedder.texts == []


def test_only_new_and_changed_documents_are_embedded(corpus_dir: Path, index_dir: Path) -> None:
    old = load_index(index_dir, HashingEmbedder().name)
    alpha_rows = old.sentences.doc == old.doc_rows["alpha.md"]
    alpha_vectors = old.sentence_vectors[alpha_rows].copy()

    write(corpus_dir / "danube.txt", NEW_DOC)
    (corpus_dir / "beta.txt").write_text("Mount Everest is the highest mountain on Earth.\n", encoding="utf-8")
    embedder = CountingEmbedder()
    report = build_index(corpus_dir, index_dir, embedder)

    assert report.added == ["danube.txt"] and report.changed == ["beta.txt"]
    assert report.unchanged == ["alpha.md"] and report.removed == []
    assert all("Nile" not in t and "Amazon" not in t for t in embedder.texts)  # alpha.md reused
    assert any("Danube" in t for t in embedder.texts) and any("Everest" in t for t in embedder.texts)

    new = load_index(index_dir, embedder.name)
    rows = new.sentences.doc == new.doc_rows["alpha.md"]
    np.testing.assert_array_equal(new.sentence_vectors[rows], alpha_vectors)
    service = _service(index_dir, embedder)
    answer = service.ask("Which sea does the Danube reach?", top_k=1)
    assert answer.excerpts[0].source.document == "danube.txt"


def test_reused_records_match_a_fresh_build(corpus_dir: Path, index_dir: Path, tmp_path: Path) -> None:
    write(corpus_dir / "a_first.txt", NEW_DOC)  # sorts first: every reused row shifts
    build_index(corpus_dir, index_dir, HashingEmbedder())
    fresh_dir = tmp_path / "fresh"
    build_index(corpus_dir, fresh_dir, HashingEmbedder())
    inc, fresh = load_index(index_dir, "hashing-64"), load_index(fresh_dir, "hashing-64")
    assert [d.id for d in inc.documents] == [d.id for d in fresh.documents]
    for column in ("doc", "start", "end", "first", "last"):
        np.testing.assert_array_equal(getattr(inc.passages, column), getattr(fresh.passages, column))
    np.testing.assert_array_equal(inc.sentences.start, fresh.sentences.start)
    assert inc.sentences.section.tolist() == fresh.sentences.section.tolist()
    np.testing.assert_allclose(inc.passage_vectors, fresh.passage_vectors)
    _assert_same_derived(inc, fresh)


def _assert_same_derived(inc: StoredIndex, fresh: StoredIndex) -> None:
    """What retrieval derives, sliced and renumbered from the previous build, equals what a
    fresh build computes (compared as strings: the id numbering may differ)."""
    a, b = inc.derived, fresh.derived
    for name, table, vocab_a, vocab_b in (("sentence_terms", "terms", a.terms, b.terms),
                                          ("passage_terms", "terms", a.terms, b.terms),
                                          ("sentence_words", "words", inc.vocabulary, fresh.vocabulary)):
        ra, rb = getattr(a, name), getattr(b, name)
        assert len(ra) == len(rb), name
        for row in range(len(ra)):
            got = sorted(vocab_a[i] for i in ra.values[ra.ptr[row]:ra.ptr[row + 1]])
            want = sorted(vocab_b[i] for i in rb.values[rb.ptr[row]:rb.ptr[row + 1]])
            assert got == want, (name, table, row)
    for row in range(len(inc.sentences)):
        ca, cb = a.contexts, b.contexts
        i, j = a.sentence_context[row], b.sentence_context[row]
        assert sorted(a.terms[t] for t in ca.values[ca.ptr[i]:ca.ptr[i + 1]]) == \
            sorted(b.terms[t] for t in cb.values[cb.ptr[j]:cb.ptr[j + 1]])
    for name in ("leans_back", "word_counts", "holders"):
        np.testing.assert_array_equal(getattr(a, name), getattr(b, name))
    assert dict(zip(a.terms, a.passage_df)) == {t: df for t, df in zip(b.terms, b.passage_df)} | {
        t: 0 for t in set(a.terms) - set(b.terms)}
    for name in ("passage_bm25", "sentence_bm25"):
        query = [t for t in ("nile", "river", "dam", "flood") if t in a.terms and t in b.terms]
        got = getattr(a, name).scorer().get_scores_from_ids([a.terms.index(t) for t in query])
        want = getattr(b, name).scorer().get_scores_from_ids([b.terms.index(t) for t in query])
        np.testing.assert_allclose(got, want, rtol=1e-5)


def test_deleted_documents_disappear_from_answers(corpus_dir: Path, index_dir: Path) -> None:
    (corpus_dir / "alpha.md").unlink()
    report = build_index(corpus_dir, index_dir, HashingEmbedder())
    assert report.removed == ["alpha.md"]
    service = _service(index_dir, HashingEmbedder())
    answer = service.ask("When was the Aswan High Dam completed?", top_k=5)
    assert all(e.source.document != "alpha.md" for e in answer.excerpts)
    assert [d.id for d in service.documents()] == ["beta.txt"]


def test_metadata_edit_updates_titles_without_embedding(corpus_dir: Path, index_dir: Path) -> None:
    meta = corpus_dir / "metadata.toml"
    meta.write_text(meta.read_text(encoding="utf-8") + '\n["alpha.md"]\ntitle = "Rivers, Revised"\n'
                    'authors = ["R. Water"]\n', encoding="utf-8")
    embedder = CountingEmbedder()
    report = build_index(corpus_dir, index_dir, embedder)
    assert report.retitled == ["alpha.md"] and not report.up_to_date
    assert embedder.texts == []
    doc = _service(index_dir, embedder).document("alpha.md")
    assert doc.meta.title == "Rivers, Revised" and doc.meta.authors == ("R. Water",)

    # Removing the entry brings back the file's own title, still without embedding.
    meta.write_text(meta.read_text(encoding="utf-8").split('["alpha.md"]')[0], encoding="utf-8")
    report = build_index(corpus_dir, index_dir, embedder)
    assert report.retitled == ["alpha.md"] and embedder.texts == []
    assert _service(index_dir, embedder).document("alpha.md").meta.title == "Alpha Notes on Rivers"


@pytest.mark.parametrize(
    ("kwargs", "reason"),
    [
        ({"params": ChunkingParams(max_sentences=3)}, "chunking parameters changed"),
        ({"embedder": HashingEmbedder(32)}, "model"),
        ({"full": True}, "--full"),
    ],
)
def test_full_rebuild_when_model_or_chunking_changes(corpus_dir: Path, index_dir: Path, kwargs: dict,
                                                     reason: str) -> None:
    embedder = kwargs.pop("embedder", CountingEmbedder())
    report = build_index(corpus_dir, index_dir, embedder, **kwargs)
    assert report.full_reason is not None and reason in report.full_reason
    assert sorted(report.added) == ["alpha.md", "beta.txt"] and not report.unchanged
    assert load_index(index_dir, embedder.name).manifest.model == embedder.name


def test_pdf_answer_cites_its_page(corpus_dir: Path, index_dir: Path) -> None:
    write(corpus_dir / "rivers.pdf", make_pdf())
    build_index(corpus_dir, index_dir, HashingEmbedder())
    service = _service(index_dir, HashingEmbedder())
    best = service.ask("When was the Aswan High Dam completed and what lake did it create?", top_k=1).excerpts[0]
    assert best.source.document == "rivers.pdf"
    assert best.source.page == 2 and best.source.section == "2. The Aswan High Dam"
    doc = service.document("rivers.pdf")
    assert doc.text[best.source.start:best.source.end] == best.text
    amazon = service.ask("How large is the basin of the Amazon in South America?", top_k=3).excerpts
    assert any(e.source.document == "rivers.pdf" and e.source.page == 3 for e in amazon)


def test_cli_index_summary(corpus_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                           capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setattr(cli, "_embedder", lambda settings: HashingEmbedder())
    args = ["index", "--corpus", str(corpus_dir), "--index", str(tmp_path / "index")]
    assert cli.main(args) == 0
    out = capsys.readouterr().out
    assert "2 added, 0 changed, 0 removed, 0 unchanged, 0 skipped in" in out
    assert "added: alpha.md, beta.txt" in out

    write(corpus_dir / "empty.txt", "")
    assert cli.main(args) == 0
    assert "skipped empty.txt: the file is empty" in capsys.readouterr().out
    assert cli.main([*args, "--strict"]) == 1
    captured = capsys.readouterr()
    assert "index is up to date" in captured.out and "1 file(s) skipped (--strict)" in captured.err


def test_manifest_records_hashes_and_skipped(corpus_dir: Path, index_dir: Path) -> None:
    write(corpus_dir / "junk.txt", bytes(range(256)) * 4)
    build_index(corpus_dir, index_dir, HashingEmbedder())
    manifest = json.loads((current_build(index_dir) / "manifest.json").read_text(encoding="utf-8"))
    assert set(manifest["documents"]) == {"alpha.md", "beta.txt"}
    assert len(manifest["documents"]["alpha.md"]["sha256"]) == 64
    assert manifest["skipped"] == {"junk.txt": {"code": "unreadable", "message": "the file is binary, not text"}}
