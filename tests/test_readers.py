"""Readers of each format, on real files: text in any encoding, HTML, PDF and DOCX."""

from __future__ import annotations

import socket

import pytest
from sourcefiles import HEADER, HTML_PAGE, make_docx, make_pdf

from qa.chunking.passages import page_at
from qa.errors import UnreadableDocumentError, UnsupportedFormatError
from qa.sources.readers import read_bytes, supported_suffixes
from qa.sources.readers.pdf import clean_pages, join_lines, join_pages
from qa.sources.readers.text import decode_text

FRENCH = "Les rivières coulent vers la mer. Le château près de l'élève était très âgé, naïve façon."


@pytest.fixture(autouse=True)
def no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    """Readers must never reach the network."""

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("a reader tried to open a network connection")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)


def test_every_format_has_a_reader() -> None:
    assert {".txt", ".md", ".html", ".htm", ".pdf", ".docx"} <= set(supported_suffixes())
    with pytest.raises(UnsupportedFormatError, match="unsupported file type '.xyz'"):
        read_bytes("a.xyz", b"text")


# -- text encodings --------------------------------------------------------------------------


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "latin-1", "cp1252", "utf-16", "utf-16-be"])
def test_text_in_common_encodings(encoding: str) -> None:
    data = FRENCH.encode(encoding)
    if encoding == "utf-16-be":
        data = b"\xfe\xff" + data  # with its byte order mark
    assert read_bytes("notes.txt", data).text == FRENCH


def test_cp1252_punctuation() -> None:
    text = "He said “hello” — and paid €5 for the café’s crème brûlée, naïvely."
    assert decode_text(text.encode("cp1252")) == text


def test_cyrillic_cp1251() -> None:
    text = "Река Волга впадает в Каспийское море. Это самая длинная река Европы."
    assert decode_text(text.encode("cp1251")) == text


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"", "empty"),
        (b"  \n\t \n", "empty"),
        (bytes(range(256)) * 8, "binary"),
        (b"\x89PNG\r\n\x1a\n" + bytes(range(1, 256)) * 8, "binary|encoding could not be detected"),
        (bytes((i * 37 + 11) % 31 + 1 for i in range(4000)), "binary"),  # control characters, no NUL
    ],
)
def test_binary_or_empty_text_is_rejected(data: bytes, reason: str) -> None:
    with pytest.raises(UnreadableDocumentError, match=reason):
        read_bytes("junk.txt", data)


def test_markdown_title() -> None:
    source = read_bytes("a.md", b"Intro line\n\n# The Real Title\n\nBody text here.\n")
    assert source.title == "The Real Title"


# -- HTML ---------------------------------------------------------------------------------------


def test_html_main_text_without_boilerplate() -> None:
    source = read_bytes("glaciers.html", HTML_PAGE.encode("utf-8"))
    text = source.text
    assert source.title == "Glaciers in Retreat"
    assert source.authors == ("Dana Frost",)
    assert source.date == "2022-03-14"
    assert "The glaciers of the Alps have lost more than half of their volume since 1900." in text
    assert "mass balance" in text
    for boilerplate in ("Subscribe", "Archive", "Privacy", "Cookie", "Copyright", "tracking", "color"):
        assert boilerplate not in text


def test_html_headings_become_markdown_lines() -> None:
    lines = read_bytes("g.htm", HTML_PAGE.encode("utf-8")).text.splitlines()
    assert "# Glaciers in Retreat" in lines
    assert "## Causes of the retreat" in lines
    assert "### Measuring the ice" in lines
    assert "- The Aletsch Glacier is the largest glacier in the Alps." in lines


def test_html_declared_encoding() -> None:
    page = HTML_PAGE.replace('charset="utf-8"', 'charset="windows-1252"').replace("Rhône", "Rhône — “café”")
    source = read_bytes("g.html", page.encode("cp1252"))
    assert "The Rhône — “café” Glacier" in source.text


def test_html_without_text_is_rejected() -> None:
    with pytest.raises(UnreadableDocumentError, match="no main text"):
        read_bytes("empty.html", b"<html><head><title>x</title></head><body><nav></nav></body></html>")


# -- PDF ------------------------------------------------------------------------------------------


def test_pdf_pages_and_citation_details() -> None:
    source = read_bytes("rivers.pdf", make_pdf())
    text = source.text
    assert source.title == "Great Rivers and Their Dams"
    assert source.authors == ("Ada Fluvial", "Ben Delta")
    assert len(source.page_starts) == 3 and source.page_starts[0] == 0
    aswan = text.index("The Aswan High Dam was completed in 1970.")
    amazon = text.index("The Amazon carries more water")
    assert page_at(source.page_starts, text.index("Rivers shape the land")) == 1
    assert page_at(source.page_starts, aswan) == 2
    assert page_at(source.page_starts, amazon) == 3
    assert text[source.page_starts[2]:].startswith("3. The Amazon")


