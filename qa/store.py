"""The index on disk: plainly named files and a versioned manifest, never pickle.

Layout of the index directory::

    index/
      CURRENT                 name of the live build (replaced atomically)
      .lock                   held while a build runs
      build-<time>-<id>/
        manifest.json         format version, model, dimension, parameters, per-document hashes
        records.sqlite        documents (with their text) and the word vocabulary
        arrays/               sentence, passage and entity tables as NumPy columns, and what
                              retrieval derives from them (``qa.derived``): ``*.npy``, ``*.json``
        sentences.npy         one unit vector per sentence row (float32)
        passages.npy          one unit vector per passage row
        words.npy             one unit vector per word of the vocabulary
        sentences.faiss       the approximate (HNSW) search index, for large collections
        passages.faiss        only (``qa.ann``); small ones are searched exactly

Everything is computed by ``qa index``; loading memory-maps the arrays (several server
processes share one copy in the page cache) and does no per-sentence Python work.

A build is written into a new ``build-…`` directory and becomes live when ``CURRENT`` is
replaced (``os.replace`` is atomic), so a crash mid-build leaves the previous index intact
and readers never see a half-written one. Vectors are unit length, so FAISS inner product
is cosine similarity.
"""

from __future__ import annotations

import contextlib
import dataclasses
import fcntl
import json
import logging
import os
import shutil
import sqlite3
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

import numpy as np

from qa import ann
from qa.derived import Bm25Matrix, Derived, Ragged, word_counts
from qa.errors import IndexBusyError, IndexCorruptError, IndexMismatchError, IndexMissingError
from qa.records import Document, DocumentMeta

log = logging.getLogger("qa")

FORMAT = "qa-index"
FORMAT_VERSION = 4
CURRENT_FILE = "CURRENT"
LOCK_FILE = ".lock"
ARRAYS = "arrays"

SCHEMA = """
CREATE TABLE documents (
    row INTEGER PRIMARY KEY, id TEXT UNIQUE NOT NULL, title TEXT NOT NULL, authors TEXT NOT NULL,
    date TEXT, url TEXT, sha256 TEXT NOT NULL, text TEXT NOT NULL, page_starts TEXT NOT NULL, kind TEXT
);
CREATE TABLE words (row INTEGER PRIMARY KEY, word TEXT UNIQUE NOT NULL);
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
    search: dict[str, Any] = field(default_factory=dict)  # how vectors are searched (qa.ann)
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


@dataclass(frozen=True)
class Labels:
    """Optional strings per row, stored as ids into a table of names (-1: none)."""

    ids: np.ndarray
    names: tuple[str, ...]

    def __getitem__(self, row: int) -> str | None:
        i = int(self.ids[row])
        return self.names[i] if i >= 0 else None

    def __len__(self) -> int:
        return len(self.ids)

    def tolist(self) -> list[str | None]:
        """Every row's string."""
        return [self.names[i] if i >= 0 else None for i in self.ids.tolist()]


@dataclass(frozen=True)
class Pages:
    """Optional page numbers per row (0: none)."""

    numbers: np.ndarray

    def __getitem__(self, row: int) -> int | None:
        n = int(self.numbers[row])
        return n or None

    def __len__(self) -> int:
        return len(self.numbers)


@dataclass(frozen=True)
class SentenceTable:
    """Sentence records as columns; row i is vector i of ``sentences.npy``."""

    doc: np.ndarray
    start: np.ndarray
    end: np.ndarray
    section: Labels
    page: Pages
    role: np.ndarray  # BODY, FURNITURE or FRONT (qa.records)

    def __len__(self) -> int:
        return len(self.doc)


@dataclass(frozen=True)
class PassageTable:
    """Passage records as columns; row i is vector i of ``passages.npy``. A passage holds
    the sentence rows ``first`` to ``last`` (inclusive)."""

    doc: np.ndarray
    start: np.ndarray
    end: np.ndarray
    first: np.ndarray
    last: np.ndarray
    section: Labels
    page: Pages

    def __len__(self) -> int:
        return len(self.doc)


@dataclass(frozen=True)
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


