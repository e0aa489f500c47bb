"""Documents → sentences and passages, each carrying document, section, page and offsets.

Provenance is recorded here, once: everything later quotes ``document.text[start:end]``.
"""

from __future__ import annotations

import bisect
import re
from dataclasses import asdict, dataclass

from qa.chunking.sentences import ENDS_SENTENCE, Block, split_blocks, split_lines, split_sentences
from qa.records import BODY, FRONT, FURNITURE, Chunked, Document, Passage, Sentence

# A line that ends a sentence; a line without such an ending that stands alone labels.
_LIST_ITEM = re.compile(r"^(?:[-*•▪◦]|\(?\d{1,2}[.)-]|\(?[a-z][.)])\s")
MAX_FURNITURE_WORDS = 15
MAX_FRONT_BLOCKS = 40  # front matter, if any, ends within this many paragraphs


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

    blocks = split_blocks(text, lines)
    spans = [split_sentences(text, block) for block in blocks]
    sentences = []
    for role, block_spans in zip(block_roles(text, blocks, spans), spans):
        for start, end in block_spans:
            if role == BODY and is_title_case(text[start:end]):
                role_here = FURNITURE
            else:
                role_here = role
            at = bisect.bisect_right(heading_starts, start) - 1
            sentences.append(
                Sentence(
                    document=document.id,
                    start=start,
                    end=end,
                    section=headings[at][1] if at >= 0 else None,
                    page=page_at(document.page_starts, start),
                    role=role_here,
                )
            )
    return Chunked(document, tuple(sentences), tuple(group_passages(sentences, params)))


def block_roles(text: str, blocks: list[Block], spans: list[list[tuple[int, int]]]) -> list[int]:
    r"""The layout role of each paragraph: body text, furniture, or front matter.

    Furniture is a paragraph of one short line that does not end a sentence: a title, a
    heading the heading rules missed, a dateline, a caption. Front matter is the furniture
    before the first paragraph that says something (title block, bylines, dates, journal
    details), when that paragraph comes early.

    >>> text = "Peru\n\nPeru is a country. Its capital is Lima."
    >>> blocks = [Block(0, 4), Block(6, len(text))]
    >>> block_roles(text, blocks, [[(0, 4)], [(6, 24), (25, len(text))]]) == [FRONT, BODY]
    True
    """
    roles = [FURNITURE if len(s) == 1 and _is_furniture(text[b.start : b.end]) else BODY
             for b, s in zip(blocks, spans)]
    first_prose = next((i for i, role in enumerate(roles) if role == BODY), None)
    if first_prose is not None and first_prose <= MAX_FRONT_BLOCKS:
        roles[:first_prose] = [FRONT] * first_prose
    return roles


_MINOR_WORDS = frozenset("a an and as at by for from in into of on or the to with vs via its their his her".split())


def is_title_case(sentence: str) -> bool:
    """Whether a sentence reads as a title: four or more words besides minor ones, nearly all
    capitalised ("The Rise of Coastal Trade and Its Effect on Port Cities").

    >>> is_title_case("The Rise of Coastal Trade and Its Effect on Port Cities in Peru.")
    True
    >>> is_title_case("Lima is the capital of Peru.")
    False
    """
    found = [w for w in re.findall(r"[A-Za-z][\w'’-]*", sentence) if w.lower() not in _MINOR_WORDS]
    if len(found) < 4 or len(found) > MAX_FURNITURE_WORDS:
        return False
    return sum(w[0].isupper() for w in found) >= 0.8 * len(found)


def _is_furniture(block: str) -> bool:
    if "\n" in block or ENDS_SENTENCE.search(block) or _LIST_ITEM.match(block):
        return False
    return len(block.split()) <= MAX_FURNITURE_WORDS



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
