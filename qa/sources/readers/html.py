"""HTML sources (``.html``, ``.htm``): the page's main text, without navigation or boilerplate.

``trafilatura`` finds the main content (menus, headers, footers, cookie notices and scripts
are dropped) and returns it as a small XML tree, which is rendered here as plain text with
Markdown-style heading lines (``# Title``, ``## Section``) so that headings become sections.
Paragraphs, list items and table rows are separated by blank lines. The title comes from
the page (``og:title``, ``<title>`` or the first heading), as do author and date when the
page states them. Nothing is fetched: the page's bytes are all that is read.
"""

from __future__ import annotations

import logging
import re
from typing import Any

from qa.errors import UnreadableDocumentError
from qa.records import SkipCode
from qa.sources.readers.base import SourceText

_SPACE = re.compile(r"[ \t\r\n\f\v\u00a0]+")
SMALL_PAGE = 500  # characters: below this, compare with the simple block reading
_DROP = "//script|//style|//noscript|//template|//svg|//nav|//header|//footer|//aside|//form|//button|//select"
_HEADINGS = {"h1", "h2", "h3", "h4", "h5", "h6"}
_BLOCKS = _HEADINGS | {
    "p", "div", "li", "ul", "ol", "dl", "dt", "dd", "table", "tr", "td", "th", "pre", "blockquote", "section",
    "article", "main", "figure", "figcaption", "caption", "address", "details", "summary", "body",
}


def read_html(data: bytes) -> SourceText:
    """Read an HTML page into its main text, with its title, authors and date."""
    if not data.strip():
        raise UnreadableDocumentError("the file is empty", SkipCode.EMPTY)
    if b"\x00" in data[:8192]:
        raise UnreadableDocumentError("the file is binary, not HTML")
    import trafilatura

    logging.getLogger("trafilatura").setLevel(logging.CRITICAL)
    options: dict[str, Any] = {
        "include_comments": False, "include_tables": True, "include_images": False, "include_links": False,
        "include_formatting": False, "with_metadata": True, "deduplicate": False,
        "date_extraction_params": {"extensive_search": False, "original_date": True},
    }
    try:
        doc: Any = trafilatura.bare_extraction(data, **options)
        if doc is None or doc.body is None or not "".join(doc.body.itertext()).strip():
            doc = trafilatura.bare_extraction(data, favor_recall=True, **options)
    except Exception as exc:  # a parser failure is a bad file, not a crash
        raise UnreadableDocumentError(f"the HTML could not be parsed ({type(exc).__name__}: {exc})") from exc
    text = render(doc.body) if doc is not None and doc.body is not None else ""
    if len(text) < SMALL_PAGE:
        # On very small pages trafilatura gives up or flattens the page; read its blocks directly.
        simple = simple_text(data)
        if len(simple) >= len(text):
            text = simple
    if not text.strip():
        raise UnreadableDocumentError("no main text found in the HTML page", SkipCode.NO_TEXT)
    authors = tuple(a.strip() for a in (doc.author or "").split(";") if a.strip()) if doc is not None else ()
    title = _clean(doc.title or "") if doc is not None else ""
    return SourceText(text=text, title=title or None, authors=authors, date=doc.date if doc is not None else None)


def render(body: Any) -> str:
    """Plain text of trafilatura's XML body: blocks separated by blank lines.

    Headings become ``#`` lines by level, list items ``- item`` lines, table rows their
    cells joined by `` | ``.
    """
    blocks: list[str] = []
    for element in body:
        _render_block(element, blocks)
        tail = _clean(element.tail or "")
        if tail:
            blocks.append(tail)
    return "\n\n".join(b for b in blocks if b) + "\n"


def _render_block(element: Any, blocks: list[str]) -> None:
    tag = element.tag
    if tag == "head":
        rend = element.get("rend") or "h2"
        level = int(rend[1]) if re.fullmatch(r"h[1-6]", rend) else 2
        title = _inline(element)
        if title:
            blocks.append(f"{'#' * level} {title}")
    elif tag == "list":
        items: list[str] = []
        _render_items(element, items)
        if items:
            blocks.append("\n".join(items))
    elif tag == "table":
        for row in element.iter("row"):
            cells = [_inline(cell) for cell in row if cell.tag == "cell"]
            line = " | ".join(c for c in cells if c)
            if line:
                blocks.append(line)
    elif tag in ("graphic", "comments"):
        return
    else:
        text = _inline(element)
        if text:
            blocks.append(text)


def _render_items(element: Any, items: list[str]) -> None:
    """``- item`` lines of a list, nested lists flattened in place."""
    for item in element:
        if item.tag != "item":
            continue
        nested = [child for child in item if child.tag == "list"]
        for child in nested:
            item.remove(child)
        text = _inline(item).replace("\n", " ")
        if text:
            items.append(f"- {text}")
        for child in nested:
            _render_items(child, items)


def simple_text(data: bytes) -> str:
    """The blocks of a page read directly with lxml, navigation, headers and footers left out.

    >>> simple_text(b"<nav>Home</nav><h2>Tides</h2><p>The <b>moon</b> pulls the sea.</p>")
    '## Tides\\n\\nThe moon pulls the sea.\\n'
    """
    from lxml import etree
    from lxml import html as lxml_html

    try:
        root = lxml_html.document_fromstring(data)
    except (etree.ParserError, ValueError):
        return ""
    for junk in root.xpath(_DROP):
        junk.drop_tree()
    blocks: list[str] = []

    def walk(element: Any) -> None:
        tag = element.tag if isinstance(element.tag, str) else ""
        if tag in _HEADINGS:
            title = _clean(element.text_content())
            if title:
                blocks.append(f"{'#' * int(tag[1])} {title}")
        elif tag == "tr":
            cells = [_clean(cell.text_content()) for cell in element if cell.tag in ("td", "th")]
            if any(cells):
                blocks.append(" | ".join(c for c in cells if c))
        elif tag in _BLOCKS and not any(isinstance(d.tag, str) and d.tag in _BLOCKS for d in element.iterdescendants()):
            text = _clean(element.text_content())
            if text:
                blocks.append(f"- {text}" if tag == "li" else text)
        else:
            own = _clean(element.text or "")
            if own:
                blocks.append(own)
            for child in element:
                walk(child)
                tail = _clean(child.tail or "")
                if tail:
                    blocks.append(tail)

    body = root.find("body")
    walk(body if body is not None else root)
    return "\n\n".join(blocks) + "\n" if blocks else ""


def _inline(element: Any) -> str:
    """An element's text, line breaks (``<lb/>``) kept and other whitespace collapsed."""
    parts: list[str] = []

    def walk(node: Any) -> None:
        if node.text:
            parts.append(node.text)
        for child in node:
            if child.tag == "lb":
                parts.append("\n")
            else:
                walk(child)
            if child.tail:
                parts.append(child.tail)

    walk(element)
    lines = [_clean(line) for line in "".join(parts).split("\n")]
    return "\n".join(line for line in lines if line)


def _clean(text: str) -> str:
    return _SPACE.sub(" ", text).strip()
