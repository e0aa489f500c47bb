"""The life of builds in an index directory: writing one, making it live, the lock that keeps
builds one at a time, and cleaning up after crashed ones.

Layout of the index directory::

    index/
      CURRENT                 name of the live build (replaced atomically)
      .lock                   held while a build runs
      .last-build.json        the outcome of the last background (admin) build
      build-<time>-<id>/
        manifest.json         format version, model, dimension, parameters, per-document hashes
                              (``qa.index.manifest``)
        records.sqlite        documents (with their text) and the word vocabulary
                              (``qa.index.documents``)
        arrays/               sentence, passage and entity tables as NumPy columns, and what
                              retrieval derives from them (``qa.index.tables``)
        sentences.npy         one unit vector per sentence row (float32)
        passages.npy          one unit vector per passage row
        words.npy             one unit vector per word of the vocabulary
        sentences.faiss       the approximate (HNSW) search graphs, for large collections
        passages.faiss        only (``qa.index.ann``); small ones are searched exactly

A build is written into a new ``build-…`` directory and becomes live when ``CURRENT`` is
replaced (``os.replace`` is atomic), so a crash mid-build leaves the previous index intact
and readers never see a half-written one.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import shutil
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
from filelock import FileLock, Timeout

from qa.config import ANN_THRESHOLD
from qa.errors import IndexBusyError, IndexCorruptError, IndexMissingError
from qa.index import ann
from qa.index.derived import Derived
from qa.index.documents import RECORDS_FILE, RecordsWriter
from qa.index.manifest import Manifest, rebuild_hint
from qa.index.tables import ARRAYS, Tables, save_array, write_derived, write_tables
from qa.records import Document

log = logging.getLogger("qa")

CURRENT_FILE = "CURRENT"
LOCK_FILE = ".lock"
LAST_BUILD_FILE = ".last-build.json"


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


def read_pointer(index_dir: Path) -> str | None:
    """What ``CURRENT`` says (stripped; "" for an empty file), or None when there is no file."""
    try:
        return (index_dir / CURRENT_FILE).read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        return None


def live_pointer(index_dir: Path) -> str | None:
    """The name in ``CURRENT``, or None when there is none."""
    return read_pointer(index_dir) or None


class BuildWriter:
    """Writes a new build directory; ``commit()`` makes it the live index."""

    def __init__(self, index_dir: Path) -> None:
        self.index_dir = index_dir
        stamp = time.strftime("%Y%m%dT%H%M%S", time.gmtime())
        self.name = f"build-{stamp}-{uuid.uuid4().hex[:8]}"
        self.path = index_dir / self.name
        self.path.mkdir(parents=True)
        self.records = RecordsWriter(self.path / RECORDS_FILE)

    def add_document(self, row: int, doc: Document) -> None:
        """Insert one document row (its text included)."""
        self.records.add_document(row, doc)

    def commit(self, manifest: Manifest, tables: Tables, derived: Derived, vectors: dict[str, np.ndarray],
               vocabulary: list[str], ann_threshold: int = ANN_THRESHOLD,
               previous: dict[str, ann.Previous] | None = None) -> Manifest:
        """Write tables, derived arrays, vectors, search indexes and the manifest, flush
        everything to disk, then swap ``CURRENT``. ``vectors`` holds "sentences",
        "passages" and "words"; from ``ann_threshold`` vectors on, search is approximate
        (``qa.index.ann``), growing the graphs of ``previous`` where they can be."""
        self.records.finish(vocabulary)
        write_tables(self.path / ARRAYS, tables)
        write_derived(self.path / ARRAYS, derived)
        search: dict[str, Any] = {}
        for name, array in vectors.items():
            save_array(self.path / f"{name}.npy", np.asarray(array, dtype=np.float32).reshape(-1, manifest.dimension))
            if name != "words":
                search[name] = ann.write_index(self.path, name, array, ann_threshold,
                                               (previous or {}).get(name))
        manifest = Manifest(**{**manifest.__dict__, "search": search})
        (self.path / "manifest.json").write_text(manifest.to_json(), encoding="utf-8")
        for file in [*self.path.iterdir(), *(self.path / ARRAYS).iterdir()]:
            fsync(file)
        fsync(self.path / ARRAYS)
        fsync(self.path)
        old = live_pointer(self.index_dir)
        pointer_tmp = self.index_dir / f".{CURRENT_FILE}.{self.name}"
        pointer_tmp.write_text(self.name + "\n", encoding="utf-8")
        fsync(pointer_tmp)
        os.replace(pointer_tmp, self.index_dir / CURRENT_FILE)
        fsync(self.index_dir)
        remove_stale_builds(self.index_dir, keep={self.name, old or self.name})
        return manifest

    def abort(self) -> None:
        """Remove the unfinished build."""
        self.records.close()
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


def _lock(index_dir: Path) -> FileLock:
    return FileLock(index_dir / LOCK_FILE, thread_local=False)


@contextlib.contextmanager
def build_lock(index_dir: Path, wait: bool = True) -> Iterator[None]:
    """Hold the index directory's build lock (``filelock``); one build at a time, across
    processes and threads.

    With ``wait`` the caller blocks until another build finishes, otherwise
    ``IndexBusyError`` is raised at once.
    """
    index_dir.mkdir(parents=True, exist_ok=True)
    lock = _lock(index_dir)
    try:
        lock.acquire(timeout=0)
    except Timeout:
        if not wait:
            raise IndexBusyError(
                f"another build of {index_dir} is running (`qa index` or an admin reindex); "
                "wait for it to finish, or run without --no-wait to queue behind it"
            ) from None
        log.warning("qa: another build of %s is running; waiting for it to finish", index_dir)
        lock.acquire()
    try:
        yield
    finally:
        lock.release()


def build_running(index_dir: Path) -> bool:
    """Whether some process or thread holds the build lock of ``index_dir`` now."""
    if not (index_dir / LOCK_FILE).exists():
        return False
    lock = _lock(index_dir)
    try:
        lock.acquire(timeout=0)
    except Timeout:
        return True
    lock.release()
    return False


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


def fsync(path: Path) -> None:
    """Flush a file or a folder (its entries) to disk."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
