"""Shared records that flow through the pipeline.

Small frozen dataclasses, importing nothing else from the package. Every offset is a
character offset into ``Document.text``, the document's text exactly as read, so that
``document.text[start:end]`` is always the quoted text.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from enum import StrEnum
from typing import Any


@dataclass(frozen=True)
class DocumentMeta:
    """Citation details of one source, from the corpus metadata file or the source itself."""

    title: str
    authors: tuple[str, ...] = ()
    date: str | None = None
    url: str | None = None
    kind: str | None = None  # what sort of source it is: "blog post", "journal article" …


@dataclass(frozen=True)
class Document:
    """One source as read: its id (path relative to the corpus, ``/`` separators) and text.

    ``page_starts`` holds the offset where each page begins (page 1 first); it is empty for
    sources without pages.
    """

    id: str
    text: str
    meta: DocumentMeta
    sha256: str
    page_starts: tuple[int, ...] = ()


@dataclass(frozen=True)
class Section:
    """A heading and the span of text it governs (heading line included)."""

    title: str
    level: int
    heading_start: int
    heading_end: int
    end: int


# What a sentence is in its document's layout (see ``qa.chunking.passages.sentence_roles``).
BODY = 0  # running text
FURNITURE = 1  # a line that labels rather than says: a heading, caption or title line
FRONT = 2  # front matter: title block, byline, dateline, affiliations before the body


@dataclass(frozen=True)
class Sentence:
    """One sentence: ``document.text[start:end]``, with its section, page and layout role."""

    document: str
    start: int
    end: int
    section: str | None = None
    page: int | None = None
    role: int = BODY


@dataclass(frozen=True)
class Entity:
    """A named entity, date or amount found in a sentence: ``document.text[start:end]``.

    ``label`` is an OntoNotes entity type as spaCy names it: PERSON, GPE, ORG, DATE …
    """

    start: int
    end: int
    label: str


@dataclass(frozen=True)
class Passage:
    """A few consecutive sentences of one section, the unit that retrieval ranks.

    ``first`` and ``last`` are indices into the document's sentence list (inclusive).
    """

    document: str
    start: int
    end: int
    first: int
    last: int
    section: str | None = None
    page: int | None = None


@dataclass(frozen=True)
class Chunked:
    """A document split into sentences and passages, ready to embed."""

    document: Document
    sentences: tuple[Sentence, ...]
    passages: tuple[Passage, ...]


@dataclass(frozen=True)
class Citation:
    """Where an excerpt comes from."""

    document: str
    title: str
    section: str | None
    page: int | None
    start: int
    end: int


@dataclass(frozen=True)
class Excerpt:
    """A verbatim quote: ``text == document.text[source.start:source.end]``.

    ``highlight`` is a ``(start, end)`` range inside ``text`` on the span that answers best.
    """

    text: str
    highlight: tuple[int, int]
    score: float
    source: Citation


@dataclass(frozen=True)
class Answer:
    """The response to one question."""

    question: str
    no_answer: bool
    excerpts: tuple[Excerpt, ...] = field(default_factory=tuple)
    took_ms: float = 0.0
    interpreted_as: str | None = None  # a follow-up as read with the earlier questions' words


class SkipCode(StrEnum):
    """Why a source file is not in the index, as a code programs can match."""

    OUTSIDE_CORPUS = "outside_corpus"  # a symlink (or a linked folder) leading out of the corpus
    EMPTY = "empty"
    TOO_LARGE = "too_large"
    UNREADABLE = "unreadable"  # cannot be opened, or its reader cannot make text of it
    NO_TEXT = "no_text"  # read, but without text (a scanned page, a page without main text)
    READER_FAILED = "reader_failed"  # the reader's library raised on this file
    DUPLICATE = "duplicate"  # the same bytes as another file, which is indexed instead


KEPT = "kept the previously indexed version"


@dataclass(frozen=True)
class Skip:
    """A source file left out of a build: the code, the message for people, and whether the
    last indexed version of the file stays in the index meanwhile."""

    code: SkipCode
    message: str
    kept: bool = False

    @property
    def reason(self) -> str:
        """The message, saying so when the previously indexed version is kept."""
        return f"{self.message}; {KEPT}" if self.kept else self.message

    def keeping(self) -> Skip:
        """This skip, with the previously indexed version kept."""
        return replace(self, kept=True)

    def as_dict(self) -> dict[str, Any]:
        """The form stored in a build's manifest."""
        return {"code": self.code.value, "message": self.message, **({"kept": True} if self.kept else {})}

    @classmethod
    def from_dict(cls, data: dict[str, Any] | str) -> Skip:
        """Read ``as_dict``'s form (a plain reason string from older builds reads as unreadable)."""
        if isinstance(data, str):
            return cls(SkipCode.UNREADABLE, data)
        return cls(SkipCode(data["code"]), data["message"], bool(data.get("kept", False)))
