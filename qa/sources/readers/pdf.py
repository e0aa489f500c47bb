"""PDF sources: text per page with ``pypdf``, cleaned for quoting and cited by page.

The text of each page is extracted, then:

* running headers and footers (lines at the top or bottom of most pages that repeat with
  only their numbers changing, such as a journal name or "Page 3 of 9") are dropped;
* a word hyphenated across a line end is joined ("extrac-" + "tion" → "extraction"), also
  across a page break, where the rest of the word moves to the earlier page;
* hard-wrapped lines of a paragraph are joined with a space, so sentences read whole;
  a short line (a paragraph's last line, a heading) ends its paragraph, which is followed
  by a blank line; a heading-like or list line starts a new one.

Pages are separated by a blank line and ``page_starts[i]`` is where page ``i + 1`` begins,
so every sentence can be cited with its page. Encrypted PDFs (unless readable with an empty
password), damaged files and PDFs without a text layer (scans) are rejected with the reason.
"""

from __future__ import annotations

import io
import itertools
import logging
import re
from collections import Counter

from qa.errors import UnreadableDocumentError
from qa.records import SkipCode
from qa.sources.readers.base import SourceText
from qa.sources.readers.ocr import recognise_pages, tesseract_available

EDGE_LINES = 3  # lines at the top and at the bottom of a page where running heads live
REPEAT_SHARE = 0.5  # a line in the edges of at least this share of pages is a running head
SHORT_LINE = 0.7  # a line shorter than this share of the typical line ends its paragraph
_PAGE_NUMBER = re.compile(r"^[\W_]*(?:page\s*)?(?:\d+|[ivxlcdm]+)(?:\s*(?:of|/)\s*\d+)?[\W_]*$", re.IGNORECASE)
_TERMINAL = re.compile(r"[.!?:;…][\"'”’)\]]*$")
_LIST = re.compile(r"^(?:[-–•▪◦*]|\(?\d{1,2}[.)]|\(?[a-z][.)])\s")
_HYPHENATED = re.compile(r"[^\W\d_][-\u00ad]$")
_WORDLIKE = re.compile(r"[^\W\d_]{3}")  # recognised text with no word in it is noise, not text
_WORD_REST = re.compile(r"^[^\W\d_][\w’'-]*[,.;:!?)\]”’]*")


def read_pdf(data: bytes) -> SourceText:
    """Read a PDF's text layer, page by page, with its title and authors."""
    from pypdf import PdfReader

    logging.getLogger("pypdf").setLevel(logging.CRITICAL)
    if not data.strip():
        raise UnreadableDocumentError("the file is empty", SkipCode.EMPTY)
    if not data.lstrip()[:1024].startswith(b"%PDF") and b"%PDF" not in data[:1024]:
        raise UnreadableDocumentError("the file is not a PDF (no %PDF header)")
    try:
        reader = PdfReader(io.BytesIO(data))
        if reader.is_encrypted and not reader.decrypt(""):
            raise UnreadableDocumentError("the PDF is encrypted with a password; save an unprotected copy")
        pages = [page.extract_text() or "" for page in reader.pages]
        info = reader.metadata
    except UnreadableDocumentError:
        raise
    except Exception as exc:  # pypdf raises many types on damaged files
        reason = "encrypted" if "decrypt" in str(exc).lower() or "crypt" in type(exc).__name__.lower() else "damaged"
        raise UnreadableDocumentError(f"the PDF is {reason} ({type(exc).__name__}: {exc})") from exc
    if not pages:
        raise UnreadableDocumentError("the PDF has no pages")
    blank = [i for i, page in enumerate(pages) if not page.strip()]
    ocr_pages: tuple[int, ...] = ()
    if blank and tesseract_available():
        for i, found in recognise_pages(data, blank).items():
            if _WORDLIKE.search(found):
                pages[i] = found
                ocr_pages += (i + 1,)
    text, page_starts = join_pages(clean_pages(pages))
    if not text.strip():
        how = ("Tesseract found no text on them" if tesseract_available() else
               "install Tesseract (Debian: apt-get install tesseract-ocr) to read scanned pages")
        raise UnreadableDocumentError(
            f"the PDF has no text layer ({len(pages)} pages of images, a scan?); {how}", SkipCode.NO_TEXT)
    title = _meta(info, "title")
    return SourceText(text=text, title=title, authors=_authors(_meta(info, "author")), page_starts=page_starts,
                      ocr_pages=ocr_pages)


