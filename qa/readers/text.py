"""Plain text and Markdown sources.

The text is kept exactly as decoded (line endings included), so offsets into it can be
checked against the file. Markdown is indexed as its source text: ``#`` headings become
sections, and the first level-1 heading is the title.
"""

from __future__ import annotations

import re

from qa.errors import UnreadableDocumentError
from qa.readers.base import SourceText

_MD_TITLE = re.compile(r"^#\s+(.+?)\s*#*\s*$", re.MULTILINE)


def decode_text(data: bytes) -> str:
    """Decode text bytes: UTF-8 (with or without BOM) first, else the detected encoding.

    >>> decode_text("\ufeffcafé".encode("utf-8"))
    'café'
    """
    if not data.strip():
        raise UnreadableDocumentError("the file is empty")
    if b"\x00" in data[:8192] and not data.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise UnreadableDocumentError("the file is binary, not text")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    from charset_normalizer import from_bytes

    best = from_bytes(data).best()
    if best is None:
        raise UnreadableDocumentError("the text encoding could not be detected")
    return str(best)


def read_plain_text(data: bytes) -> SourceText:
    """Read a ``.txt`` file."""
    return SourceText(text=decode_text(data))


def read_markdown(data: bytes) -> SourceText:
    """Read a ``.md`` file; its first ``# Title`` heading is the title."""
    text = decode_text(data)
    match = _MD_TITLE.search(text)
    return SourceText(text=text, title=match.group(1) if match else None)
