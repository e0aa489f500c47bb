"""Running the web app: one process, or several worker processes on one port.

Workers are separate processes (so the Python half of an answer runs on every core); each
loads the index read-only from the same memory-mapped files and watches ``CURRENT`` on its
own, so a rebuilt index reaches all of them. Builds stay single-writer: they run under the
index's lock whichever worker (or ``qa index``) starts them.

Each worker listens on its own ``SO_REUSEPORT`` socket and the kernel spreads connections
over them. (With one shared socket, as uvicorn's ``--workers`` does it, the first worker to
wake accepts every waiting connection, and keep-alive clients then all stay on it.)
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import signal
import socket
import time
from types import FrameType

import uvicorn

from qa.config import Settings

log = logging.getLogger("qa")
RESTARTS = 10  # workers that die are started again, this many times in all


def listening_socket(host: str, port: int) -> socket.socket:
    """A TCP socket bound with ``SO_REUSEPORT`` (asyncio sets ``TCP_NODELAY`` on what it accepts)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind((host, port))
    return sock


def _worker(environment: dict[str, str], host: str, port: int) -> None:
    os.environ.update(environment)
    config = uvicorn.Config("qa.http.app:create_app", factory=True, host=host, port=port, log_level="warning")
    uvicorn.Server(config).run(sockets=[listening_socket(host, port)])


def run_workers(settings: Settings, host: str, port: int) -> None:
    """Serve with ``settings.workers`` processes, each making the app from ``settings``;
    return when interrupted (Ctrl-C or SIGTERM), after stopping the workers."""
    guard = listening_socket(host, port)  # fails now if the port is taken; never listens itself
    context = multiprocessing.get_context("spawn")
    args = (settings.environment(), host, port)
    workers = [context.Process(target=_worker, args=args, daemon=True) for _ in range(settings.workers)]
    for worker in workers:
        worker.start()
    stopping = False

    def stop(signum: int, frame: FrameType | None) -> None:
        nonlocal stopping
        stopping = True

    previous = {sig: signal.signal(sig, stop) for sig in (signal.SIGINT, signal.SIGTERM)}
    restarts = 0
    try:
        while not stopping:
            time.sleep(0.2)
            for i, worker in enumerate(workers):
                if not worker.is_alive() and not stopping:
                    if restarts >= RESTARTS:
                        log.error("qa: server workers keep dying (exit code %s); stopping", worker.exitcode)
                        stopping = True
                        break
                    log.warning("qa: server worker exited with code %s; starting another", worker.exitcode)
                    restarts += 1
                    workers[i] = context.Process(target=_worker, args=args, daemon=True)
                    workers[i].start()
    finally:
        for worker in workers:
            if worker.is_alive():
                worker.terminate()  # uvicorn finishes requests in flight on SIGTERM
        for worker in workers:
            worker.join(timeout=10)
        guard.close()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