def entity_columns(sentence: np.ndarray, start: np.ndarray, end: np.ndarray, label: np.ndarray,
                   n_sentences: int) -> EntityColumns:
    """Entity columns (already sorted by sentence) with their per-sentence pointer."""
    sentence = np.asarray(sentence, dtype=np.int64)
    return EntityColumns(sentence, np.asarray(start, dtype=np.int64), np.asarray(end, dtype=np.int64),
                         np.asarray(label, dtype=np.int8),
                         np.searchsorted(sentence, np.arange(n_sentences + 1), side="left").astype(np.int64))


@dataclass(frozen=True)
class Tables:
    """The records of a build besides the documents."""

    sentences: SentenceTable
    passages: PassageTable
    entities: EntityColumns
    sections: tuple[str, ...]  # the names both tables' ``section`` ids index


@dataclass
class StoredIndex:
    """A loaded build: manifest, records, derived arrays, vectors and search indexes."""

    path: Path
    manifest: Manifest
    documents: list[Document]
    doc_rows: dict[str, int]
    sentences: SentenceTable
    passages: PassageTable
    entities: EntityColumns
    vocabulary: list[str]
    derived: Derived
    sentence_vectors: np.ndarray
    passage_vectors: np.ndarray
    word_vectors: np.ndarray
    sentence_index: ann.Searcher
    passage_index: ann.Searcher


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
    build = current_build(index_dir)
    manifest = read_manifest(build)
    check_compatible(manifest, model, index_dir)
    try:
        with contextlib.closing(sqlite3.connect(f"file:{build / 'records.sqlite'}?mode=ro", uri=True)) as db:
            documents = [_document(row) for row in db.execute(
                "SELECT id, title, authors, date, url, sha256, text, page_starts, kind FROM documents ORDER BY row"
            )]
            vocabulary = [w for (w,) in db.execute("SELECT word FROM words ORDER BY row")]
        tables = read_tables(build / ARRAYS)
        derived = read_derived(build / ARRAYS)
        if derived.word_counts is None:
            s = tables.sentences
            derived = dataclasses.replace(derived, word_counts=word_counts([d.text for d in documents], s.doc,
                                                                           s.start, s.end))
        vectors = {name: _load(build / f"{name}.npy") for name in ("sentences", "passages", "words")}
        searchers = {name: ann.open_index(build, name, vectors[name], manifest.search.get(name, {}))
                     for name in ("sentences", "passages")}
    except (sqlite3.Error, RuntimeError, ValueError, OSError, KeyError, json.JSONDecodeError) as exc:
        raise IndexCorruptError(f"the index in {build} is damaged ({exc}); {rebuild_hint(index_dir)}") from exc
    n_sentences, n_passages = len(tables.sentences), len(tables.passages)
    if (len(vectors["sentences"]) != n_sentences or len(vectors["passages"]) != n_passages
            or len(vectors["words"]) != len(vocabulary) or len(derived.sentence_terms) != n_sentences
            or len(derived.passage_terms) != n_passages or not searchers["sentences"].covers(n_sentences)
            or not searchers["passages"].covers(n_passages)):
        raise IndexCorruptError(
            f"the index in {build} is inconsistent ({len(vectors['sentences'])} sentence vectors for "
            f"{n_sentences} sentences); {rebuild_hint(index_dir)}"
        )
    if vectors["sentences"].shape[1] != manifest.dimension:
        raise IndexCorruptError(f"the index in {build} has vectors of the wrong size; {rebuild_hint(index_dir)}")
    return StoredIndex(
        path=build,
        manifest=manifest,
        documents=documents,
        doc_rows={doc.id: i for i, doc in enumerate(documents)},
        sentences=tables.sentences,
        passages=tables.passages,
        entities=tables.entities,
        vocabulary=vocabulary,
        derived=derived,
        sentence_vectors=vectors["sentences"],
        passage_vectors=vectors["passages"],
        word_vectors=vectors["words"],
        sentence_index=searchers["sentences"],
        passage_index=searchers["passages"],
    )


