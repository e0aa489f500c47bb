"""Answers from each format carry the right citation: document, section and (for PDF) page."""

from __future__ import annotations

from pathlib import Path

import pytest
from sourcefiles import HTML_PAGE, make_docx, make_pdf, write

from qa.answer.service import QAService
from qa.embedding.encoder import HashingEmbedder
from qa.index.build import build_index

CASES = [
    # question, document, section, page
    ("When was the Aswan High Dam completed?", "rivers.pdf", "2. The Aswan High Dam", 2),
    ("Does the Amazon river have bridges along its main course?", "rivers.pdf", "3. The Amazon", 3),
    ("What did farmers of the Nile valley measure with nilometers?", "rivers.pdf", "1. Introduction", 1),
    ("Why do soot and dust make the glaciers melt faster?", "glaciers.html", "Causes of the retreat", None),
    ("How do scientists measure the mass balance of a glacier?", "glaciers.html", "Measuring the ice", None),
    ("Which lake in Siberia is the deepest in the world?", "lakes.docx", "Lake Baikal", None),
    ("Which river flows into Lake Geneva?", "lakes.docx", "Lake Geneva", None),
]


def mixed_corpus(root: Path) -> Path:
    corpus = root / "mixed"
    write(corpus / "rivers.pdf", make_pdf())
    write(corpus / "glaciers.html", HTML_PAGE)
    write(corpus / "lakes.docx", make_docx())
    return corpus


def check(service: QAService, question: str, document: str, section: str, page: int | None) -> None:
    best = service.ask(question, top_k=1).excerpts[0]
    assert (best.source.document, best.source.section, best.source.page) == (document, section, page), best
    assert service.document(document).text[best.source.start:best.source.end] == best.text


@pytest.mark.parametrize(("question", "document", "section", "page"), CASES)
def test_citation_per_format(tmp_path: Path, question: str, document: str, section: str, page: int | None) -> None:
    embedder = HashingEmbedder()
    build_index(mixed_corpus(tmp_path), tmp_path / "index", embedder)
    service = QAService(tmp_path / "index", embedder)
    service.load()
    check(service, question, document, section, page)


@pytest.mark.model
def test_citations_with_the_real_model(tmp_path: Path, real_embedder) -> None:  # type: ignore[no-untyped-def]
    build_index(mixed_corpus(tmp_path), tmp_path / "index", real_embedder)
    service = QAService(tmp_path / "index", real_embedder)
    service.load()
    for case in CASES:
        check(service, *case)
    titles = {d.id: d.meta.title for d in service.documents()}
    assert titles == {"glaciers.html": "Glaciers in Retreat", "lakes.docx": "Lakes of Europe",
                      "rivers.pdf": "Great Rivers and Their Dams"}