def clean_pages(pages: list[str]) -> list[list[str]]:
    """Each page as a list of lines, running headers, footers and page numbers removed."""
    lines = [[line.strip() for line in page.splitlines()] for page in pages]
    lines = [[line for line in page if line] for page in lines]
    counts: Counter[str] = Counter()
    for page in lines:
        counts.update({_shape(line) for line in _edges(page)})
    threshold = max(2.0, REPEAT_SHARE * len(lines))
    running = {shape for shape, n in counts.items() if n >= threshold}
    cleaned = []
    for page in lines:
        top, bottom = 0, len(page)
        while top < min(EDGE_LINES, bottom) and _running(page[top], running):
            top += 1
        while bottom > max(top, len(page) - EDGE_LINES) and _running(page[bottom - 1], running):
            bottom -= 1
        cleaned.append(page[top:bottom])
    return cleaned


def _running(line: str, running: set[str]) -> bool:
    return _shape(line) in running or bool(_PAGE_NUMBER.match(line))


def _edges(page: list[str]) -> list[str]:
    return page[:EDGE_LINES] + page[EDGE_LINES:][-EDGE_LINES:]


def _shape(line: str) -> str:
    """A line with digits masked, to match "Page 3" with "Page 4"."""
    return re.sub(r"\d+", "#", " ".join(line.lower().split()))


def join_pages(pages: list[list[str]]) -> tuple[str, tuple[int, ...]]:
    """The document text and the offset where each page starts.

    >>> join_pages([["A long line of the first page that goes on and on, wrap-"], ["ping here.", "End."]])
    ('A long line of the first page that goes on and on, wrapping\\n\\nhere.\\n\\nEnd.\\n', (0, 61))
    """
    pages = [list(page) for page in pages]
    for this, following in itertools.pairwise(pages):
        # A word hyphenated across the page break: its rest moves to this page.
        if this and following and _HYPHENATED.search(this[-1]):
            rest = _WORD_REST.match(following[0])
            if rest and following[0][0].islower():
                this[-1] = this[-1][:-1] + rest.group()
                following[0] = following[0][rest.end():].lstrip()
                if not following[0]:
                    following.pop(0)
    typical = _typical_length([line for page in pages for line in page])
    parts: list[str] = []
    starts: list[int] = []
    at = 0
    for page in pages:
        starts.append(at)
        body = join_lines(page, typical)
        if body:
            body += "\n\n"
        parts.append(body)
        at += len(body)
    return "".join(parts).rstrip("\n") + "\n", tuple(starts)


def join_lines(lines: list[str], typical: float) -> str:
    """One page's lines joined into paragraphs (blank-line separated).

    >>> join_lines(["Rivers are long and wind through many coun-", "tries and they", "end.", "2. Lakes"], 44)
    'Rivers are long and wind through many countries and they\\nend.\\n\\n2. Lakes'
    """
    out = ""
    for i, line in enumerate(lines):
        if i == 0:
            out = line
            continue
        prev = lines[i - 1]
        if _HYPHENATED.search(prev) and line[0].islower():
            out = out[:-1] + line
        elif _breaks(prev, line, lines[i + 1] if i + 1 < len(lines) else None, typical):
            out += "\n\n" + line
        elif len(prev) < SHORT_LINE * typical:
            out += "\n" + line
        else:
            out += " " + line
    return out


def _breaks(prev: str, line: str, following: str | None, typical: float) -> bool:
    """Whether ``line`` starts a new paragraph after ``prev``."""
    short = SHORT_LINE * typical
    if len(prev) < short and (_TERMINAL.search(prev) or _heading_like(prev)):
        return True
    if _LIST.match(line):
        return True
    return _heading_like(line) and len(line) < short and (following is None or not following[:1].islower())


def _heading_like(line: str) -> bool:
    return bool(line) and (line[0].isupper() or line[0].isdigit()) and not _TERMINAL.search(line) and len(line) < 120


def _typical_length(lines: list[str]) -> float:
    """The length of a full line of body text (80th percentile of line lengths)."""
    lengths = sorted(len(line) for line in lines if len(line) > 20)
    if not lengths:
        return 80.0
    return float(lengths[int(0.8 * (len(lengths) - 1))])


def _meta(info: object, key: str) -> str | None:
    value = getattr(info, key, None) if info is not None else None
    if not isinstance(value, str):
        return None
    value = " ".join(value.split())
    return value or None


def _authors(value: str | None) -> tuple[str, ...]:
    """Author names from a PDF's author field: ``"A. One; B. Two"`` or ``"A. One and B. Two"``."""
    if not value:
        return ()
    parts = [p.strip() for p in re.split(r";|,|\band\b|&", value) if p.strip()]
    if len(parts) > 1 and all(" " in p for p in parts):
        return tuple(parts)
    return (value,)
