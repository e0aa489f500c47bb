"""A build that stops at a chosen point, run as a separate process by the safe-build tests.

    python tests/slow_build.py CORPUS INDEX embed|commit SECONDS

It prints ``PAUSED`` when it reaches the point (``embed``: inside the embedder;
``commit``: just before ``CURRENT`` is replaced), sleeps ``SECONDS``, then goes on.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np

from qa import store
from qa.embedding import HashingEmbedder
from qa.indexing import build_index


def pause(seconds: float) -> None:
    print("PAUSED", flush=True)
    time.sleep(seconds)


class PausingEmbedder(HashingEmbedder):
    def __init__(self, seconds: float) -> None:
        super().__init__()
        self.seconds = seconds

    def encode(self, texts: list[str], progress: bool = False) -> np.ndarray:
        pause(self.seconds)
        return super().encode(texts, progress)


def main() -> None:
    corpus, index, where, seconds = Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[3], float(sys.argv[4])
    embedder = HashingEmbedder()
    if where == "embed":
        embedder = PausingEmbedder(seconds)
    else:
        replace = store.os.replace

        def slow_replace(src: object, dst: object) -> None:
            pause(seconds)
            replace(src, dst)

        store.os.replace = slow_replace  # type: ignore[assignment]
    report = build_index(corpus, index, embedder)
    print("DONE", report.summary(), flush=True)


if __name__ == "__main__":
    main()
