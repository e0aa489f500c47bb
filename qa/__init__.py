"""qa: answers questions with verbatim, cited excerpts from a document collection."""

import os as _os

# The matrix products of one answer are small (a few hundred rows); OpenBLAS's and the HF
# tokenizer's own thread pools gain nothing on them and, spinning between calls, took the
# cores from the other server workers: with both held to one thread, two workers answered
# 124-134 requests/s under load instead of 62-81 (wrk, 2-core machine). Set before NumPy
# loads; an explicit setting in the environment wins.
for _name, _value in (("OPENBLAS_NUM_THREADS", "1"), ("TOKENIZERS_PARALLELISM", "false")):
    _os.environ.setdefault(_name, _value)

__version__ = "0.1.0"
