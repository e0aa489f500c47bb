"""Real source files of each format, generated for tests: PDF (fpdf2), DOCX (python-docx), HTML."""

from __future__ import annotations

import io
from pathlib import Path

HEADER = "Journal of River Studies, Vol. 3 (2021)"

# Three pages of a small paper. Each page is a list of lines; a line that is a tuple
# ("wrap", text) is a paragraph left to fpdf2 to wrap, ("h", text) is a bold heading.
PAPER_PAGES: list[list[tuple[str, str]]] = [
    [
        ("h", "1. Introduction"),
        ("wrap", ("Rivers shape the land they cross. This paper compares the great rivers of Africa and "
                 "South America, their floods and the dams that now hold them back.")),
        ("line", "The Nile is the longest river in Africa and its annual flood was once essential to the"),
        ("line", "farmers of the valley, who depended on the silt it left behind for their har-"),
        ("line", "vests and measured the height of the water with stone gauges called nilometers."),
        ("wrap", ("Ancient records of the flood survive from many centuries and let historians "
                 "reconstruct droughts that would otherwise be unknown to us today.")),
        ("line", "The oldest of these records were carved in stone and are among the earliest extrac-"),
    ],
    [
        ("line", "tion of hydrological data that we know of, long before any instruments existed."),
        ("h", "2. The Aswan High Dam"),
        ("wrap", ("The Aswan High Dam was completed in 1970. It ended the annual flood of the Nile and "
                 "created Lake Nasser, one of the largest reservoirs in the world.")),
        ("wrap", ("The dam produces hydroelectric power for much of Egypt, but it also traps the silt "
                 "that once fertilised the fields downstream of it.")),
    ],
    [
        ("h", "3. The Amazon"),
        ("wrap", ("The Amazon carries more water than any other river on Earth. Its basin covers about "
                 "seven million square kilometres of South America.")),
        ("wrap", ("The river has no bridges along its main course, because it runs mostly through "
                 "rainforest with few roads and its banks shift every season.")),
    ],
]


def make_pdf(pages: list[list[tuple[str, str]]] = PAPER_PAGES, header: str | None = HEADER,
             footer: bool = True, title: str | None = "Great Rivers and Their Dams",
             author: str | None = "Ada Fluvial; Ben Delta", password: str | None = None) -> bytes:
    """A text PDF with a running header, "Page N of M" footers and the given lines."""
    from fpdf import FPDF

    class Paper(FPDF):
        def header(self) -> None:
            if header:
                self.set_font("Helvetica", size=9)
                self.cell(0, 8, header, align="C")
                self.ln(12)

        def footer(self) -> None:
            if footer:
                self.set_y(-15)
                self.set_font("Helvetica", size=9)
                self.cell(0, 8, f"Page {self.page_no()} of {{nb}}", align="C")

    pdf = Paper()
    if title:
        pdf.set_title(title)
    if author:
        pdf.set_author(author)
    if password is not None:
        pdf.set_encryption(owner_password="owner-secret", user_password=password)
    for page in pages:
        pdf.add_page()
        for kind, text in page:
            if kind == "h":
                pdf.set_font("Helvetica", "B", 13)
                pdf.cell(0, 8, text)
                pdf.ln(10)
            elif kind == "wrap":
                pdf.set_font("Helvetica", size=11)
                pdf.multi_cell(0, 6, text)
                pdf.ln(4)
            else:
                pdf.set_font("Helvetica", size=11)
                pdf.cell(0, 6, text)
                pdf.ln(6)
    return bytes(pdf.output())


def make_scanned_pdf(pages: int = 2) -> bytes:
    """A PDF whose pages hold only drawings, no text layer (like a scan)."""
    from fpdf import FPDF

    pdf = FPDF()
    for _ in range(pages):
        pdf.add_page()
        pdf.set_fill_color(40, 40, 40)
        for row in range(20):
            pdf.rect(20, 20 + row * 12, 170, 6, style="F")
    return bytes(pdf.output())


def make_image_pdf(pages: list[list[str]]) -> bytes:
    """A PDF of page images (a scan, no text layer) showing each page's lines of text."""
    from fpdf import FPDF
    from PIL import Image, ImageDraw, ImageFont

    pdf = FPDF()
    font = ImageFont.load_default(size=40)
    for lines in pages:
        image = Image.new("L", (1240, 1754), 255)
        draw = ImageDraw.Draw(image)
        for i, line in enumerate(lines):
            draw.text((100, 150 + i * 70), line, fill=0, font=font)
        pdf.add_page()
        pdf.image(image, x=0, y=0, w=210)
    return bytes(pdf.output())


def make_docx(title: str = "Lakes of Europe", author: str = "Clara Shore") -> bytes:
    """A Word document with a title, headings, a list and a table."""
    import docx

    document = docx.Document()
    document.core_properties.title = title
    document.core_properties.author = author
    document.add_paragraph(title, style="Title")
    document.add_heading("Lake Geneva", level=1)
    document.add_paragraph(
        "Lake Geneva lies on the border between France and Switzerland. "
        "The Rhône flows into it and leaves it again at Geneva."
    )
    document.add_heading("Lake Baikal", level=2)
    document.add_paragraph("Lake Baikal in Siberia is the deepest lake in the world, at more than 1,600 metres.")
    document.add_paragraph("It holds about a fifth of the world's unfrozen fresh water.", style="List Bullet")
    table = document.add_table(rows=2, cols=2)
    table.cell(0, 0).text = "Lake"
    table.cell(0, 1).text = "Depth"
    table.cell(1, 0).text = "Baikal"
    table.cell(1, 1).text = "1,642 m"
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


HTML_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<title>Glaciers in Retreat | The Ice Blog</title>
<meta property="og:title" content="Glaciers in Retreat">
<meta name="author" content="Dana Frost">
<meta name="date" content="2022-03-14">
<script>var tracking = "do not index this";</script>
<style>body { color: black }</style>
</head><body>
<nav><ul><li><a href="/">Home</a></li><li><a href="/archive">Archive</a></li>
<li><a href="/subscribe">Subscribe to our newsletter</a></li></ul></nav>
<header><div class="site-name">The Ice Blog</div></header>
<main><article>
<h1>Glaciers in Retreat</h1>
<p>The glaciers of the Alps have lost more than half of their volume since 1900.
Summer heat waves now melt several metres of ice in a single season.</p>
<h2>Causes of the retreat</h2>
<p>Warmer summers and less winter snow both shrink the glaciers.
Soot and dust darken the ice, so it absorbs more sunlight and melts faster.</p>
<h3>Measuring the ice</h3>
<p>Scientists measure the <em>mass balance</em> of a glacier with stakes drilled into the ice
and revisit them every autumn.</p>
<ul><li>The Aletsch Glacier is the largest glacier in the Alps.</li>
<li>The Rhône Glacier is covered with blankets in summer to slow its melting.</li></ul>
</article></main>
<footer><p>Copyright 2022 The Ice Blog. All rights reserved.</p>
<p><a href="/privacy">Privacy policy</a> · <a href="/cookies">Cookie settings</a></p></footer>
</body></html>
"""


def write(path: Path, data: bytes | str) -> Path:
    """Write ``data`` to ``path`` (creating folders) and return the path."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(data, str):
        path.write_text(data, encoding="utf-8")
    else:
        path.write_bytes(data)
    return path