def _load(path: Path) -> np.ndarray:
    """One stored array, memory-mapped read-only (never unpickled), as a plain ndarray view
    (``np.memmap``'s own indexing is several times slower per element)."""
    return np.load(path, mmap_mode="r", allow_pickle=False).view(np.ndarray)


def _save(path: Path, array: np.ndarray) -> None:
    np.save(path, np.ascontiguousarray(array), allow_pickle=False)


_SENTENCE_COLUMNS = ("doc", "start", "end", "section", "page", "role")
_PASSAGE_COLUMNS = ("doc", "start", "end", "first", "last", "section", "page")
_ENTITY_COLUMNS = ("sentence", "start", "end", "label")


def write_tables(folder: Path, tables: Tables) -> None:
    """Store the sentence, passage and entity tables as ``.npy`` columns."""
    folder.mkdir(exist_ok=True)
    for prefix, table, columns in (("sentences", tables.sentences, _SENTENCE_COLUMNS),
                                   ("passages", tables.passages, _PASSAGE_COLUMNS),
                                   ("entities", tables.entities, _ENTITY_COLUMNS)):
        for column in columns:
            value = getattr(table, column)
            value = value.ids if isinstance(value, Labels) else value.numbers if isinstance(value, Pages) else value
            _save(folder / f"{prefix}.{column}.npy", value)
    (folder / "sections.json").write_text(json.dumps(list(tables.sections), ensure_ascii=False), encoding="utf-8")


def read_tables(folder: Path) -> Tables:
    """The tables ``write_tables`` stored, memory-mapped."""
    sections = tuple(json.loads((folder / "sections.json").read_text(encoding="utf-8")))

    def columns(prefix: str, names: tuple[str, ...]) -> dict[str, Any]:
        out: dict[str, Any] = {name: _load(folder / f"{prefix}.{name}.npy") for name in names}
        if len({len(column) for column in out.values()}) > 1:
            raise ValueError(f"the {prefix} columns differ in length")
        if "section" in out:
            out["section"], out["page"] = Labels(out["section"], sections), Pages(out["page"])
        return out

    sentences = SentenceTable(**columns("sentences", _SENTENCE_COLUMNS))
    e = columns("entities", _ENTITY_COLUMNS)
    return Tables(sentences, PassageTable(**columns("passages", _PASSAGE_COLUMNS)),
                  entity_columns(e["sentence"], e["start"], e["end"], e["label"], len(sentences)), sections)


def write_derived(folder: Path, derived: Derived) -> None:
    """Store ``derived`` as ``.npy`` arrays and the term list as JSON."""
    folder.mkdir(exist_ok=True)
    for name in Derived.RAGGED:
        ragged: Ragged = getattr(derived, name)
        _save(folder / f"{name}.ptr.npy", ragged.ptr)
        _save(folder / f"{name}.values.npy", ragged.values)
    for name in Derived.ARRAYS:
        _save(folder / f"{name}.npy", getattr(derived, name))
    for name in ("passage_bm25", "sentence_bm25"):
        matrix: Bm25Matrix = getattr(derived, name)
        for part in ("data", "indices", "indptr"):
            _save(folder / f"{name}.{part}.npy", getattr(matrix, part))
    (folder / "terms.json").write_text(json.dumps(derived.terms, ensure_ascii=False), encoding="utf-8")


def read_derived(folder: Path) -> Derived:
    """What ``write_derived`` stored, memory-mapped."""
    values: dict[str, Any] = {"terms": json.loads((folder / "terms.json").read_text(encoding="utf-8"))}
    for name in Derived.RAGGED:
        values[name] = Ragged(_load(folder / f"{name}.ptr.npy"), _load(folder / f"{name}.values.npy"))
    for name in Derived.ARRAYS:
        if name == "word_counts" and not (folder / f"{name}.npy").exists():
            values[name] = None  # a build from before it was stored: load_index counts them
            continue
        values[name] = _load(folder / f"{name}.npy")
    rows = {"passage_bm25": len(values["passage_terms"]), "sentence_bm25": len(values["sentence_terms"])}
    for name, n in rows.items():
        data, indices, indptr = (_load(folder / f"{name}.{part}.npy") for part in ("data", "indices", "indptr"))
        values[name] = Bm25Matrix(data, indices, indptr, n)
    assert {f.name for f in fields(Derived)} == set(values)
    return Derived(**values)


