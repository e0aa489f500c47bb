"""Lines → blocks → sentences, every piece a ``(start, end)`` span of the original text.

Sentence boundaries come from Bling Fire (``blingfire``): its sentence model ships inside
the wheel (nothing is downloaded at run time, unlike NLTK's punkt), it returns character
offsets directly, handles abbreviations such as "U.S." and "p. 34", and segments ~5 MB/s,
so it never dominates indexing (pysbd took 20× longer on the same journal paper).

Before segmenting, lines are grouped into blocks (paragraphs). PDF extraction leaves page
breaks in the middle of sentences ("…it failed" / blank line / "to yield the expected…");
a line that does not end a sentence is joined with the next one when that one continues
it, so no sentence is cut at a page break. Headings are never joined.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import blingfire

from qa.chunking.headings import Heading, detect_heading

ENDS_SENTENCE = re.compile(r"[.!?:;…][\"'”’)\]*]*$")  # a sentence-ending mark, then closing quotes or brackets
_LIST_ITEM = re.compile(r"^(?:[-*•▪◦]|\d{1,2}[.)-])\s")
_CONTINUES = re.compile(r"^(?:[-*•]\s+)?[a-z(]")
_JOINING_END = re.compile(r"(?:[,\-–—(]|\b[a-z][\w'’-]*)$")
_BULLET = re.compile(r"^[-*•▪◦]\s+")
MIN_JOIN_LINE = 40


@dataclass(frozen=True)
class Line:
    """A non-blank line, trimmed; ``heading`` is set when it starts with a heading."""

    start: int
    end: int
    heading: Heading | None


@dataclass(frozen=True)
class Block:
    """A paragraph: one or more lines that belong together."""

    start: int
    end: int


def split_lines(text: str) -> list[Line]:
    """Non-blank lines of ``text`` with surrounding whitespace trimmed."""
    lines = []
    for match in re.finditer(r"[^\r\n]+", text):
        raw = match.group()
        stripped = raw.strip()
        if not stripped:
            continue
        start = match.start() + (len(raw) - len(raw.lstrip()))
        lines.append(Line(start, start + len(stripped), detect_heading(stripped)))
    return lines


def _joins(text: str, prev: Line, line: Line) -> bool:
    """Whether ``line`` continues the sentence that ``prev`` left open."""
    if prev.heading or line.heading:
        return False
    before = text[prev.start : prev.end]
    after = text[line.start : line.end]
    if ENDS_SENTENCE.search(before):
        return False
    if len(before) < MIN_JOIN_LINE:  # a short line: a name, a date, a label
        return False
    if text.count("\n", prev.end, line.start) < 2:  # a hard-wrapped paragraph
        return not _LIST_ITEM.match(after)
    # A page or column break inside a sentence.
    return bool(
        _CONTINUES.match(after) or _JOINING_END.search(before)
    )


def split_blocks(text: str, lines: list[Line]) -> list[Block]:
    """Group body lines into paragraphs, joining sentences broken across lines or pages.

    Heading text is left out; a heading glued to its paragraph leaves the rest of the line.
    """
    blocks: list[Block] = []
    prev: Line | None = None
    for line in lines:
        start = line.start
        if line.heading:
            start = line.start + line.heading.length
            rest = text[start : line.end]
            start += len(rest) - len(rest.lstrip())
            prev = line
            if start >= line.end:
                continue
            blocks.append(Block(start, line.end))
            prev = Line(start, line.end, None)
            continue
        if blocks and prev is not None and _joins(text, prev, line):
            blocks[-1] = Block(blocks[-1].start, line.end)
        else:
            blocks.append(Block(start, line.end))
        prev = line
    return blocks


def split_sentences(text: str, block: Block) -> list[tuple[int, int]]:
    """Sentence spans inside one block, trimmed of whitespace and list bullets."""
    # Line breaks become spaces of the same length, so offsets map one to one.
    flat = re.sub(r"\s", " ", text[block.start : block.end])
    _, offsets = blingfire.text_to_sentences_and_offsets(flat)
    spans = []
    for start, end in offsets:
        piece = flat[start:end]
        bullet = _BULLET.match(piece)
        lead = bullet.end() if bullet else len(piece) - len(piece.lstrip())
        trail = len(piece) - len(piece.rstrip())
        if end - trail > start + lead:
            spans.append((block.start + start + lead, block.start + end - trail))
    return spans
