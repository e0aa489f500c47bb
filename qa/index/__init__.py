"""Stage 4, the index: building it (``build``), its files on disk (``store``), the search graphs
(``ann``), the BM25 and word tables derived from it (``derived``, ``wordvectors``).
"""
