"""Pluggable readers: one function per file type turns a source file into text.

A reader takes the file's bytes and returns a ``SourceText``: the text that every offset
refers to, plus what the file itself says about its title and pages. A reader that cannot
read a file raises ``UnreadableDocumentError`` with the reason. Register a new type by
adding its suffix to ``READERS``. Heavy parsing libraries are imported inside the readers.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from qa.errors import UnsupportedFormatError
from qa.sources.readers.base import SourceText
from qa.sources.readers.docx import read_docx
from qa.sources.readers.html import read_html
from qa.sources.readers.pdf import read_pdf
from qa.sources.readers.text import read_markdown, read_plain_text

Reader = Callable[[bytes], SourceText]

READERS: dict[str, Reader] = {
    ".txt": read_plain_text,
    ".text": read_plain_text,
    ".md": read_markdown,
    ".markdown": read_markdown,
    ".html": read_html,
    ".htm": read_html,
    ".pdf": read_pdf,
    ".docx": read_docx,
}


def supported_suffixes() -> tuple[str, ...]:
    """The file suffixes that have a reader, e.g. ``('.docx', '.htm', ...)``."""
    return tuple(sorted(READERS))


def read_source(path: Path) -> SourceText:
    """Read one source file with the reader registered for its suffix."""
    return read_bytes(path.name, path.read_bytes())


def read_bytes(name: str, data: bytes) -> SourceText:
    """Read the bytes of a file called ``name`` with the reader for its suffix."""
    reader = READERS.get(Path(name).suffix.lower())
    if reader is None:
        raise UnsupportedFormatError(
            f"{name}: unsupported file type {Path(name).suffix or '(none)'!r}; "
            f"supported: {', '.join(supported_suffixes())}"
        )
    return reader(data)


__all__ = ["READERS", "Reader", "SourceText", "read_bytes", "read_source", "supported_suffixes"]