def test_pdf_running_headers_and_page_numbers_dropped() -> None:
    text = read_bytes("rivers.pdf", make_pdf()).text
    assert HEADER not in text
    assert "Page 1 of 3" not in text and "Page 3" not in text


def test_pdf_hyphenation_and_hard_wraps_joined() -> None:
    text = read_bytes("rivers.pdf", make_pdf()).text
    # a word hyphenated at a line end, and at the end of a page
    assert "silt it left behind for their harvests and measured" in text
    assert "among the earliest extraction" in text and "tion of hydrological" not in text
    # lines that fpdf2 wrapped are joined into one sentence
    assert ("The Aswan High Dam was completed in 1970. It ended the annual flood of the Nile and "
            "created Lake Nasser, one of the largest reservoirs in the world.") in text
    # headings stay on lines of their own
    assert "\n2. The Aswan High Dam\n" in text


def test_pdf_helpers() -> None:
    pages = ["Journal X\nBody one is here.\n7", "Journal X\n Body two.\n- 8 -", "Journal X\nThree.\nJournal X\nix"]
    assert clean_pages(pages) == [["Body one is here."], ["Body two."], ["Three."]]
    assert join_lines(["A full line of text that ends with a hyphen-", "ated word and goes on."], 45) == (
        "A full line of text that ends with a hyphenated word and goes on."
    )
    text, starts = join_pages([["First page."], [], ["Third page."]])
    assert starts == (0, 13, 13) and text[starts[2]:].startswith("Third")
    assert page_at(starts, starts[2]) == 3


def test_encrypted_pdf_is_rejected_with_reason() -> None:
    with pytest.raises(UnreadableDocumentError, match="encrypted"):
        read_bytes("secret.pdf", make_pdf(password="let-me-in"))


def test_pdf_with_empty_user_password_is_read() -> None:
    assert "Aswan" in read_bytes("open.pdf", make_pdf(password="")).text


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"%PDF-1.7\n" + b"garbage " * 200, "damaged|no pages"),
        (b"just some words, not a PDF at all", "not a PDF"),
    ],
)
def test_corrupt_pdf_is_rejected(data: bytes, reason: str) -> None:
    with pytest.raises(UnreadableDocumentError, match=reason):
        read_bytes("bad.pdf", data)


def test_truncated_pdf_is_rejected_or_partial() -> None:
    data = make_pdf()
    with pytest.raises(UnreadableDocumentError):
        read_bytes("cut.pdf", data[: len(data) // 3])


def test_scanned_pdf_is_rejected() -> None:
    from sourcefiles import make_scanned_pdf

    with pytest.raises(UnreadableDocumentError, match="no text layer"):
        read_bytes("scan.pdf", make_scanned_pdf())


# -- DOCX ------------------------------------------------------------------------------------------


def test_docx_text_headings_and_properties() -> None:
    source = read_bytes("lakes.docx", make_docx())
    assert source.title == "Lakes of Europe"
    assert source.authors == ("Clara Shore",)
    lines = source.text.splitlines()
    assert "# Lake Geneva" in lines and "## Lake Baikal" in lines
    assert "Lake Baikal in Siberia is the deepest lake in the world, at more than 1,600 metres." in lines
    assert "- It holds about a fifth of the world's unfrozen fresh water." in lines
    assert "Baikal | 1,642 m" in lines
    assert source.page_starts == ()


@pytest.mark.parametrize("data", [b"PK\x03\x04 broken zip", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 100])
def test_bad_docx_is_rejected(data: bytes) -> None:
    with pytest.raises(UnreadableDocumentError, match="DOCX|Word"):
        read_bytes("bad.docx", data)


def test_small_html_pages_keep_their_structure() -> None:
    page = (b"<html><head><title>Short</title></head><body><nav>Menu</nav><h1>Tides</h1>"
            b"<p>The moon pulls the sea.</p><table><tr><th>Port</th><th>Range</th></tr>"
            b"<tr><td>Brest</td><td>7 m</td></tr></table><footer>(c) Site</footer></body></html>")
    source = read_bytes("tides.html", page)
    assert source.title in ("Tides", "Short")  # the page heading or its <title>
    assert source.text == "# Tides\n\nThe moon pulls the sea.\n\nPort | Range\n\nBrest | 7 m\n"
    assert read_bytes("frag.html", b"<p>A fragment with <b>bold</b> text.</p>").text == "A fragment with bold text.\n"
