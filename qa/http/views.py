"""What the HTML pages show, computed from records: excerpt cards, viewer segments, suggestions.

Pure functions, no web framework. Text is never turned into markup here: highlighting is a
list of plain-text segments that the templates escape one by one, so a document's ``<script>``
stays text. ``qa/http/static/chat.js`` builds the same cards in the browser; keep the two in step.
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass
from urllib.parse import quote, urlencode, urlsplit

from qa.chunking.headings import PART_NAMES
from qa.records import Answer, Citation, Document, Excerpt

HIGH_CONFIDENCE = 0.75
MEDIUM_CONFIDENCE = 0.4
MAX_SUGGESTIONS = 4
MAX_SUGGESTION_CHARS = 70
# Headings that name a part of a document rather than a topic; they make poor suggestions.
_STRUCTURAL = PART_NAMES | {"contents", "table of contents", "preface", "foreword", "index", "keywords", "overview"}
_NUMBERING = re.compile(r"^\s*(?:\d{1,3}(?:[.\-]\d{1,3})*[.\-)]?|[IVXLC]{1,6}\.|[A-Z]\.)\s+")


@dataclass(frozen=True)
class Card:
    """One excerpt as the chat page shows it: quote split around the answering span."""

    before: str
    mark: str
    after: str
    score: float
    confidence: str  # "high", "medium" or "low": a CSS class and the cue's wording
    title: str
    section: str | None
    page: int | None
    document: str
    start: int
    end: int
    href: str


@dataclass(frozen=True)
class Turn:
    """A question and its reply: answer cards, or the nearest passages when ``no_answer``."""

    question: str
    no_answer: bool
    cards: tuple[Card, ...]
    took_ms: float
    interpreted_as: str | None = None  # a follow-up as read with the earlier questions' words

    @property
    def shown(self) -> tuple[Card, ...]:
        """The cards shown open: the best answer and the other likely ones (none for no answer)."""
        if self.no_answer:
            return ()
        return self.cards[:1] + tuple(c for c in self.cards[1:] if c.confidence != "low")

    @property
    def folded(self) -> tuple[Card, ...]:
        """The cards shown folded: the nearest passages, or the weaker ones after the answers."""
        return self.cards if self.no_answer else tuple(c for c in self.cards[1:] if c.confidence == "low")


@dataclass(frozen=True)
class Piece:
    """A run of document text in the viewer; ``anchor`` is a section id starting here."""

    text: str
    anchor: str | None = None
    answer: bool = False


@dataclass(frozen=True)
class Suggestion:
    """An example question: ``label`` for the chip, ``question`` for the question box."""

    label: str
    question: str

    @property
    def href(self) -> str:
        """The chat page answering this question (for browsers without JavaScript)."""
        return "/?" + urlencode({"q": self.question})


def confidence(score: float) -> str:
    """The confidence cue of a calibrated score.

    >>> confidence(0.9), confidence(0.5), confidence(0.2)
    ('high', 'medium', 'low')
    """
    if score >= HIGH_CONFIDENCE:
        return "high"
    return "medium" if score >= MEDIUM_CONFIDENCE else "low"


def document_href(document: str) -> str:
    """The source viewer's URL of a document id (ids may contain ``/`` and spaces).

    >>> document_href("notes/a b.txt")
    '/documents/notes/a%20b.txt'
    """
    return f"/documents/{quote(document, safe='/')}"


def external_url(url: str | None) -> str | None:
    """``url`` if it is a plain http(s) link, else None (no ``javascript:`` links from metadata).

    >>> external_url("https://example.org/a"), external_url("javascript:alert(1)")
    ('https://example.org/a', None)
    """
    if url is None:
        return None
    parts = urlsplit(url.strip())
    return url.strip() if parts.scheme.lower() in ("http", "https") and parts.netloc else None


def viewer_href(source: Citation, highlight: tuple[int, int] | None = None) -> str:
    """The source viewer's URL for a cited range, scrolled to it (``highlight`` is inside the quote).

    >>> viewer_href(Citation("notes/a b.txt", "A", None, None, 10, 40), (5, 9))
    '/documents/notes/a%20b.txt?start=10&end=40&hs=15&he=19#cited'
    """
    params = {"start": source.start, "end": source.end}
    if highlight is not None:
        params |= {"hs": source.start + highlight[0], "he": source.start + highlight[1]}
    return f"{document_href(source.document)}?{urlencode(params)}#cited"


def card(excerpt: Excerpt) -> Card:
    """The card of one excerpt."""
    a, b = excerpt.highlight
    src = excerpt.source
    return Card(
        before=excerpt.text[:a], mark=excerpt.text[a:b], after=excerpt.text[b:],
        score=excerpt.score, confidence=confidence(excerpt.score),
        title=src.title, section=src.section, page=src.page,
        document=src.document, start=src.start, end=src.end,
        href=viewer_href(src, excerpt.highlight),
    )


def turn(answer: Answer) -> Turn:
    """The chat turn of an answer."""
    return Turn(answer.question, answer.no_answer, tuple(card(e) for e in answer.excerpts), answer.took_ms,
                answer.interpreted_as)


def cited_range(length: int, start: str | None, end: str | None) -> tuple[int, int] | None:
    """``(start, end)`` from query strings if they make a non-empty range within ``length``.

    >>> cited_range(100, "10", "20"), cited_range(100, "20", "10"), cited_range(100, "x", "5")
    ((10, 20), None, None)
    """
    try:
        a, b = int(start or ""), int(end or "")
    except ValueError:
        return None
    return (a, b) if 0 <= a < b <= length else None


def viewer_pieces(
    text: str, sections: list[tuple[str, int]], cited: tuple[int, int] | None,
    answer: tuple[int, int] | None = None,
) -> tuple[list[Piece], list[Piece], list[Piece]]:
    """The document text before, inside and after the cited range, cut at section starts.

    The template wraps the middle list in one ``<mark>``; ``answer`` (clamped to the cited
    range) marks the answering span inside it. Each section starts with its ``anchor``.

    >>> before, inside, after = viewer_pieces("Title. Body text here.", [("Title", 0)], (7, 11))
    >>> [p.text for p in before], [p.text for p in inside], [p.text for p in after]
    (['Title. '], ['Body'], [' text here.'])
    """
    a, b = cited if cited is not None else (len(text), len(text))
    ha, hb = (max(answer[0], a), min(answer[1], b)) if answer else (a, a)
    anchors = {start: anchor(start) for _, start in sections}
    cuts = sorted({0, len(text), a, b, ha, hb, *(s for s in anchors if 0 <= s < len(text))})
    parts: tuple[list[Piece], list[Piece], list[Piece]] = ([], [], [])
    for lo, hi in itertools.pairwise(cuts):
        piece = Piece(text[lo:hi], anchors.get(lo), ha <= lo and hi <= hb and ha < hb)
        parts[0 if lo < a else 1 if lo < b else 2].append(piece)
    return parts


def anchor(offset: int) -> str:
    """The element id of the section that starts at ``offset`` in the viewer."""
    return f"at-{offset}"


def section_at(sections: list[tuple[str, int]], offset: int) -> int | None:
    """Index of the section that contains ``offset``.

    >>> section_at([("A", 0), ("B", 50)], 60), section_at([("A", 10)], 5)
    (1, None)
    """
    found = None
    for i, (_, start) in enumerate(sections):
        if start <= offset:
            found = i
    return found


def topic(heading: str) -> str | None:
    """The topic a heading names, without numbering; None for structural headings.

    >>> topic("2.1 Historical Context and Periods of Cooperation")
    'Historical Context and Periods of Cooperation'
    >>> topic("1. Introduction: Global Implications of Trade"), topic("References"), topic("2.1")
    ('Global Implications of Trade', None, None)
    """
    text = _NUMBERING.sub("", " ".join(heading.split())).strip(" :.-")
    head, colon, rest = text.partition(":")
    if colon and head.strip().lower() in _STRUCTURAL:
        text = rest.strip()
    if text.lower() in _STRUCTURAL or not re.search(r"[^\W\d_]{3}", text) or len(text) > MAX_SUGGESTION_CHARS:
        return None
    return text


def suggestions(
    outlines: list[tuple[Document, list[tuple[str, int]]]], limit: int = MAX_SUGGESTIONS
) -> list[Suggestion]:
    """Example questions from the corpus: section topics, taken in turn from each document.

    Documents without usable headings contribute nothing unless no document has any; then
    their titles are used.
    """
    per_doc = [[t for t in (topic(title) for title, _ in outline) if t] for _, outline in outlines]
    if not any(per_doc):
        per_doc = [[doc.meta.title] for doc, _ in outlines if len(doc.meta.title) <= MAX_SUGGESTION_CHARS]
    chosen: list[str] = []
    seen: set[str] = set()
    for rank in range(max(map(len, per_doc), default=0)):
        for topics in per_doc:
            if rank < len(topics) and topics[rank].lower() not in seen and len(chosen) < limit:
                seen.add(topics[rank].lower())
                chosen.append(topics[rank])
    return [Suggestion(t, f"What do the sources say about “{t}”?") for t in chosen]
