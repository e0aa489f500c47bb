"""Documents → sentences and passages, each carrying document, section, page and offsets.

Provenance is recorded here, once: everything later quotes ``document.text[start:end]``.
"""

from __future__ import annotations

import bisect
from dataclasses import asdict, dataclass

from qa.records import Chunked, Document, Passage, Sentence
from qa.segmentation import split_blocks, split_lines, split_sentences


@dataclass(frozen=True)
class ChunkingParams:
    """How sentences are grouped into passages.

    A passage holds up to ``max_sentences`` sentences and about ``max_chars`` characters of
    one section; consecutive passages share ``overlap`` sentences.
    """

    max_sentences: int = 4
    max_chars: int = 700
    overlap: int = 1

    def __post_init__(self) -> None:
        if self.max_sentences < 1:
            raise ValueError(f"max_sentences {self.max_sentences} must be at least 1")
        if not 0 <= self.overlap < self.max_sentences:
            raise ValueError(
                f"overlap {self.overlap} must be at least 0 and smaller than "
                f"max_sentences {self.max_sentences}"
            )
        if self.max_chars < 50:
            raise ValueError(f"max_chars {self.max_chars} must be at least 50")

    def as_dict(self) -> dict[str, int]:
        """The parameters as recorded in the index manifest."""
        return asdict(self)


def chunk_document(document: Document, params: ChunkingParams) -> Chunked:
    """Split a document into sentences and overlapping passages within sections."""
    text = document.text
    lines = split_lines(text)
    headings = [(line.start, line.heading.title) for line in lines if line.heading]
    heading_starts = [start for start, _ in headings]

    sentences = []
    for block in split_blocks(text, lines):
        for start, end in split_sentences(text, block):
            at = bisect.bisect_right(heading_starts, start) - 1
            sentences.append(
                Sentence(
                    document=document.id,
                    start=start,
                    end=end,
                    section=headings[at][1] if at >= 0 else None,
                    page=page_at(document.page_starts, start),
                )
            )
    return Chunked(document, tuple(sentences), tuple(group_passages(sentences, params)))


def page_at(page_starts: tuple[int, ...], offset: int) -> int | None:
    """The 1-based page holding ``offset``, or None for sources without pages.

    >>> page_at((0, 100, 250), 120)
    2
    """
    if not page_starts:
        return None
    return max(1, bisect.bisect_right(page_starts, offset))


def group_passages(sentences: list[Sentence], params: ChunkingParams) -> list[Passage]:
    """Group consecutive sentences of the same section into overlapping passages."""
    passages: list[Passage] = []
    i = 0
    while i < len(sentences):
        j = i
        while (
            j + 1 < len(sentences)
            and j + 1 - i < params.max_sentences
            and sentences[j + 1].section == sentences[i].section
            and sentences[j + 1].end - sentences[i].start <= params.max_chars
        ):
            j += 1
        first, last = sentences[i], sentences[j]
        passages.append(
            Passage(
                document=first.document,
                start=first.start,
                end=last.end,
                first=i,
                last=j,
                section=first.section,
                page=first.page,
            )
        )
        if j + 1 >= len(sentences):
            break
        if sentences[j + 1].section != first.section:
            i = j + 1
        else:
            i = max(i + 1, j + 1 - params.overlap)
    return passages
