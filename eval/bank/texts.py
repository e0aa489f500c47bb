#!/usr/bin/env python3
"""Write the text qa reads from each document of a corpus folder, one ``.txt`` a document.

Usage: python3 eval/bank/texts.py CORPUS OUTDIR

``OUTDIR/<document id>.txt`` holds exactly the text that qa indexes (its readers' output), so
evidence copied from it is verbatim in the document as qa sees it. Writers of questions read
these files; the checker compares evidence with the same text.
"""

from __future__ import annotations

import sys
from pathlib import Path

from qa.errors import UnreadableDocumentError
from qa.sources.scan import read_document, scan_corpus


def document_texts(corpus: Path) -> dict[str, str]:
    """Document id → the text qa reads from it, for every readable file of ``corpus``."""
    sources, _ = scan_corpus(corpus)
    out = {}
    for source in sources:
        try:
            document, _ = read_document(source, {})
        except UnreadableDocumentError:
            continue
        out[source.id] = document.text
    return out


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    corpus, out = Path(argv[0]), Path(argv[1])
    texts = document_texts(corpus)
    for doc_id, text in texts.items():
        target = out / f"{doc_id}.txt"
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")
    print(f"{len(texts)} documents written under {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
