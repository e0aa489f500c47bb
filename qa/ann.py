"""Vector search: exact for ordinary collections, approximate (FAISS HNSW) for large ones.

Below ``ANN_THRESHOLD`` vectors a flat inner-product index is made at load time from the
stored vectors: exact, and about 4 ms a query at the threshold on one core. From the
threshold on, ``qa index`` also writes a graph index (``IndexHNSWFlat``, ``LINKS`` links
per vector), searched with ``EF_SEARCH`` candidates.

Recall@10 against exact search (a result counts when its score reaches the exact tenth
score, so ties are not misses), 87,930 sentence vectors of Debian's kernel documentation,
100 questions made from it (``benchmarks/scale.py``), one core:

=====================================  ========  =========
search                                  recall    ms/query
=====================================  ========  =========
exact (flat)                            1         6.3–7.0
HNSW, 32 links, efConstruction 200,     0.997     0.56
efSearch 128 (this module)
HNSW, 16 links, 80, efSearch 256        0.959     0.78
HNSW, 16 links, 80, efSearch 1024       0.970     2.9
float16 scan, top 20 re-scored          1.0       3.4
=====================================  ========  =========

and an inverted-file index (IVF, 1,024 cells) on 42,930 vectors of another collection
reached 0.913 scanning 1/16 of its cells, 0.977 scanning a quarter.

A graph is built once and then grows: FAISS cannot delete from an HNSW graph, so a build
that keeps most of the previous one copies its graph, adds the new vectors to it, and
leaves the vectors of removed or changed documents in place as tombstones, filtered out
of every search (``<name>.rows.npy`` maps each graph node to its row, -1 for a
tombstone). When tombstones would pass ``MAX_DEAD`` of the graph, the graph is rebuilt.
Rebuilding took 37 s for the 87,930 vectors above on 2 cores; growing it by one
document's vectors takes milliseconds.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from qa.threads import faiss_module

ANN_THRESHOLD = 60_000  # vectors
LINKS = 32  # HNSW graph degree (M)
EF_CONSTRUCTION = 200
EF_SEARCH = 128
MAX_DEAD = 0.2  # share of tombstones in a graph above which it is rebuilt


@dataclass(frozen=True)
class Previous:
    """What a build can reuse of the previous build's search index for one table:
    where that build lives, how it searched the table, and for each new row the previous
    build's row it was copied from (-1 for a row embedded in this build)."""

    build: Path
    info: dict[str, Any]
    origin: np.ndarray


