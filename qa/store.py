"""The index on disk: plainly named files and a versioned manifest, never pickle.

Layout of the index directory::

    index/
      CURRENT                 name of the live build (replaced atomically)
      .lock                   held while a build runs
      build-<time>-<id>/
        manifest.json         format version, model, dimension, parameters, per-document hashes
        records.sqlite        documents (with their text), sentences, passages and entities
        sentences.faiss       one vector per sentence row
        passages.faiss        one vector per passage row
        words.faiss           one vector per word of the vocabulary (the ``words`` table)

A build is written into a new ``build-…`` directory and becomes live when ``CURRENT`` is
replaced (``os.replace`` is atomic), so a crash mid-build leaves the previous index intact
and readers never see a half-written one. Vectors are unit length, so FAISS inner product
is cosine similarity.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import logging
import os
import shutil
import sqlite3
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from qa.errors import IndexBusyError, IndexCorruptError, IndexMismatchError, IndexMissingError
from qa.records import Document, DocumentMeta
from qa.threads import faiss_module

log = logging.getLogger("qa")

FORMAT = "qa-index"
FORMAT_VERSION = 3
CURRENT_FILE = "CURRENT"
LOCK_FILE = ".lock"

SCHEMA = """
CREATE TABLE documents (
    row INTEGER PRIMARY KEY, id TEXT UNIQUE NOT NULL, title TEXT NOT NULL, authors TEXT NOT NULL,
    date TEXT, url TEXT, sha256 TEXT NOT NULL, text TEXT NOT NULL, page_starts TEXT NOT NULL, kind TEXT
);
CREATE TABLE sentences (
    row INTEGER PRIMARY KEY, doc INTEGER NOT NULL, start INTEGER NOT NULL, "end" INTEGER NOT NULL,
    section TEXT, page INTEGER, role INTEGER NOT NULL
);
CREATE TABLE words (row INTEGER PRIMARY KEY, word TEXT UNIQUE NOT NULL);
CREATE TABLE entities (
    sentence INTEGER NOT NULL, start INTEGER NOT NULL, "end" INTEGER NOT NULL, label INTEGER NOT NULL
);
CREATE TABLE passages (
    row INTEGER PRIMARY KEY, doc INTEGER NOT NULL, start INTEGER NOT NULL, "end" INTEGER NOT NULL,
    first INTEGER NOT NULL, last INTEGER NOT NULL, section TEXT, page INTEGER
);
"""


@dataclass(frozen=True)
class Manifest:
    """What an index was built from and with."""

    model: str
    dimension: int
    chunking: dict[str, int]
    documents: dict[str, dict[str, Any]]
    tagger: str = ""  # the entity tagger and its version
    skipped: dict[str, str] = field(default_factory=dict)
    counts: dict[str, int] = field(default_factory=dict)
    created: str = ""
    format: str = FORMAT
    format_version: int = FORMAT_VERSION

    def to_json(self) -> str:
        """The manifest as written to ``manifest.json``."""
        return json.dumps(self.__dict__, indent=2, ensure_ascii=False)

    @classmethod
    def from_json(cls, text: str) -> Manifest:
        """Parse ``manifest.json``; raises ``IndexCorruptError`` if it is not one."""
        try:
            data = json.loads(text)
            return cls(**data)
        except (ValueError, TypeError) as exc:
            raise IndexCorruptError(f"manifest.json is unreadable ({exc})") from exc


@dataclass
class Columns:
    """Sentence or passage records as parallel columns, row i = FAISS vector i."""

    doc: np.ndarray
    start: np.ndarray
    end: np.ndarray
    section: list[str | None]
    page: list[int | None]
    first: np.ndarray | None = None  # passages only: first/last sentence row (inclusive)
    last: np.ndarray | None = None
    role: np.ndarray | None = None  # sentences only: BODY, FURNITURE or FRONT (qa.records)

    def __len__(self) -> int:
        return len(self.doc)


@dataclass
class EntityColumns:
    """Entity spans as parallel columns sorted by sentence; those of sentence ``i`` are rows
    ``ptr[i]:ptr[i + 1]``. Offsets are into the document text; ``label`` codes index
    ``qa.entities.LABELS``."""

    sentence: np.ndarray
    start: np.ndarray
    end: np.ndarray
    label: np.ndarray
    ptr: np.ndarray

    def of(self, sentence: int) -> range:
        """The entity rows of one sentence row."""
        return range(int(self.ptr[sentence]), int(self.ptr[sentence + 1]))


@dataclass
class StoredIndex:
    """A loaded build: manifest, records and FAISS indexes."""

    path: Path
    manifest: Manifest
    documents: list[Document]
    doc_rows: dict[str, int]
    sentences: Columns
    passages: Columns
    entities: EntityColumns
    vocabulary: list[str]
    sentence_index: Any
    passage_index: Any
    word_index: Any


def rebuild_hint(index_dir: Path) -> str:
    """The command that rebuilds the index, for error messages."""
    return f"run `qa index --full --index {index_dir}`"


def current_build(index_dir: Path) -> Path:
    """The directory of the live build; raises ``IndexMissingError`` if there is none."""
    pointer = index_dir / CURRENT_FILE
    try:
        name = pointer.read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        raise IndexMissingError(
            f"no index in {index_dir}: run `qa index` to build it from the corpus"
        ) from None
    build = index_dir / name
    if not name or "/" in name or not build.is_dir():
        raise IndexCorruptError(
            f"{pointer} names a missing build {name!r}; {rebuild_hint(index_dir)}"
        )
    return build


def read_manifest(build: Path) -> Manifest:
    """The manifest of one build directory."""
    try:
        return Manifest.from_json((build / "manifest.json").read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise IndexCorruptError(f"{build} has no manifest.json") from None


def check_compatible(manifest: Manifest, model: str, index_dir: Path) -> None:
    """Raise ``IndexMismatchError`` unless the index matches this format and model."""
    if manifest.format != FORMAT or manifest.format_version != FORMAT_VERSION:
        raise IndexMismatchError(
            f"the index in {index_dir} has format {manifest.format} v{manifest.format_version}, "
            f"this qa reads {FORMAT} v{FORMAT_VERSION}; {rebuild_hint(index_dir)}"
        )
    if manifest.model != model:
        raise IndexMismatchError(
            f"the index in {index_dir} was built with model {manifest.model!r}, but the "
            f"configured model is {model!r}; {rebuild_hint(index_dir)} "
            "(or set QA_MODEL back)"
        )


def load_index(index_dir: Path, model: str) -> StoredIndex:
    """Load the live build, checking that it was built with ``model``."""
    faiss = faiss_module()

    build = current_build(index_dir)
    manifest = read_manifest(build)
    check_compatible(manifest, model, index_dir)
    try:
        with contextlib.closing(sqlite3.connect(f"file:{build / 'records.sqlite'}?mode=ro", uri=True)) as db:
            documents = [_document(row) for row in db.execute(
                "SELECT id, title, authors, date, url, sha256, text, page_starts, kind FROM documents ORDER BY row"
            )]
            sentences = _columns(db.execute(
                'SELECT doc, start, "end", section, page, role FROM sentences ORDER BY row').fetchall(), False)
            passages = _columns(db.execute(
                'SELECT doc, start, "end", section, page, first, last FROM passages ORDER BY row').fetchall(), True)
            entities = _entities(db.execute(
                'SELECT sentence, start, "end", label FROM entities ORDER BY sentence, start').fetchall(),
                len(sentences))
            vocabulary = [w for (w,) in db.execute("SELECT word FROM words ORDER BY row")]
        sentence_index = faiss.read_index(str(build / "sentences.faiss"))
        passage_index = faiss.read_index(str(build / "passages.faiss"))
        word_index = faiss.read_index(str(build / "words.faiss"))
    except (sqlite3.Error, RuntimeError, ValueError, json.JSONDecodeError) as exc:
        raise IndexCorruptError(f"the index in {build} is damaged ({exc}); {rebuild_hint(index_dir)}") from exc
    if (sentence_index.ntotal != len(sentences) or passage_index.ntotal != len(passages)
            or word_index.ntotal != len(vocabulary)):
        raise IndexCorruptError(
            f"the index in {build} is inconsistent ({sentence_index.ntotal} sentence vectors for "
            f"{len(sentences)} sentences); {rebuild_hint(index_dir)}"
        )
    if sentence_index.d != manifest.dimension:
        raise IndexCorruptError(f"the index in {build} has vectors of the wrong size; {rebuild_hint(index_dir)}")
    return StoredIndex(
        path=build,
        manifest=manifest,
        documents=documents,
        doc_rows={doc.id: i for i, doc in enumerate(documents)},
        sentences=sentences,
        passages=passages,
        entities=entities,
        vocabulary=vocabulary,
        sentence_index=sentence_index,
        passage_index=passage_index,
        word_index=word_index,
    )


def vectors_of(index: Any) -> np.ndarray:
    """The vectors of a flat FAISS index as a read-only ``(n, d)`` array, without copying."""
    faiss = faiss_module()

    n, d = index.ntotal, index.d
    if n == 0:
        return np.zeros((0, d), dtype=np.float32)
    flat = faiss.rev_swig_ptr(faiss.downcast_index(index).get_xb(), n * d)
    view = np.asarray(flat).reshape(n, d)
    view.flags.writeable = False
    return view


def _document(row: tuple[Any, ...]) -> Document:
    doc_id, title, authors, date, url, sha256, text, page_starts, kind = row
    return Document(
        id=doc_id,
        text=text,
        meta=DocumentMeta(title=title, authors=tuple(json.loads(authors)), date=date, url=url, kind=kind),
        sha256=sha256,
        page_starts=tuple(json.loads(page_starts)),
    )


def _columns(rows: list[tuple[Any, ...]], passages: bool) -> Columns:
    """Sentence rows (6 fields, the last the role) or passage rows (7, the last two a range);
    an empty table gives empty columns of the right kind."""
    cols = list(zip(*rows)) if rows else [()] * 7
    return Columns(
        doc=np.asarray(cols[0], dtype=np.int32),
        start=np.asarray(cols[1], dtype=np.int64),
        end=np.asarray(cols[2], dtype=np.int64),
        section=list(cols[3]),
        page=list(cols[4]),
        first=np.asarray(cols[5], dtype=np.int64) if passages else None,
        last=np.asarray(cols[6], dtype=np.int64) if passages else None,
        role=None if passages else np.asarray(cols[5], dtype=np.int8),
    )


def _entities(rows: list[tuple[Any, ...]], n_sentences: int) -> EntityColumns:
    cols = list(zip(*rows)) if rows else [()] * 4
    sentence = np.asarray(cols[0], dtype=np.int64)
    return EntityColumns(
        sentence=sentence,
        start=np.asarray(cols[1], dtype=np.int64),
        end=np.asarray(cols[2], dtype=np.int64),
        label=np.asarray(cols[3], dtype=np.int8),
        ptr=np.searchsorted(sentence, np.arange(n_sentences + 1), side="left").astype(np.int64),
    )


class BuildWriter:
    """Writes a new build directory; ``commit()`` makes it the live index."""

    def __init__(self, index_dir: Path) -> None:
        self.index_dir = index_dir
        stamp = time.strftime("%Y%m%dT%H%M%S", time.gmtime())
        self.name = f"build-{stamp}-{uuid.uuid4().hex[:8]}"
        self.path = index_dir / self.name
        self.path.mkdir(parents=True)
        self.db = sqlite3.connect(self.path / "records.sqlite")
        self.db.executescript(SCHEMA)

    def add_document(self, row: int, doc: Document) -> None:
        """Insert one document row (its text included)."""
        self.db.execute(
            "INSERT INTO documents VALUES (?,?,?,?,?,?,?,?,?,?)",
            (row, doc.id, doc.meta.title, json.dumps(list(doc.meta.authors)), doc.meta.date,
             doc.meta.url, doc.sha256, doc.text, json.dumps(list(doc.page_starts)), doc.meta.kind),
        )

    def add_rows(self, table: str, rows: list[tuple[Any, ...]]) -> None:
        """Bulk-insert sentence or passage rows."""
        marks = ",".join("?" * len(rows[0])) if rows else ""
        if rows:
            self.db.executemany(f"INSERT INTO {table} VALUES ({marks})", rows)

    def commit(self, manifest: Manifest, sentence_vectors: np.ndarray, passage_vectors: np.ndarray,
               vocabulary: list[str], word_vectors: np.ndarray) -> None:
        """Write vectors and manifest, flush everything to disk, then swap ``CURRENT``."""
        faiss = faiss_module()

        self.db.executemany("INSERT INTO words VALUES (?,?)", list(enumerate(vocabulary)))
        self.db.commit()
        self.db.close()
        for name, vectors in (("sentences", sentence_vectors), ("passages", passage_vectors),
                              ("words", word_vectors)):
            index = faiss.IndexFlatIP(manifest.dimension)  # inner product of unit vectors = cosine
            if len(vectors):
                index.add(np.ascontiguousarray(vectors, dtype=np.float32))
            faiss.write_index(index, str(self.path / f"{name}.faiss"))
        (self.path / "manifest.json").write_text(manifest.to_json(), encoding="utf-8")
        for file in self.path.iterdir():
            _fsync(file)
        _fsync(self.path)
        previous = _pointer(self.index_dir)
        pointer_tmp = self.index_dir / f".{CURRENT_FILE}.{self.name}"
        pointer_tmp.write_text(self.name + "\n", encoding="utf-8")
        _fsync(pointer_tmp)
        os.replace(pointer_tmp, self.index_dir / CURRENT_FILE)
        _fsync(self.index_dir)
        remove_stale_builds(self.index_dir, keep={self.name, previous or self.name})

    def abort(self) -> None:
        """Remove the unfinished build."""
        with contextlib.suppress(sqlite3.Error):
            self.db.close()
        shutil.rmtree(self.path, ignore_errors=True)


def remove_stale_builds(index_dir: Path, keep: set[str]) -> None:
    """Delete every build but those named in ``keep``, and stray pointer files.

    ``commit`` keeps the new build and the one it replaced, so that a server still loading
    the replaced one finishes in peace. Call only while holding the build lock.
    """
    for build in index_dir.glob("build-*"):
        if build.is_dir() and build.name not in keep:
            shutil.rmtree(build, ignore_errors=True)
    for tmp in index_dir.glob(f".{CURRENT_FILE}.*"):
        tmp.unlink(missing_ok=True)


def remove_leftovers(index_dir: Path) -> list[str]:
    """Delete what a crashed or killed build left behind; return the build names removed.

    Builds run one at a time under the lock, so any build directory that is not live and is
    newer than the live one (or has no manifest) was being written when its build died.
    The build the live one replaced is older, and is kept. Call only while holding the lock.
    """
    live = _pointer(index_dir)
    live_path = index_dir / live if live else None
    live_mtime = live_path.stat().st_mtime if live_path and live_path.is_dir() else None
    removed = []
    for build in index_dir.glob("build-*"):
        if not build.is_dir() or build.name == live:
            continue
        unfinished = not (build / "manifest.json").exists()
        if unfinished or live_mtime is None or build.stat().st_mtime >= live_mtime:
            shutil.rmtree(build, ignore_errors=True)
            removed.append(build.name)
    for tmp in index_dir.glob(f".{CURRENT_FILE}.*"):
        tmp.unlink(missing_ok=True)
    return sorted(removed)


def _pointer(index_dir: Path) -> str | None:
    """The name in ``CURRENT``, or None when there is none."""
    try:
        name = (index_dir / CURRENT_FILE).read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        return None
    return name or None


@contextlib.contextmanager
def build_lock(index_dir: Path, wait: bool = True) -> Iterator[None]:
    """Hold the index directory's build lock; one build at a time.

    With ``wait`` the caller blocks until another build finishes, otherwise
    ``IndexBusyError`` is raised at once.
    """
    index_dir.mkdir(parents=True, exist_ok=True)
    with open(index_dir / LOCK_FILE, "a+") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            if not wait:
                raise IndexBusyError(
                    f"another build of {index_dir} is running (`qa index` or an admin reindex); "
                    "wait for it to finish, or run without --no-wait to queue behind it"
                ) from None
            log.warning("qa: another build of %s is running; waiting for it to finish", index_dir)
            fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
