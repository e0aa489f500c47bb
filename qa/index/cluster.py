"""Building the index on a Ray cluster: reading, chunking and embedding fan out, the driver
writes the build.

``qa index --ray ADDRESS`` connects to a running cluster (``ray.init(address=...)``: ``auto``,
``HOST:PORT`` or ``ray://…``). New and changed sources are read and chunked by Ray tasks, a
batch of documents each (``read_on_cluster``); their sentences and passages are embedded by
Ray actors that load the model once each (``ClusterEmbedder``, an ``Embedder`` whose
``encode`` spreads batches over an actor pool). Everything else is the local build: the same
plan and incremental reuse, the same lock, tables, manifest and atomic ``CURRENT`` swap,
written by the driver. Ray retries a task or restarts an actor whose worker died; a run that
fails anyway raises before ``CURRENT`` changes, so the live index is untouched.

Every node needs qa installed (``pip install 'qa[ray]'``) and the corpus at the same path;
only the driver writes the index.
"""

from __future__ import annotations

import dataclasses
import logging
import sys
from typing import Any

import numpy as np
from tqdm import tqdm

from qa.chunking.passages import ChunkingParams
from qa.embedding.encoder import Embedder, make_embedder
from qa.errors import QAError
from qa.index.build import EMBED_CHUNK, read_sources
from qa.sources.scan import SourceFile

RAY_MISSING = "--ray needs Ray on this machine and the cluster: pip install 'qa[ray]'"
READ_BATCH = 8  # documents per read task
RETRIES = 3  # attempts Ray makes again when a worker dies


def ray_module() -> Any:
    """The ``ray`` module, or ``QAError`` saying how to install it."""
    try:
        import ray
    except ImportError:
        raise QAError(RAY_MISSING) from None
    return ray


def connect(address: str) -> Any:
    """Join the Ray cluster at ``address`` (once per process); returns the ``ray`` module."""
    ray = ray_module()
    if not ray.is_initialized():
        try:
            ray.init(address=address, logging_level=logging.WARNING, log_to_driver=False)
        except (ConnectionError, RuntimeError, ValueError) as exc:
            raise QAError(f"cannot reach the Ray cluster at {address!r} ({exc}); start one with "
                          "`ray start --head`, or give its address") from exc
    return ray


def read_on_cluster(sources: list[SourceFile], metadata: dict[str, dict[str, Any]],
                    params: ChunkingParams) -> list[Any]:
    """``qa.index.build.read_sources``, as Ray tasks of ``READ_BATCH`` documents each, in order."""
    ray = ray_module()
    if not sources:
        return []
    task = ray.remote(num_cpus=1, max_retries=RETRIES)(read_sources)
    batches = [[dataclasses.replace(s, path=s.path.resolve()) for s in sources[at : at + READ_BATCH]]
               for at in range(0, len(sources), READ_BATCH)]
    refs = [task.remote(batch, {s.id: metadata.get(s.id, {}) for s in batch}, params) for batch in batches]
    order = {ref: i for i, ref in enumerate(refs)}
    results: list[list[Any] | None] = [None] * len(refs)
    pending = list(refs)
    with tqdm(total=len(sources), desc="reading", unit=" documents", disable=not sys.stderr.isatty(),
              file=sys.stderr) as bar:
        while pending:
            done, pending = ray.wait(pending, num_returns=1)
            i = order[done[0]]
            results[i] = ray.get(done[0])
            bar.update(len(batches[i]))
    return [item for part in results for item in (part or [])]


class _EmbedWorker:
    """One Ray actor: the model, loaded once, encoding batches of texts."""

    def __init__(self, model: str, backend: str, threads: int) -> None:
        self.embedder = make_embedder(model, backend, threads)
        self.embedder.warm_up()

    def encode(self, texts: list[str]) -> np.ndarray:
        return self.embedder.encode(texts)


class ClusterEmbedder:
    """An ``Embedder`` whose ``encode`` runs on ``workers`` Ray actors, ``EMBED_CHUNK`` texts a
    batch (the batches a local build makes), results in order. Questions and the model's name
    and size come from ``local``, the same model on this machine."""

    def __init__(self, local: Embedder, model: str, backend: str, workers: int, threads: int = 1) -> None:
        self.local = local
        self.workers = workers
        self.chunk = EMBED_CHUNK * 4 * workers  # what the build hands over per call
        self._spec = (model, backend, threads)
        self._actors: list[Any] = []
        self._pool: Any = None

    def _started(self) -> Any:
        """The actor pool, started at the first batch (so that reading tasks had the CPUs)."""
        if self._pool is None:
            ray = ray_module()
            from ray.util import ActorPool

            model, backend, threads = self._spec
            worker = ray.remote(num_cpus=threads, max_restarts=RETRIES, max_task_retries=RETRIES)(_EmbedWorker)
            self._actors = [worker.remote(model, backend, threads) for _ in range(self.workers)]
            self._pool = ActorPool(self._actors)
        return self._pool

    def close(self) -> None:
        """Stop the actors (they also stop when this process leaves the cluster)."""
        for actor in self._actors:
            ray_module().kill(actor)
        self._actors, self._pool = [], None

    @property
    def name(self) -> str:
        return self.local.name

    @property
    def dimension(self) -> int:
        return self.local.dimension

    def encode(self, texts: list[str], progress: bool = False) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        batches = [texts[at : at + EMBED_CHUNK] for at in range(0, len(texts), EMBED_CHUNK)]
        parts = list(self._started().map(lambda actor, batch: actor.encode.remote(batch), batches))
        return np.concatenate(parts).astype(np.float32, copy=False)

    def encode_query(self, texts: list[str]) -> np.ndarray:
        return self.local.encode_query(texts)

    def warm_up(self) -> None:
        self.local.warm_up()


def cluster_workers(requested: int | None) -> int:
    """Embedding actors: ``requested``, else one per CPU of the cluster."""
    if requested:
        return requested
    return max(1, int(ray_module().cluster_resources().get("CPU", 1)))

