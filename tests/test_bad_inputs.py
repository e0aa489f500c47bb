"""Bad files are reported with their reason and skipped; everything else is indexed."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sourcefiles import HTML_PAGE, make_docx, make_pdf, make_scanned_pdf, write

from qa.answer.service import QAService
from qa.config import Settings
from qa.embedding.encoder import HashingEmbedder
from qa.http.app import create_app
from qa.index.build import build_index
from qa.index.builds import current_build
from qa.records import Skip, SkipCode
from qa.sources import scan as corpus


@pytest.fixture
def bad_corpus(corpus_dir: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The fixture corpus, three good files of new formats, and one of every kind of bad file."""
    monkeypatch.setattr(corpus, "MAX_SOURCE_BYTES", 200_000)
    write(corpus_dir / "rivers.pdf", make_pdf())
    write(corpus_dir / "lakes.docx", make_docx())
    write(corpus_dir / "glaciers.html", HTML_PAGE)
    write(corpus_dir / "empty.txt", b"")
    write(corpus_dir / "blank.md", b"\n\n   \n")
    write(corpus_dir / "junk.txt", bytes(range(256)) * 40)
    write(corpus_dir / "undecodable.txt", bytes((i * 7919) % 97 + 1 for i in range(3000)))
    write(corpus_dir / "secret.pdf", make_pdf(password="let-me-in"))
    write(corpus_dir / "corrupt.pdf", b"%PDF-1.7\n" + b"\x13\x37 not really a pdf " * 100)
    write(corpus_dir / "scan.pdf", make_scanned_pdf())
    write(corpus_dir / "huge.txt", "Big file. " * 30_000)
    write(corpus_dir / "copy_of_beta.txt", (corpus_dir / "beta.txt").read_bytes())
    write(corpus_dir / "broken.docx", b"PK\x03\x04 this zip ends here")
    return corpus_dir


EXPECTED = {  # file: (code, what the reason says)
    "empty.txt": (SkipCode.EMPTY, "empty"),
    "blank.md": (SkipCode.EMPTY, "empty"),
    "junk.txt": (SkipCode.UNREADABLE, "binary"),
    "undecodable.txt": (SkipCode.UNREADABLE, "binary|encoding"),
    "secret.pdf": (SkipCode.UNREADABLE, "encrypted"),
    "corrupt.pdf": (SkipCode.UNREADABLE, "damaged|no pages"),
    "scan.pdf": (SkipCode.NO_TEXT, "no text layer"),
    "huge.txt": (SkipCode.TOO_LARGE, "too large"),
    "copy_of_beta.txt": (SkipCode.DUPLICATE, "same content as beta.txt"),
    "broken.docx": (SkipCode.UNREADABLE, "DOCX"),
}


def test_every_bad_file_is_skipped_with_its_reason(bad_corpus: Path, tmp_path: Path) -> None:
    report = build_index(bad_corpus, tmp_path / "index", HashingEmbedder())
    assert set(report.skipped) == set(EXPECTED)
    for name, (code, pattern) in EXPECTED.items():
        skip = report.skipped[name]
        assert skip.code is code and re.search(pattern, skip.reason) and not skip.kept, (name, skip)
    assert sorted(report.added) == ["alpha.md", "beta.txt", "glaciers.html", "lakes.docx", "rivers.pdf"]
    service = QAService(tmp_path / "index", HashingEmbedder())
    service.load()
    assert service.skipped() == report.skipped


def test_bad_files_leave_the_old_index_serving(corpus_dir: Path, index_dir: Path) -> None:
    service = QAService(index_dir, HashingEmbedder())
    service.load()
    write(corpus_dir / "junk.txt", bytes(range(256)) * 4)
    write(corpus_dir / "empty.txt", b"")
    report = build_index(corpus_dir, index_dir, HashingEmbedder())
    assert sorted(report.unchanged) == ["alpha.md", "beta.txt"] and len(report.skipped) == 2
    service.reload_if_changed()
    assert [d.id for d in service.documents()] == ["alpha.md", "beta.txt"]
    assert service.ask("When was the Aswan High Dam completed?").excerpts


def test_a_document_that_turns_bad_keeps_its_indexed_version(corpus_dir: Path, index_dir: Path) -> None:
    (corpus_dir / "alpha.md").write_bytes(b"\x00\x01\x02 overwritten by a broken sync")
    report = build_index(corpus_dir, index_dir, HashingEmbedder())
    assert report.skipped["alpha.md"] == Skip(SkipCode.UNREADABLE, "the file is binary, not text", kept=True)
    assert report.skipped["alpha.md"].reason == "the file is binary, not text; kept the previously indexed version"
    assert report.removed == [] and report.changed == []
    service = QAService(index_dir, HashingEmbedder())
    service.load()
    assert "alpha.md" in [d.id for d in service.documents()]
    best = service.ask("When was the Aswan High Dam completed?", top_k=1).excerpts[0]
    assert best.source.document == "alpha.md"
    # Still unreadable next time: nothing to do; fixed: it is re-read.
    assert build_index(corpus_dir, index_dir, HashingEmbedder()).up_to_date
    (corpus_dir / "alpha.md").write_text("# Alpha\n\nThe Volga is the longest river in Europe.\n", encoding="utf-8")
    report = build_index(corpus_dir, index_dir, HashingEmbedder())
    assert report.changed == ["alpha.md"] and "alpha.md" not in report.skipped


