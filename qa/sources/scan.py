"""Sources: find the files of a corpus directory and read them into ``Document`` records.

Only files inside the corpus directory are read: hidden files, symlinks that leave the
directory and files without a reader are not sources.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from qa.errors import QAError, UnreadableDocumentError
from qa.records import Document, Skip, SkipCode
from qa.sources.metadata import METADATA_FILE, document_meta
from qa.sources.readers import SourceText, read_source, supported_suffixes

log = logging.getLogger("qa")

MAX_SOURCE_BYTES = 100 * 1024 * 1024


@dataclass(frozen=True)
class SourceFile:
    """A file of the corpus: its document id, path and content hash."""

    id: str
    path: Path
    sha256: str
    size: int


def scan_corpus(corpus_dir: Path) -> tuple[list[SourceFile], dict[str, Skip]]:
    """Files with a reader under ``corpus_dir``, sorted by id, and those skipped with why.

    Document ids are paths relative to the corpus with ``/`` separators.
    """
    if not corpus_dir.is_dir():
        raise QAError(f"corpus directory {corpus_dir} does not exist; create it or set QA_CORPUS_DIR")
    root = corpus_dir.resolve()
    suffixes = set(supported_suffixes())
    sources: list[SourceFile] = []
    skipped: dict[str, Skip] = {}
    inside: dict[Path, bool] = {}  # per folder: does it resolve to a place inside the corpus?
    for path in sorted(corpus_dir.rglob("*")):
        rel = path.relative_to(corpus_dir)
        doc_id = rel.as_posix()
        if any(part.startswith(".") for part in rel.parts) or not path.is_file():
            continue
        if doc_id == METADATA_FILE or path.suffix.lower() not in suffixes:
            continue
        if path.parent not in inside:
            inside[path.parent] = path.parent.resolve().is_relative_to(root)
        if not inside[path.parent] or (path.is_symlink() and not path.resolve().is_relative_to(root)):
            skipped[doc_id] = Skip(SkipCode.OUTSIDE_CORPUS, "links outside the corpus directory")
            continue
        size = path.stat().st_size
        if size == 0:
            skipped[doc_id] = Skip(SkipCode.EMPTY, "the file is empty")
            continue
        if size > MAX_SOURCE_BYTES:
            skipped[doc_id] = Skip(SkipCode.TOO_LARGE,
                                   f"too large ({size / 1e6:.3g} MB; the limit is {MAX_SOURCE_BYTES / 1e6:.3g} MB)")
            continue
        try:
            digest = hashlib.sha256(path.read_bytes()).hexdigest()
        except OSError as exc:
            skipped[doc_id] = Skip(SkipCode.UNREADABLE, f"cannot read file ({exc.strerror})")
            continue
        sources.append(SourceFile(doc_id, path, digest, size))
    return sources, skipped


def read_document(source: SourceFile, metadata: dict[str, dict[str, Any]]) -> tuple[Document, SourceText]:
    """Read one source file into a ``Document`` (and what its reader found).

    Raises ``UnreadableDocumentError`` with the reason.
    """
    try:
        read = read_source(source.path)
    except UnreadableDocumentError as exc:
        raise UnreadableDocumentError(f"{source.id}: {exc}", exc.code) from exc
    except OSError as exc:
        raise UnreadableDocumentError(f"{source.id}: cannot read file ({exc.strerror})") from exc
    except ImportError:
        raise  # a missing dependency is a broken install, never a bad file
    except Exception as exc:  # a reader library failing on a strange file must not stop the build
        log.warning("qa: the reader failed on %s", source.id, exc_info=True)
        raise UnreadableDocumentError(
            f"{source.id}: the file could not be read ({type(exc).__name__}: {exc})", SkipCode.READER_FAILED
        ) from exc
    if not read.text.strip():
        raise UnreadableDocumentError(f"{source.id}: no text found", SkipCode.NO_TEXT)
    document = Document(
        id=source.id,
        text=read.text,
        meta=document_meta(source.id, read, metadata.get(source.id, {})),
        sha256=source.sha256,
        page_starts=read.page_starts,
    )
    return document, read
