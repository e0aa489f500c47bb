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
reached 0.913 scanning 1/16 of its cells, 0.977 scanning a quarter. The graph is rebuilt
with every build (FAISS cannot delete from it): 37 s for those 87,930 vectors on 2 cores,
which bounds what adding one document costs on a large collection.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np

from qa.threads import faiss_module

ANN_THRESHOLD = 60_000  # vectors
LINKS = 32  # HNSW graph degree (M)
EF_CONSTRUCTION = 200
EF_SEARCH = 128


def write_index(build: Path, name: str, vectors: np.ndarray, threshold: int = ANN_THRESHOLD) -> dict[str, Any]:
    """Write ``<name>.faiss`` when there are ``threshold`` vectors or more; return how they
    are searched (recorded in the manifest)."""
    if len(vectors) < threshold:
        return {"kind": "exact"}
    faiss = faiss_module()
    index = faiss.IndexHNSWFlat(vectors.shape[1], LINKS, faiss.METRIC_INNER_PRODUCT)
    index.hnsw.efConstruction = EF_CONSTRUCTION
    faiss.omp_set_num_threads(os.cpu_count() or 1)  # no model runs during this step of a build
    try:
        index.add(np.ascontiguousarray(vectors, dtype=np.float32))
    finally:
        faiss.omp_set_num_threads(1)
    faiss.write_index(index, str(build / f"{name}.faiss"))
    return {"kind": "hnsw", "links": LINKS, "ef_search": EF_SEARCH}


def open_index(build: Path, name: str, vectors: np.ndarray, info: dict[str, Any]) -> Any:
    """The search index of ``name``: the stored graph, or an exact one over ``vectors``."""
    faiss = faiss_module()
    if info.get("kind") == "hnsw":
        index = faiss.read_index(str(build / f"{name}.faiss"))
        index.hnsw.efSearch = int(info["ef_search"])
        return index
    index = faiss.IndexFlatIP(vectors.shape[1])  # inner product of unit vectors = cosine
    if len(vectors):
        index.add(np.ascontiguousarray(vectors, dtype=np.float32))
    return index
