"""Headings, blocks and sentences, on hand-made text and on the real corpus."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from qa.chunking.headings import detect_heading
from qa.chunking.passages import ChunkingParams, chunk_document, group_passages
from qa.records import Document, DocumentMeta, Sentence

CORPUS = Path(__file__).resolve().parent.parent / "corpus"
DOCS = sorted(p for p in CORPUS.iterdir() if p.suffix == ".txt")


def _doc(text: str, doc_id: str = "t.txt") -> Document:
    return Document(doc_id, text, DocumentMeta("T"), hashlib.sha256(text.encode()).hexdigest())


def _chunk(path: Path):
    return chunk_document(_doc(path.read_text(encoding="utf-8"), path.name), ChunkingParams())


@pytest.mark.parametrize(
    ("line", "level", "title"),
    [
        ("2.1 Historical Context and Periods of Cooperation", 2, "2.1 Historical Context and Periods of Cooperation"),
        ("3-1. Cooperation in military, defense, and security sectors", 2,
         "3-1. Cooperation in military, defense, and security sectors"),
        ("1. Introduction: Global Implications of Russian-Iranian Relations", 1,
         "1. Introduction: Global Implications of Russian-Iranian Relations"),
        ("Conclusion", 1, "Conclusion"),
        ("## Background", 2, "Background"),
        ("2. Strategies Commonly Used by the U.S. against Iran and Russia In the USA's strategies toward "
         "Iran and Russia, three interrelated concepts help assess the role.", 1,
         "2. Strategies Commonly Used by the U.S. against Iran and Russia"),
    ],
)
def test_headings_are_detected(line: str, level: int, title: str) -> None:
    heading = detect_heading(line)
    assert heading is not None
    assert (heading.level, heading.title) == (level, title)


@pytest.mark.parametrize(
    "line",
    [
        "Russia has provided military technologies, such as missile systems and radars, to Iran.",
        "1- Oil and Gas Industry: There is a strong partnership in oil and gas extraction, production, and exportation.",
        "14 agreements were signed across various economic and legal sectors.",
        "Afifeh Abedi",
    ],
)
def test_body_lines_are_not_headings(line: str) -> None:
    assert detect_heading(line) is None


def test_sentence_broken_by_a_page_break_is_joined() -> None:
    text = (
        "1. Section\n\nWhile this decision resulted in substantial financial losses for Russia, it failed\n\n"
        "to yield the expected reciprocal commitment. A second sentence follows.\n"
    )
    chunked = chunk_document(_doc(text), ChunkingParams())
    quoted = [text[s.start : s.end] for s in chunked.sentences]
    assert quoted[0].startswith("While this decision") and quoted[0].endswith("reciprocal commitment.")
    assert "\n\nto yield" in quoted[0]
    assert quoted[1] == "A second sentence follows."
    assert {s.section for s in chunked.sentences} == {"1. Section"}


def test_short_lines_and_finished_sentences_are_not_joined() -> None:
    text = "Jahangir Karami\n\nAssociate Professor, University of Tehran.\n\nIt ended.\n\nAnother paragraph starts."
    quoted = [text[s.start : s.end] for s in chunk_document(_doc(text), ChunkingParams()).sentences]
    assert quoted == [
        "Jahangir Karami",
        "Associate Professor, University of Tehran.",
        "It ended.",
        "Another paragraph starts.",
    ]


@pytest.mark.parametrize(
    "fragment",
    [
        "it failed\n\nto yield the expected reciprocal commitment",
        "The establishment of American\n\nmissile batteries in Eastern Europe",
        "leaders with an\n\ninternationalist and pessimistic view",
        "Russian presidents from 2000 until the Ukrainian crisis in 2014 significantly\n\nshaped the dynamics",
        "As a permanent member of the United Nations Security Council,\n\nRussia upheld",
        "lies in the fact that\n\nthe United States is tightening",
        "the American sanctions framework\n\nagainst Iran and Russia appears",
        "One of the most plausible scenarios concerning the\n\nrelationship between Iran and Russia",
    ],
)
def test_page_break_artifacts_in_the_journal_paper_stay_inside_one_sentence(fragment: str) -> None:
    path = CORPUS / "002_bfbcccb078368d48.txt"
    text = path.read_text(encoding="utf-8")
    at = text.index(fragment)
    sentences = _chunk(path).sentences
    holder = [s for s in sentences if s.start <= at and at + len(fragment) <= s.end]
    assert len(holder) == 1, f"{fragment!r} is cut between sentences"


@pytest.mark.parametrize("path", DOCS, ids=lambda p: p.name)
def test_every_record_of_the_real_corpus_is_verbatim(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    chunked = _chunk(path)
    assert chunked.sentences and chunked.passages
    previous_end = 0
    for s in chunked.sentences:
        quoted = text[s.start : s.end]
        assert quoted and quoted == quoted.strip(), s
        assert s.start >= previous_end, "sentences overlap or go backwards"
        previous_end = s.end
        assert s.document == path.name
    for p in chunked.passages:
        first, last = chunked.sentences[p.first], chunked.sentences[p.last]
        assert (p.start, p.end) == (first.start, last.end)
        assert {chunked.sentences[i].section for i in range(p.first, p.last + 1)} == {p.section}


def test_sections_of_the_blog_post() -> None:
    sections = {s.section for s in _chunk(CORPUS / "000_efb6ce931ab2f2e4.txt").sentences}
    assert "2.1 Historical Context and Periods of Cooperation" in sections
    assert "5. Conclusion: Implications for U.S. Policy and Global Stability" in sections


def test_glued_heading_is_split_from_its_paragraph() -> None:
    path = CORPUS / "002_bfbcccb078368d48.txt"
    text = path.read_text(encoding="utf-8")
    first = next(s for s in _chunk(path).sentences if s.section == "2. Strategies Commonly Used by the U.S. against Iran and Russia")
    assert text[first.start : first.end].startswith("In the USA's strategies toward Iran and Russia")


def test_passages_overlap_and_stay_inside_sections() -> None:
    sentences = [Sentence("d", i * 10, i * 10 + 9, section="A" if i < 6 else "B") for i in range(9)]
    passages = group_passages(sentences, ChunkingParams(max_sentences=3, overlap=1))
    assert [(p.first, p.last) for p in passages] == [(0, 2), (2, 4), (4, 5), (6, 8)]


def test_chunking_params_are_validated_with_numbers() -> None:
    with pytest.raises(ValueError, match="overlap 4 must be .* smaller than max_sentences 4"):
        ChunkingParams(max_sentences=4, overlap=4)
