"""Pluggable readers: one function per file type turns a source file into text.

A reader takes the file's bytes and returns a ``SourceText``: the text that every offset
refers to, plus what the file itself says about its title and pages. Register a new type
by adding its suffix to ``READERS``.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from qa.errors import UnsupportedFormatError
from qa.readers.base import SourceText
from qa.readers.text import read_markdown, read_plain_text

Reader = Callable[[bytes], SourceText]

READERS: dict[str, Reader] = {
    ".txt": read_plain_text,
    ".text": read_plain_text,
    ".md": read_markdown,
    ".markdown": read_markdown,
}


def supported_suffixes() -> tuple[str, ...]:
    """The file suffixes that have a reader, e.g. ``('.md', '.txt', ...)``."""
    return tuple(sorted(READERS))


def read_source(path: Path) -> SourceText:
    """Read one source file with the reader registered for its suffix."""
    reader = READERS.get(path.suffix.lower())
    if reader is None:
        raise UnsupportedFormatError(
            f"{path.name}: unsupported file type {path.suffix or '(none)'!r}; "
            f"supported: {', '.join(supported_suffixes())}"
        )
    return reader(path.read_bytes())


__all__ = ["READERS", "Reader", "SourceText", "read_source", "supported_suffixes"]
