"""Thread settings shared by the stages that use FAISS.

faiss and torch each bring their own OpenMP runtime. On a 2-core machine they can fight:
in about a third of process starts query encoding ran ~35x slower until FAISS was held to
one thread. Flat inner-product search over this project's index sizes gains nothing from
more threads anyway.
"""

from __future__ import annotations


def limit_faiss_threads() -> None:
    """Hold FAISS to one OpenMP thread (idempotent)."""
    import faiss

    faiss.omp_set_num_threads(1)
