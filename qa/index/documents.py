"""The documents of a build (their text included) and its word vocabulary, in SQLite."""

from __future__ import annotations

import contextlib
import json
import sqlite3
from pathlib import Path
from typing import Any

from qa.records import Document, DocumentMeta

RECORDS_FILE = "records.sqlite"
SCHEMA = """
CREATE TABLE documents (
    row INTEGER PRIMARY KEY, id TEXT UNIQUE NOT NULL, title TEXT NOT NULL, authors TEXT NOT NULL,
    date TEXT, url TEXT, sha256 TEXT NOT NULL, text TEXT NOT NULL, page_starts TEXT NOT NULL, kind TEXT
);
CREATE TABLE words (row INTEGER PRIMARY KEY, word TEXT UNIQUE NOT NULL);
"""


class RecordsWriter:
    """Writes the documents and the vocabulary of a new build."""

    def __init__(self, path: Path) -> None:
        self.db = sqlite3.connect(path)
        self.db.executescript(SCHEMA)

    def add_document(self, row: int, doc: Document) -> None:
        """Insert one document row (its text included)."""
        self.db.execute(
            "INSERT INTO documents VALUES (?,?,?,?,?,?,?,?,?,?)",
            (row, doc.id, doc.meta.title, json.dumps(list(doc.meta.authors)), doc.meta.date,
             doc.meta.url, doc.sha256, doc.text, json.dumps(list(doc.page_starts)), doc.meta.kind),
        )

    def finish(self, vocabulary: list[str]) -> None:
        """Write the vocabulary and close the database."""
        self.db.executemany("INSERT INTO words VALUES (?,?)", list(enumerate(vocabulary)))
        self.db.commit()
        self.db.close()

    def close(self) -> None:
        """Close without finishing (an aborted build)."""
        with contextlib.suppress(sqlite3.Error):
            self.db.close()


def read_records(path: Path) -> tuple[list[Document], list[str]]:
    """The documents, in row order, and the vocabulary of a build's records database."""
    with contextlib.closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as db:
        documents = [_document(row) for row in db.execute(
            "SELECT id, title, authors, date, url, sha256, text, page_starts, kind FROM documents ORDER BY row"
        )]
        vocabulary = [w for (w,) in db.execute("SELECT word FROM words ORDER BY row")]
    return documents, vocabulary


def _document(row: tuple[Any, ...]) -> Document:
    doc_id, title, authors, date, url, sha256, text, page_starts, kind = row
    return Document(
        id=doc_id,
        text=text,
        meta=DocumentMeta(title=title, authors=tuple(json.loads(authors)), date=date, url=url, kind=kind),
        sha256=sha256,
        page_starts=tuple(json.loads(page_starts)),
    )
