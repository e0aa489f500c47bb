"""Plain text and Markdown sources.

The text is kept exactly as decoded (line endings included), so offsets into it can be
checked against the file. Markdown is indexed as its source text: ``#`` headings become
sections, and the first level-1 heading is the title.

Text may come in any common encoding: UTF-8 (with or without BOM) and UTF-16 with a BOM
are tried first, then ``charset-normalizer`` guesses. A file that decodes to control
characters or replacement marks is binary data with a text name, and is rejected.
"""

from __future__ import annotations

import re

from qa.errors import UnreadableDocumentError
from qa.records import SkipCode
from qa.sources.readers.base import SourceText

_MD_TITLE = re.compile(r"^#\s+(.+?)\s*#*\s*$", re.MULTILINE)
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0e-\x1f\x7f\ufffd]")
MAX_CONTROL_SHARE = 0.01
# When charset-normalizer finds several encodings equally plausible (it often cannot tell
# cp1250 from cp1252 on a short Western text), prefer the most common ones.
_PREFERRED = ("cp1252", "latin_1", "iso8859_15", "cp1251", "cp1250")


def decode_text(data: bytes) -> str:
    """Decode text bytes: UTF-8 (with or without BOM) first, else the detected encoding.

    >>> decode_text("\ufeffcafé".encode("utf-8"))
    'café'
    >>> decode_text("crème brûlée".encode("cp1252"))
    'crème brûlée'
    """
    if not data.strip():
        raise UnreadableDocumentError("the file is empty", SkipCode.EMPTY)
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return _checked(data.decode("utf-16"))
        except UnicodeDecodeError:
            raise UnreadableDocumentError("the file has a UTF-16 mark but is not valid UTF-16") from None
    if b"\x00" in data[:8192]:
        raise UnreadableDocumentError("the file is binary, not text")
    try:
        return _checked(data.decode("utf-8-sig"))
    except UnicodeDecodeError:
        pass
    return _checked(_guess(data))


def _guess(data: bytes) -> str:
    from charset_normalizer import from_bytes

    matches = list(from_bytes(data))
    if not matches:
        raise UnreadableDocumentError("the text encoding could not be detected (binary data?)")
    best = matches[0]
    tied = [m for m in matches if m.chaos <= best.chaos + 0.01 and m.coherence >= best.coherence - 0.01]
    for encoding in _PREFERRED:
        for match in tied:
            if match.encoding == encoding:
                return str(match)
    return str(best)


def _checked(text: str) -> str:
    """``text`` unless it is mostly control characters or replacement marks."""
    bad = len(_CONTROL.findall(text))
    if bad > MAX_CONTROL_SHARE * len(text):
        raise UnreadableDocumentError(
            f"the file looks binary, not text ({bad} control characters in {len(text)})"
        )
    if not text.strip():
        raise UnreadableDocumentError("the file is empty", SkipCode.EMPTY)
    return text


def read_plain_text(data: bytes) -> SourceText:
    """Read a ``.txt`` file."""
    return SourceText(text=decode_text(data))


def read_markdown(data: bytes) -> SourceText:
    """Read a ``.md`` file; its first ``# Title`` heading is the title."""
    text = decode_text(data)
    match = _MD_TITLE.search(text)
    return SourceText(text=text, title=match.group(1) if match else None)
