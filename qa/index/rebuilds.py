"""Rebuilding the index in the background while the collection changes under a running server.

``Reindexer`` runs ``build_index`` in one background thread, under the index's build lock
(so it also queues behind a running ``qa index``); requests arriving while a build runs are
folded into one more build. After each build it calls ``on_built`` (the service's reload),
and it records the outcome beside the index so that every server process can report it.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from qa.config import ANN_THRESHOLD
from qa.embedding.encoder import Embedder
from qa.errors import QAError
from qa.index.build import build_index
from qa.index.builds import build_running, read_last_build, write_last_build


class Reindexer:
    """Runs index builds in one background thread, folding queued requests together."""

    def __init__(self, corpus_dir: Path, index_dir: Path, embedder: Embedder, on_built: Callable[[], object],
                 ann_threshold: int = ANN_THRESHOLD) -> None:
        self.corpus_dir = corpus_dir
        self.index_dir = index_dir
        self.embedder = embedder
        self.on_built = on_built  # e.g. the service's reload, so that answers come from the new build
        self.ann_threshold = ann_threshold
        self._lock = threading.Lock()
        self._done = threading.Condition(self._lock)
        self._queued = False
        self._full = False
        self._running = False
        self._worker = False  # a worker thread is alive (or about to start)
        self._generation = 0  # builds finished
        self.last: dict[str, Any] | None = None
        self.error: str | None = None
        self.finished: str | None = None

    def request(self, full: bool = False) -> dict[str, Any]:
        """Queue a build (one more after a running one); returns the state."""
        with self._lock:
            self._queued = True
            self._full = self._full or full
            if not self._worker:
                self._worker = True
                threading.Thread(target=self._run, name="qa-reindex", daemon=True).start()
            return self._state()

    def wait(self, timeout: float | None = None) -> bool:
        """Block until no build is queued or running; False on timeout."""
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._done:
            while self._queued or self._running:
                remaining = None if deadline is None else deadline - time.monotonic()
                if remaining is not None and remaining <= 0:
                    return False
                self._done.wait(remaining)
        return True

    def status(self) -> dict[str, Any]:
        """The current state and the last build's report or error."""
        with self._lock:
            return self._state()

    def _state(self) -> dict[str, Any]:
        # Another server process (``qa serve --workers``) or ``qa index`` may be building,
        # and the last build may have been another process's: the lock and the shared
        # record tell.
        running = self._running or build_running(self.index_dir)
        state = "running" if running else "queued" if self._queued else "idle"
        shared = read_last_build(self.index_dir)
        last, error, finished = self.last, self.error, self.finished
        if shared and (finished is None or shared.get("finished", "") > finished):
            last, error, finished = shared.get("last"), shared.get("error"), shared.get("finished")
        return {"state": state, "queued": self._queued, "builds": self._generation,
                "last": last, "error": error, "finished": finished}

    def _run(self) -> None:
        while True:
            with self._lock:
                if not self._queued:
                    self._running = self._worker = False
                    self._done.notify_all()
                    return
                self._queued, full, self._full = False, self._full, False
                self._running = True
            report, error = None, None
            try:
                report = build_index(self.corpus_dir, self.index_dir, self.embedder, full=full,
                                     ann_threshold=self.ann_threshold)
                self.on_built()
            except QAError as exc:
                error = str(exc)
            except Exception as exc:  # noqa: BLE001 - the admin thread reports, never dies silently
                error = f"{type(exc).__name__}: {exc}"
            with self._lock:
                self._generation += 1
                self.last = report.as_dict() if report else self.last
                self.error = error
                self.finished = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
                write_last_build(self.index_dir, {"last": self.last, "error": error,
                                                          "finished": self.finished})
                self._done.notify_all()