def test_duplicates_keep_the_indexed_copy(corpus_dir: Path, index_dir: Path) -> None:
    write(corpus_dir / "a_copy.txt", (corpus_dir / "beta.txt").read_bytes())  # sorts before beta.txt
    report = build_index(corpus_dir, index_dir, HashingEmbedder())
    assert report.skipped == {"a_copy.txt": Skip(SkipCode.DUPLICATE, "same content as beta.txt")}
    assert report.unchanged == ["alpha.md", "beta.txt"] and not report.added


def test_skipped_files_over_http(bad_corpus: Path, tmp_path: Path) -> None:
    index = tmp_path / "index"
    build_index(bad_corpus, index, HashingEmbedder())
    service = QAService(index, HashingEmbedder())
    settings = Settings(corpus_dir=bad_corpus, index_dir=index)
    with TestClient(create_app(settings, service)) as client:
        health = client.get("/health").json()
        assert set(health["skipped"]) == set(EXPECTED)
        listed = client.get("/api/sources/skipped").json()
        assert [item["document"] for item in listed] == sorted(EXPECTED)
        assert [item["code"] for item in listed] == [EXPECTED[name][0].value for name in sorted(EXPECTED)]
        assert all(item["reason"] and item["kept"] is False for item in listed)
        assert health["skipped"]["scan.pdf"] == next(i["reason"] for i in listed if i["document"] == "scan.pdf")
        docs = client.get("/api/documents").json()
        assert {d["document"] for d in docs} == {"alpha.md", "beta.txt", "glaciers.html", "lakes.docx", "rivers.pdf"}
        assert next(d for d in docs if d["document"] == "rivers.pdf")["pages"] == 3


def test_failed_build_keeps_the_live_index(corpus_dir: Path, index_dir: Path) -> None:
    before = current_build(index_dir)
    (corpus_dir / "metadata.toml").write_text("this is [not toml", encoding="utf-8")
    with pytest.raises(Exception, match="invalid TOML"):
        build_index(corpus_dir, index_dir, HashingEmbedder())
    assert current_build(index_dir) == before
    assert sorted(p.name for p in index_dir.glob("build-*")) == [before.name]


def test_symlinks_leaving_the_corpus_are_skipped(corpus_dir: Path, tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    write(outside / "secret.txt", "A secret sentence outside the corpus.\n")
    (corpus_dir / "link.txt").symlink_to(outside / "secret.txt")
    (corpus_dir / "linked_dir").symlink_to(outside, target_is_directory=True)
    (corpus_dir / "inner.txt").symlink_to(corpus_dir / "beta.txt")
    sources, skipped = corpus.scan_corpus(corpus_dir)
    assert skipped.get("link.txt") == Skip(SkipCode.OUTSIDE_CORPUS, "links outside the corpus directory")
    assert "linked_dir/secret.txt" not in {s.id for s in sources}
    assert {"alpha.md", "beta.txt", "inner.txt"} <= {s.id for s in sources}


def test_a_reader_crash_is_a_skip_not_a_failed_build(corpus_dir: Path, index_dir: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    from qa.sources import readers
    def explode(data: bytes) -> object:
        raise ZeroDivisionError("library bug")

    monkeypatch.setitem(readers.READERS, ".pdf", explode)
    write(corpus_dir / "odd.pdf", b"%PDF-1.4 whatever")
    report = build_index(corpus_dir, index_dir, HashingEmbedder())
    assert report.skipped == {"odd.pdf": Skip(SkipCode.READER_FAILED,
                                              "the file could not be read (ZeroDivisionError: library bug)")}


def test_a_missing_dependency_fails_the_build_loudly(corpus_dir: Path, index_dir: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    from qa.sources import readers

    def missing(data: bytes) -> object:
        raise ImportError("lxml.html.clean module is now a separate project lxml_html_clean")

    before = current_build(index_dir)
    monkeypatch.setitem(readers.READERS, ".html", missing)
    write(corpus_dir / "page.html", HTML_PAGE)
    with pytest.raises(ImportError, match="lxml_html_clean"):
        build_index(corpus_dir, index_dir, HashingEmbedder())
    assert current_build(index_dir) == before
