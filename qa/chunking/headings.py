"""Heading detection: which lines of a document are section headings.

Recognised headings (one per line):

* Markdown: ``# Title`` … ``###### Title``;
* numbered: ``2.1 Historical Context…``, ``3-1. Cooperation…``, ``1. Introduction: …``
  (short, not ending in a full stop);
* a numbered heading glued to its first paragraph by PDF extraction, as in
  ``2. Trade Routes of the Early Modern Period In the sixteenth century merchants …``:
  the heading is the run of title-case words before the first sentence-opening word;
* the usual unnumbered headings of papers and reports: ``Abstract``, ``Introduction``,
  ``Conclusion``, ``References`` …
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_MARKDOWN = re.compile(r"^(#{1,6})\s+(?=\S)")
_NUMBERED = re.compile(r"^(\d{1,2}(?:[.\-]\d{1,2})*)[.\-]?\s+(?=[A-Z])")
_NUMBERED_GLUED = re.compile(r"^(\d{1,2}(?:\.\d{1,2})*)\.\s+(?=[A-Z])")
# The parts of a paper or report, recognised as headings by name alone.
PART_NAMES = frozenset({
    "abstract", "introduction", "background", "conclusion", "conclusions", "discussion",
    "summary", "references", "bibliography", "notes", "appendix", "methods", "methodology",
    "results", "acknowledgements", "acknowledgments", "literature review",
})
# Lower-case words allowed inside a title-case heading.
_MINOR = {
    "a", "an", "and", "as", "at", "by", "for", "from", "in", "into", "of", "on", "or",
    "the", "to", "with", "against", "over", "under", "between", "vs", "via", "its",
}
# Capitalised words that open a sentence rather than continue a heading.
_OPENERS = {"In", "The", "A", "An", "This", "These", "That", "Those", "It", "As", "We", "Our"}
MAX_HEADING_CHARS = 120


@dataclass(frozen=True)
class Heading:
    """A heading found at the start of a line: its length in the line, level and title."""

    length: int
    level: int
    title: str


def detect_heading(line: str) -> Heading | None:
    """Return the heading at the start of ``line`` (already stripped), or None.

    >>> detect_heading("2.1 Historical Context and Periods of Cooperation").level
    2
    >>> detect_heading("Egypt has exported cotton for centuries.") is None
    True
    """
    if not line or len(line) > 2000:
        return None
    md = _MARKDOWN.match(line)
    if md:
        return Heading(len(line), len(md.group(1)), _clean(line[md.end():].rstrip("# ")))
    bare = _clean(line).rstrip(":").strip()
    if bare.lower() in PART_NAMES:
        return Heading(len(line), 1, bare)
    num = _NUMBERED.match(line)
    if num is None:
        return None
    level = len(re.split(r"[.\-]", num.group(1)))
    if len(line) <= MAX_HEADING_CHARS and not line.endswith((".", ";", ",")):
        return Heading(len(line), level, _clean(line))
    glued = _NUMBERED_GLUED.match(line)
    if glued:
        length = _title_case_prefix(line, glued.end())
        if length:
            return Heading(length, level, _clean(line[:length]))
    return None


def _title_case_prefix(line: str, start: int) -> int:
    """Length of a title-case heading that runs from ``start`` into body text, or 0."""
    words = list(re.finditer(r"\S+", line[start:]))
    capitalised = 0
    for i, word in enumerate(words):
        token = word.group()
        if i > 0 and token in _OPENERS and capitalised >= 3:
            rest = words[i + 1 :]
            if rest and rest[0].group()[0].islower() or len(rest) > 3:
                return start + words[i - 1].end()
            return 0
        if token[0].isupper():
            capitalised += 1
        elif token.lower() not in _MINOR or token.endswith((".", ":", ",")):
            return 0
        if i > 16:
            return 0
    return 0


def _clean(text: str) -> str:
    return text.replace("**", "").replace("__", "").strip()
