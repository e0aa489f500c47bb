"""Scanned PDFs are read with Tesseract page by page: the recognised text is the document
text, citations keep their page, and the documents page says the text came from OCR.
Without Tesseract such a PDF is skipped, saying how to read it."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sourcefiles import make_image_pdf, write

from qa.answer.service import QAService
from qa.config import Settings
from qa.embedding.encoder import HashingEmbedder
from qa.http.app import create_app
from qa.index.build import build_index
from qa.records import SkipCode
from qa.sources.readers import ocr

PAGES = [["Glaciers of the Alps", "The glaciers have lost half of their ice since 1900."],
         ["Measuring the ice", "Scientists drill stakes into the glacier every spring."]]

needs_tesseract = pytest.mark.skipif(shutil.which("tesseract") is None,
                                     reason="Tesseract is not installed (the test command installs tesseract-ocr)")


@needs_tesseract
def test_a_scanned_pdf_is_read_page_by_page(corpus_dir: Path, tmp_path: Path) -> None:
    write(corpus_dir / "scan.pdf", make_image_pdf(PAGES))
    index = tmp_path / "index"
    report = build_index(corpus_dir, index, HashingEmbedder())
    assert "scan.pdf" in report.added and "scan.pdf" not in report.skipped
    service = QAService(index, HashingEmbedder())
    service.load()
    doc = service.document("scan.pdf")
    assert "lost half of their ice since 1900" in doc.text and "drill stakes" in doc.text
    assert len(doc.page_starts) == 2 and doc.text.index("drill stakes") > doc.page_starts[1]
    assert service.ocr_pages("scan.pdf") == (1, 2)
    answer = service.ask("Who drills stakes into the glacier every spring?", 3, documents=["scan.pdf"])
    top = answer.excerpts[0]
    assert "drill stakes" in top.text and top.source.page == 2
    assert doc.text[top.source.start:top.source.end] == top.text
    with TestClient(create_app(Settings(corpus_dir=corpus_dir, index_dir=index), service)) as client:
        listed = {d["document"]: d for d in client.get("/api/documents").json()}
        assert listed["scan.pdf"]["ocr_pages"] == [1, 2] and listed["beta.txt"]["ocr_pages"] == []
        page = client.get("/documents").text
        assert "text recognised from the scanned image of pages 1, 2 (Tesseract)" in page


@needs_tesseract
def test_a_scan_without_words_is_still_skipped(corpus_dir: Path, tmp_path: Path) -> None:
    write(corpus_dir / "blank.pdf", make_image_pdf([[], []]))
    report = build_index(corpus_dir, tmp_path / "index", HashingEmbedder())
    skip = report.skipped["blank.pdf"]
    assert skip.code is SkipCode.NO_TEXT and "Tesseract found no text" in skip.reason


def test_without_tesseract_a_scan_is_skipped_saying_how_to_read_it(corpus_dir: Path, tmp_path: Path,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ocr.shutil, "which", lambda name: None)
    write(corpus_dir / "scan.pdf", make_image_pdf(PAGES))
    report = build_index(corpus_dir, tmp_path / "index", HashingEmbedder())
    skip = report.skipped["scan.pdf"]
    assert skip.code is SkipCode.NO_TEXT and "no text layer" in skip.reason
    assert "apt-get install tesseract-ocr" in skip.reason
