"""Citation metadata: the user-editable ``metadata.toml`` beside the documents.

Each table is keyed by a document id (its path relative to the corpus)::

    ["reports/rivers-2021.pdf"]
    title = "Sediment Transport in the Lower Nile"
    authors = ["Ann Lee", "Omar Haddad"]
    date = "2021"
    url = "https://example.org/rivers-2021"
    kind = "journal article"

``kind`` says what sort of source it is ("blog post", "journal article", "news summary"),
so that a question about "the blog" prefers the blog. Anything missing falls back to what
the source file says (an HTML title, PDF metadata), and the title finally to the file name.
"""

from __future__ import annotations

import tomllib
from pathlib import Path, PurePosixPath
from typing import Any

from qa.errors import QAError
from qa.records import DocumentMeta
from qa.sources.readers import SourceText

METADATA_FILE = "metadata.toml"


def load_metadata(corpus_dir: Path) -> dict[str, dict[str, Any]]:
    """Read ``corpus_dir/metadata.toml``; an absent file means no metadata."""
    path = corpus_dir / METADATA_FILE
    if not path.exists():
        return {}
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise QAError(f"{path}: invalid TOML ({exc}); fix or delete the file") from exc
    return {key: value for key, value in data.items() if isinstance(value, dict)}


def document_meta(document_id: str, source: SourceText, entry: dict[str, Any]) -> DocumentMeta:
    """Merge one metadata entry with the source's own hints into a ``DocumentMeta``.

    >>> document_meta("notes/a_b.txt", SourceText(text="x"), {}).title
    'a b'
    """
    authors = entry.get("authors", source.authors)
    if isinstance(authors, str):
        authors = [authors]
    title = entry.get("title") or source.title or PurePosixPath(document_id).stem.replace("_", " ")
    return DocumentMeta(
        title=str(title).strip(),
        authors=tuple(str(a) for a in authors),
        date=_optional_str(entry.get("date", source.date)),
        url=_optional_str(entry.get("url")),
        kind=_optional_str(entry.get("kind")),
    )


def _optional_str(value: object) -> str | None:
    return None if value in (None, "") else str(value)
