"""``qa serve --ray ADDRESS --replicas N``: the same FastAPI app as N Ray Serve replicas.

Each replica builds the app (``build_app``, run on the replica) from the ``QA_*`` settings of
the command, which reach it as environment variables, and loads the index read-only from
the shared index directory (a path every node sees). Each runs the app's own lifespan, so
each swaps in a rebuilt index as ``qa serve`` does, answering from the old one until the new
one is loaded. Ray Serve's proxy takes the HTTP requests on ``--host``/``--port`` and spreads
them over the replicas; ``/health`` says how many replicas are running.
"""

from __future__ import annotations

import signal
import threading
from typing import Any

from fastapi import FastAPI

from qa.config import Settings
from qa.index.cluster import connect

APP = "qa"
DEPLOYMENT = "qa"


def running_replicas() -> int:
    """How many replicas of the qa deployment Ray Serve reports as running."""
    from ray import serve

    app = serve.status().applications.get(APP)
    deployment = app.deployments.get(DEPLOYMENT) if app else None
    states = deployment.replica_states if deployment else {}
    return sum(int(n) for state, n in states.items() if state == "RUNNING")


def build_app() -> FastAPI:
    """The app of one replica (called by Ray Serve on the replica)."""
    from qa.http.app import create_app

    return create_app(Settings(), replicas=running_replicas)


def serve_on_ray(settings: Settings, address: str, replicas: int, host: str, port: int) -> None:
    """Deploy the app on the cluster at ``address`` and serve until interrupted."""
    connect(address)
    from ray import serve

    environment = {**settings.environment(), "QA_THREADS": str(settings.threads or 1),
                   "QA_CORPUS_DIR": str(settings.corpus_dir.resolve()),
                   "QA_INDEX_DIR": str(settings.index_dir.resolve())}
    serve.start(http_options={"host": host, "port": port})
    deployment = serve.deployment(
        name=DEPLOYMENT, num_replicas=replicas,
        ray_actor_options={"num_cpus": 1, "runtime_env": {"env_vars": environment}},
    )(serve.ingress(build_app)())
    serve.run(deployment.bind(), name=APP, route_prefix="/")
    stop = threading.Event()

    def interrupted(signum: int, frame: Any) -> None:
        stop.set()

    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, interrupted)
    try:
        stop.wait()
    finally:
        serve.delete(APP)
        serve.shutdown()