class Searcher:
    """``search(queries, k) -> (scores, rows)`` over a table's live rows; ``ntotal`` is
    how many there are. Wraps an exact index, or a graph whose nodes map to rows."""

    def __init__(self, index: Any, rows: np.ndarray | None = None) -> None:
        self.index = index
        self.rows = rows
        self.params: Any = None
        self.ntotal = int(index.ntotal)
        if rows is not None:
            alive = rows >= 0
            self.ntotal = int(alive.sum())
            faiss = faiss_module()
            if self.ntotal < len(rows):  # tombstones: leave them out of the search itself
                self._bitmap = np.packbits(alive, bitorder="little")  # kept alive for the selector
                self._selector = faiss.IDSelectorBitmap(len(rows), faiss.swig_ptr(self._bitmap))
                self.params = faiss.SearchParametersHNSW(efSearch=index.hnsw.efSearch, sel=self._selector)

    def covers(self, n_rows: int) -> bool:
        """Whether every live node maps to one of ``n_rows`` rows, each row once."""
        if self.rows is None:
            return self.ntotal == n_rows
        live = self.rows[self.rows >= 0]
        return len(live) == n_rows and bool((np.bincount(live, minlength=n_rows) == 1).all())

    def search(self, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        k = min(k, self.ntotal)
        if k <= 0:
            return np.zeros((len(queries), 0), np.float32), np.zeros((len(queries), 0), np.int64)
        scores, nodes = self.index.search(queries, k, params=self.params)
        if self.rows is None:
            return scores, nodes
        return scores, np.where(nodes >= 0, self.rows[np.maximum(nodes, 0)], -1)


def write_index(build: Path, name: str, vectors: np.ndarray, threshold: int = ANN_THRESHOLD,
                previous: Previous | None = None) -> dict[str, Any]:
    """Write ``<name>.faiss`` and ``<name>.rows.npy`` when there are ``threshold``
    vectors or more (growing ``previous``'s graph where it can); return how the vectors
    are searched (recorded in the manifest)."""
    if len(vectors) < threshold:
        return {"kind": "exact"}
    faiss = faiss_module()
    vectors = np.ascontiguousarray(vectors, dtype=np.float32)
    grown = _grow(name, vectors, previous) if previous is not None else None
    if grown is not None:
        index, rows = grown
    else:
        index = faiss.IndexHNSWFlat(vectors.shape[1], LINKS, faiss.METRIC_INNER_PRODUCT)
        index.hnsw.efConstruction = EF_CONSTRUCTION
        _add(index, vectors)
        rows = np.arange(len(vectors), dtype=np.int64)
    faiss.write_index(index, str(build / f"{name}.faiss"))
    np.save(build / f"{name}.rows.npy", rows)
    return {"kind": "hnsw", "links": LINKS, "ef_search": EF_SEARCH, "nodes": int(len(rows)),
            "tombstones": int((rows < 0).sum())}


def _grow(name: str, vectors: np.ndarray, previous: Previous) -> tuple[Any, np.ndarray] | None:
    """The previous graph with this build's new vectors added and its lost rows made
    tombstones, or None when it must be rebuilt (no graph, other links, too many tombstones)."""
    info = previous.info
    if info.get("kind") != "hnsw" or info.get("links") != LINKS:
        return None
    try:
        index = faiss_module().read_index(str(previous.build / f"{name}.faiss"))
        old_rows = _node_rows(previous.build, name, index.ntotal)
    except (RuntimeError, OSError, ValueError):
        return None  # a damaged graph is rebuilt
    if len(old_rows) != index.ntotal or index.d != vectors.shape[1]:
        return None
    origin = previous.origin
    new_row = np.full(int(old_rows.max(initial=-1)) + 1, -1, dtype=np.int64)  # previous row -> this build's row
    kept = np.flatnonzero(origin >= 0)
    if len(kept) and int(origin[kept].max()) >= len(new_row):
        return None  # the previous build's graph does not cover its own rows: rebuild
    new_row[origin[kept]] = kept
    rows = np.where(old_rows >= 0, new_row[np.maximum(old_rows, 0)], -1)
    added = np.flatnonzero(origin < 0)
    if (rows < 0).sum() > MAX_DEAD * (len(rows) + len(added)):
        return None
    _add(index, vectors[added])
    return index, np.concatenate([rows, added.astype(np.int64)])


def _node_rows(build: Path, name: str, nodes: int) -> np.ndarray:
    """Each graph node's row; a graph stored without the map (an earlier qa) holds every
    row once, in order."""
    path = build / f"{name}.rows.npy"
    if path.exists():
        return np.load(path, allow_pickle=False)
    return np.arange(nodes, dtype=np.int64)


def _add(index: Any, vectors: np.ndarray) -> None:
    if not len(vectors):
        return
    faiss = faiss_module()
    faiss.omp_set_num_threads(os.cpu_count() or 1)  # no model runs during this step of a build
    try:
        index.add(np.ascontiguousarray(vectors, dtype=np.float32))
    finally:
        faiss.omp_set_num_threads(1)


def open_index(build: Path, name: str, vectors: np.ndarray, info: dict[str, Any]) -> Searcher:
    """The search index of ``name``: the stored graph, or an exact one over ``vectors``."""
    faiss = faiss_module()
    if info.get("kind") == "hnsw":
        index = faiss.read_index(str(build / f"{name}.faiss"))
        index.hnsw.efSearch = int(info["ef_search"])
        return Searcher(index, _node_rows(build, name, index.ntotal))
    index = faiss.IndexFlatIP(vectors.shape[1])  # inner product of unit vectors = cosine
    if len(vectors):
        index.add(np.ascontiguousarray(vectors, dtype=np.float32))
    return Searcher(index)
