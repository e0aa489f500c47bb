"""Word documents (``.docx``) with ``python-docx``: paragraphs and tables in reading order.

Paragraphs styled ``Heading N`` become ``#`` heading lines (``Title`` a level-1 heading),
so they become sections; list paragraphs become ``- item`` lines; table rows become their
cells joined by `` | ``. Blocks are separated by blank lines. The title and author come
from the document properties (or the first ``Title`` paragraph). DOCX has no fixed pages,
so citations carry no page numbers.
"""

from __future__ import annotations

import io
import re
import zipfile
from typing import Any

from qa.errors import UnreadableDocumentError
from qa.records import SkipCode
from qa.sources.readers.base import SourceText

_HEADING = re.compile(r"^heading\s*([1-9])$", re.IGNORECASE)


def read_docx(data: bytes) -> SourceText:
    """Read a ``.docx`` file into text with heading lines, and its title and author."""
    import docx
    from docx.table import Table

    if not data.strip():
        raise UnreadableDocumentError("the file is empty", SkipCode.EMPTY)
    if not data.startswith(b"PK"):
        reason = "an encrypted or old-format Word file" if data.startswith(b"\xd0\xcf\x11\xe0") else "not a DOCX file"
        raise UnreadableDocumentError(f"the file is {reason}; save it as .docx")
    try:
        document = docx.Document(io.BytesIO(data))
        blocks: list[str] = []
        first_title: str | None = None
        for item in document.iter_inner_content():
            if isinstance(item, Table):
                blocks += _table_rows(item)
                continue
            text = _clean(item.text)
            if not text:
                continue
            style = (item.style.name if item.style is not None else "") or ""
            level = _heading_level(style)
            if style.lower() == "title":
                first_title = first_title or text
            if level:
                blocks.append(f"{'#' * level} {text}")
            elif style.lower().startswith("list"):
                blocks.append(f"- {text}")
            else:
                blocks.append(text)
        props = document.core_properties
    except (zipfile.BadZipFile, KeyError, ValueError) as exc:
        raise UnreadableDocumentError(f"the DOCX file is damaged ({type(exc).__name__}: {exc})") from exc
    except Exception as exc:  # python-docx raises many types for bad files
        raise UnreadableDocumentError(f"the DOCX file could not be read ({type(exc).__name__}: {exc})") from exc
    text = "\n\n".join(blocks)
    if not text.strip():
        raise UnreadableDocumentError("the DOCX file has no text", SkipCode.NO_TEXT)
    title = _clean(props.title or "") or first_title
    authors = tuple(a.strip() for a in re.split(r";", props.author or "") if a.strip())
    return SourceText(text=text + "\n", title=title, authors=authors)


def _heading_level(style: str) -> int:
    if style.lower() == "title":
        return 1
    match = _HEADING.match(style.strip())
    return int(match.group(1)) if match else 0


def _table_rows(table: Any) -> list[str]:
    rows = []
    for row in table.rows:
        cells: list[str] = []
        for cell in row.cells:
            text = _clean(cell.text)
            if text and (not cells or cells[-1] != text):  # merged cells repeat their text
                cells.append(text)
        if cells:
            rows.append(" | ".join(cells))
    return rows


def _clean(text: str) -> str:
    return " ".join(text.split())
