"""FAISS, imported with its thread count settled before first use.

faiss and torch each bring their own OpenMP runtime. On a 2-core machine they can fight:
in about a third of process starts query encoding ran ~35x slower until FAISS was held to
one thread. Flat inner-product search over this project's index sizes gains nothing from
more threads anyway. Import FAISS through ``faiss_module()`` only.
"""

from __future__ import annotations

from typing import Any


def faiss_module() -> Any:
    """The ``faiss`` module, held to one OpenMP thread (idempotent)."""
    import faiss

    faiss.omp_set_num_threads(1)
    return faiss
