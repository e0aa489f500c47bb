"""Scanned pages read with Tesseract: a PDF page without a text layer is rendered
(``pypdfium2``, 300 dpi, grey) and recognised by the ``tesseract`` command (Debian's
``tesseract-ocr``), page by page, so that citations keep their page. The recognised text is
the document text every offset refers to.
"""

from __future__ import annotations

import shutil
import subprocess

import numpy as np

from qa.errors import UnreadableDocumentError
from qa.records import SkipCode

TESSERACT = "tesseract"
DPI = 300
LANGUAGE = "eng"
PAGE_SECONDS = 300  # a page Tesseract has not read by then is given up


def tesseract_available() -> bool:
    """Whether the ``tesseract`` command is installed."""
    return shutil.which(TESSERACT) is not None


def recognise_pages(data: bytes, pages: list[int]) -> dict[int, str]:
    """The text Tesseract reads on each of ``pages`` (0-based) of the PDF ``data``."""
    import pypdfium2 as pdfium

    document = pdfium.PdfDocument(data)
    found = {}
    try:
        for i in pages:
            bitmap = document[i].render(scale=DPI / 72, grayscale=True)
            pixels = bitmap.to_numpy()
            grey = np.ascontiguousarray(pixels.reshape(pixels.shape[0], pixels.shape[1], -1)[:, :, 0])
            image = b"P5\n%d %d\n255\n" % (grey.shape[1], grey.shape[0]) + grey.tobytes()  # PGM
            try:
                done = subprocess.run([TESSERACT, "-", "-", "-l", LANGUAGE], input=image, capture_output=True,
                                      timeout=PAGE_SECONDS)
            except subprocess.TimeoutExpired:
                raise UnreadableDocumentError(f"Tesseract did not finish page {i + 1} in {PAGE_SECONDS} s",
                                              SkipCode.READER_FAILED) from None
            if done.returncode != 0:
                message = done.stderr.decode("utf-8", "replace").strip().splitlines()[-1:] or ["no message"]
                raise UnreadableDocumentError(f"Tesseract failed on page {i + 1} ({message[0]})",
                                              SkipCode.READER_FAILED)
            found[i] = done.stdout.decode("utf-8", "replace").replace("\f", "").strip()
    finally:
        document.close()
    return found
