"""A build that stops at a chosen point, run as a separate process by the safe-build tests.

    python tests/slow_build.py CORPUS INDEX embed|commit

It prints ``PAUSED`` when it reaches the point (``embed``: inside the embedder, holding the
build lock; ``commit``: just before ``CURRENT`` is replaced), and goes on when a line arrives
on its standard input (the tests kill it there, or let it go on when they are ready).
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

from qa.embedding.encoder import HashingEmbedder
from qa.index import builds
from qa.index.build import build_index


def pause() -> None:
    print("PAUSED", flush=True)
    sys.stdin.readline()


class PausingEmbedder(HashingEmbedder):
    def encode(self, texts: list[str], progress: bool = False) -> np.ndarray:
        pause()
        return super().encode(texts, progress)


def main() -> None:
    corpus, index, where = Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[3]
    embedder = HashingEmbedder()
    if where == "embed":
        embedder = PausingEmbedder()
    else:
        replace = builds.os.replace

        def slow_replace(src: object, dst: object) -> None:
            pause()
            replace(src, dst)

        builds.os.replace = slow_replace  # type: ignore[assignment]
    report = build_index(corpus, index, embedder)
    print("DONE", report.summary(), flush=True)


if __name__ == "__main__":
    main()
