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

Identical vectors (a sentence repeated word for word: boilerplate, a footer, a warning
box) share one graph node: thousands of copies of one point wreck an HNSW graph's
neighbour lists. On 288,312 sentence vectors of the kernel documentation (209,480
distinct; one sentence 4,087 times) recall@10 was 0.93 with a node per vector and 0.99
with a node per distinct vector, at the same 0.9 ms a query. ``<name>.nodes.npy`` holds
each row's node; a search expands each node found into its rows.

A graph is built once and then grows: FAISS cannot delete from an HNSW graph, so a build
that keeps most of the previous one copies its graph and adds the new vectors to it; the
nodes no row uses any more (removed or changed documents) stay as tombstones, filtered out
of every search. When tombstones would pass ``MAX_DEAD`` of the graph, it is rebuilt.
Rebuilding took 37 s for 87,930 vectors on 2 cores; growing it by one document's vectors
takes milliseconds.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from qa.config import ANN_THRESHOLD
from qa.threads import faiss_module

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
    """``search(queries, k) -> (scores, rows)`` over a table's rows; ``ntotal`` is how many
    there are. Wraps an exact index, or a graph whose nodes each stand for the rows with
    one vector (``node_of[row]``)."""

    def __init__(self, index: Any, node_of: np.ndarray | None = None) -> None:
        self.index = index
        self.node_of = node_of
        self.params: Any = None
        self.ntotal = int(index.ntotal) if node_of is None else len(node_of)
        if node_of is None:
            return
        order = np.argsort(node_of, kind="stable")  # rows grouped by node, in row order
        self._rows = order
        self._ptr = np.zeros(int(index.ntotal) + 1, dtype=np.int64)
        np.cumsum(np.bincount(node_of, minlength=int(index.ntotal)), out=self._ptr[1:])
        alive = np.diff(self._ptr) > 0
        if not alive.all():  # tombstones: leave them out of the search itself
            faiss = faiss_module()
            self._bitmap = np.packbits(alive, bitorder="little")  # kept alive for the selector
            self._selector = faiss.IDSelectorBitmap(len(alive), faiss.swig_ptr(self._bitmap))
            self.params = faiss.SearchParametersHNSW(efSearch=index.hnsw.efSearch, sel=self._selector)

    def covers(self, n_rows: int) -> bool:
        """Whether the search holds exactly ``n_rows`` rows."""
        if self.node_of is None:
            return self.ntotal == n_rows
        return len(self.node_of) == n_rows and bool(n_rows == 0 or int(self.node_of.max()) < self.index.ntotal)

    def search(self, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        k = min(k, self.ntotal)
        if k <= 0:
            return np.zeros((len(queries), 0), np.float32), np.zeros((len(queries), 0), np.int64)
        scores, nodes = self.index.search(queries, k, params=self.params)
        if self.node_of is None:
            return scores, nodes
        out_scores = np.full((len(queries), k), -np.inf, dtype=np.float32)
        out_rows = np.full((len(queries), k), -1, dtype=np.int64)
        for q in range(len(queries)):  # each node's rows, best node first, up to k rows
            found = nodes[q][nodes[q] >= 0]
            lo, hi = self._ptr[found], self._ptr[found + 1]
            counts = np.minimum(hi - lo, k)
            rows = np.concatenate([self._rows[a : a + c] for a, c in zip(lo.tolist(), counts.tolist())]
                                  or [np.zeros(0, dtype=np.int64)])[:k]
            out_rows[q, : len(rows)] = rows
            out_scores[q, : len(rows)] = np.repeat(scores[q][nodes[q] >= 0], counts)[:k]
        return out_scores, out_rows


def _distinct(vectors: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The distinct vectors (first occurrences, in order) and each vector's position among them."""
    if not len(vectors):
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    keys = np.ascontiguousarray(vectors).view(np.dtype((np.void, vectors.shape[1] * vectors.itemsize))).ravel()
    _, first, inverse = np.unique(keys, return_index=True, return_inverse=True)
    order = np.argsort(first)  # number the distinct vectors by first occurrence
    rank = np.empty(len(order), dtype=np.int64)
    rank[order] = np.arange(len(order))
    return first[order], rank[inverse.ravel()]


def write_index(build: Path, name: str, vectors: np.ndarray, threshold: int = ANN_THRESHOLD,
                previous: Previous | None = None) -> dict[str, Any]:
    """Write ``<name>.faiss`` and ``<name>.nodes.npy`` when there are ``threshold``
    vectors or more (growing ``previous``'s graph where it can); return how the vectors
    are searched (recorded in the manifest)."""
    if len(vectors) < threshold:
        return {"kind": "exact"}
    faiss = faiss_module()
    vectors = np.ascontiguousarray(vectors, dtype=np.float32)
    grown = _grow(name, vectors, previous) if previous is not None else None
    if grown is not None:
        index, node_of = grown
    else:
        index = faiss.IndexHNSWFlat(vectors.shape[1], LINKS, faiss.METRIC_INNER_PRODUCT)
        index.hnsw.efConstruction = EF_CONSTRUCTION
        first, node_of = _distinct(vectors)
        _add(index, vectors[first])
    faiss.write_index(index, str(build / f"{name}.faiss"))
    np.save(build / f"{name}.nodes.npy", node_of)
    live = int(np.unique(node_of).size)
    return {"kind": "hnsw", "links": LINKS, "ef_search": EF_SEARCH, "nodes": int(index.ntotal),
            "tombstones": int(index.ntotal) - live}


def _grow(name: str, vectors: np.ndarray, previous: Previous) -> tuple[Any, np.ndarray] | None:
    """The previous graph with this build's new vectors added (kept rows keep their node;
    nodes no row uses any more are tombstones), or None when it must be rebuilt (no graph,
    other links, too many tombstones)."""
    info = previous.info
    if info.get("kind") != "hnsw" or info.get("links") != LINKS:
        return None
    try:
        index = faiss_module().read_index(str(previous.build / f"{name}.faiss"))
        old_node_of = _node_of(previous.build, name, index.ntotal)
    except (RuntimeError, OSError, ValueError):
        return None  # a damaged graph is rebuilt
    if index.d != vectors.shape[1]:
        return None
    origin = previous.origin
    kept = origin >= 0
    if kept.any() and int(origin[kept].max()) >= len(old_node_of):
        return None  # the previous build's map does not cover its own rows: rebuild
    added = np.flatnonzero(~kept)
    first, new_nodes = _distinct(vectors[added])
    node_of = np.empty(len(vectors), dtype=np.int64)
    node_of[kept] = old_node_of[origin[kept]]
    node_of[added] = new_nodes + index.ntotal
    total = int(index.ntotal) + len(first)
    if total - np.unique(node_of).size > MAX_DEAD * total:
        return None
    _add(index, vectors[added[first]])
    return index, node_of


def _node_of(build: Path, name: str, nodes: int) -> np.ndarray:
    """Each row's graph node. A graph stored without the map (an earlier qa) holds every row
    once, in order."""
    path = build / f"{name}.nodes.npy"
    if path.exists():
        return np.load(path, allow_pickle=False)
    rows_file = build / f"{name}.rows.npy"  # the layout before nodes were shared: node -> row, -1 unused
    if rows_file.exists():
        rows = np.load(rows_file, allow_pickle=False)
        live = np.flatnonzero(rows >= 0)
        node_of = np.full(len(live), -1, dtype=np.int64)
        node_of[rows[live]] = live
        return node_of
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
        return Searcher(index, _node_of(build, name, index.ntotal))
    index = faiss.IndexFlatIP(vectors.shape[1])  # inner product of unit vectors = cosine
    if len(vectors):
        index.add(np.ascontiguousarray(vectors, dtype=np.float32))
    return Searcher(index)