def _document(row: tuple[Any, ...]) -> Document:
    doc_id, title, authors, date, url, sha256, text, page_starts, kind = row
    return Document(
        id=doc_id,
        text=text,
        meta=DocumentMeta(title=title, authors=tuple(json.loads(authors)), date=date, url=url, kind=kind),
        sha256=sha256,
        page_starts=tuple(json.loads(page_starts)),
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

    def commit(self, manifest: Manifest, tables: Tables, derived: Derived, vectors: dict[str, np.ndarray],
               vocabulary: list[str], ann_threshold: int = ann.ANN_THRESHOLD,
               previous: dict[str, ann.Previous] | None = None) -> Manifest:
        """Write tables, derived arrays, vectors, search indexes and the manifest, flush
        everything to disk, then swap ``CURRENT``. ``vectors`` holds "sentences",
        "passages" and "words"; from ``ann_threshold`` vectors on, search is approximate
        (``qa.ann``), growing the graphs of ``previous`` where they can be."""
        self.db.executemany("INSERT INTO words VALUES (?,?)", list(enumerate(vocabulary)))
        self.db.commit()
        self.db.close()
        write_tables(self.path / ARRAYS, tables)
        write_derived(self.path / ARRAYS, derived)
        search: dict[str, Any] = {}
        for name, array in vectors.items():
            _save(self.path / f"{name}.npy", np.asarray(array, dtype=np.float32).reshape(-1, manifest.dimension))
            if name != "words":
                search[name] = ann.write_index(self.path, name, array, ann_threshold,
                                               (previous or {}).get(name))
        manifest = Manifest(**{**manifest.__dict__, "search": search})
        (self.path / "manifest.json").write_text(manifest.to_json(), encoding="utf-8")
        for file in [*self.path.iterdir(), *(self.path / ARRAYS).iterdir()]:
            _fsync(file)
        _fsync(self.path / ARRAYS)
        _fsync(self.path)
        old = live_pointer(self.index_dir)
        pointer_tmp = self.index_dir / f".{CURRENT_FILE}.{self.name}"
        pointer_tmp.write_text(self.name + "\n", encoding="utf-8")
        _fsync(pointer_tmp)
        os.replace(pointer_tmp, self.index_dir / CURRENT_FILE)
        _fsync(self.index_dir)
        remove_stale_builds(self.index_dir, keep={self.name, old or self.name})
        return manifest

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
    live = live_pointer(index_dir)
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


def read_pointer(index_dir: Path) -> str | None:
    """What ``CURRENT`` says (stripped; "" for an empty file), or None when there is no file."""
    try:
        return (index_dir / CURRENT_FILE).read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        return None


def live_pointer(index_dir: Path) -> str | None:
    """The name in ``CURRENT``, or None when there is none."""
    return read_pointer(index_dir) or None


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


def build_running(index_dir: Path) -> bool:
    """Whether some process holds the build lock of ``index_dir`` now."""
    lock = index_dir / LOCK_FILE
    if not lock.exists():
        return False
    with open(lock, "a+") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return True
        fcntl.flock(handle, fcntl.LOCK_UN)
        return False


LAST_BUILD_FILE = ".last-build.json"


def write_last_build(index_dir: Path, record: dict[str, Any]) -> None:
    """Record the outcome of an admin build where every server process can read it."""
    tmp = index_dir / f"{LAST_BUILD_FILE}.{os.getpid()}.tmp"
    tmp.write_text(json.dumps(record, ensure_ascii=False), encoding="utf-8")
    os.replace(tmp, index_dir / LAST_BUILD_FILE)


def read_last_build(index_dir: Path) -> dict[str, Any] | None:
    """What ``write_last_build`` recorded last, if anything (a damaged record reads as none)."""
    try:
        record = json.loads((index_dir / LAST_BUILD_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return record if isinstance(record, dict) else None


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
