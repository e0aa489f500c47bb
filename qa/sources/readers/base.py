"""What every reader returns."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class SourceText:
    """A source file's text as read, with the citation hints the file itself carries.

    ``page_starts`` lists the offset where each page begins (empty when the format has no
    pages). ``title`` is the file's own title (a Markdown ``#`` heading, an HTML ``<title>``),
    used when the corpus metadata gives none. ``ocr_pages`` are the pages (1-based) whose
    text was recognised from their image (a scan) rather than read from a text layer.
    """

    text: str
    title: str | None = None
    authors: tuple[str, ...] = ()
    date: str | None = None
    page_starts: tuple[int, ...] = ()
    ocr_pages: tuple[int, ...] = ()
