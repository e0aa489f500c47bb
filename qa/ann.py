"""Vector search: exact for ordinary collections, approximate (FAISS IVF) for large ones.

Below ``ANN_THRESHOLD`` vectors a flat inner-product index is made at load time from the
stored vectors (exact; a few milliseconds per query at the threshold). Above it, ``qa
index`` writes an inverted-file index (``IndexIVFFlat``): the vectors are clustered into
``lists`` cells and a query scans the ``PROBE_SHARE`` of cells nearest to it. The file is
memory-mapped, so server processes share it. A rebuild reuses the previous build's
trained cells when their number still fits, so adding a document does not retrain.
``benchmarks/scale.py`` measures recall@10 against exact search.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np

from qa.threads import faiss_module

ANN_THRESHOLD = 60_000  # vectors; at this size exact search takes ~4 ms on one core
PROBE_SHARE = 1 / 16  # share of the cells a query scans
TRAIN_PER_LIST = 40  # training vectors per cell (FAISS warns below 39)


def lists_for(n: int) -> int:
    """The number of cells for ``n`` vectors: a power of two near ``4 √n``."""
    return 2 ** round(math.log2(max(1.0, 4 * math.sqrt(n))))


def write_index(build: Path, name: str, vectors: np.ndarray, previous: Path | None) -> dict[str, Any]:
    """Write ``<name>.faiss`` when ``vectors`` are many enough; return how they are searched."""
    if len(vectors) < ANN_THRESHOLD:
        return {"kind": "exact"}
    faiss = faiss_module()
    vectors = np.ascontiguousarray(vectors, dtype=np.float32)
    lists = lists_for(len(vectors))
    quantizer = faiss.IndexFlatIP(vectors.shape[1])
    centroids = _previous_centroids(previous, name, lists) if previous is not None else None
    index = faiss.IndexIVFFlat(quantizer, vectors.shape[1], lists, faiss.METRIC_INNER_PRODUCT)
    if centroids is not None:
        quantizer.add(centroids)
        index.is_trained = True
    else:
        step = max(1, len(vectors) // (lists * TRAIN_PER_LIST))
        index.train(vectors[::step])
    index.add(vectors)
    faiss.write_index(index, str(build / f"{name}.faiss"))
    return {"kind": "ivf", "lists": lists, "probe": max(1, round(lists * PROBE_SHARE))}


def open_index(build: Path, name: str, vectors: np.ndarray, info: dict[str, Any]) -> Any:
    """The search index of ``name``: the stored IVF file memory-mapped, or an exact one."""
    faiss = faiss_module()
    if info.get("kind") == "ivf":
        index = faiss.read_index(str(build / f"{name}.faiss"), faiss.IO_FLAG_MMAP | faiss.IO_FLAG_READ_ONLY)
        index.nprobe = int(info["probe"])
        return index
    index = faiss.IndexFlatIP(vectors.shape[1])  # inner product of unit vectors = cosine
    if len(vectors):
        index.add(np.ascontiguousarray(vectors, dtype=np.float32))
    return index


def _previous_centroids(previous: Path, name: str, lists: int) -> np.ndarray | None:
    """The trained cells of the previous build's index, if it has one with ``lists`` cells."""
    faiss = faiss_module()
    path = previous / f"{name}.faiss"
    if not path.exists():
        return None
    old = faiss.read_index(str(path), faiss.IO_FLAG_MMAP | faiss.IO_FLAG_READ_ONLY)
    if getattr(old, "nlist", None) != lists:
        return None
    quantizer = faiss.downcast_index(faiss.extract_index_ivf(old).quantizer)
    return faiss.rev_swig_ptr(quantizer.get_xb(), lists * old.d).reshape(lists, old.d).copy()
