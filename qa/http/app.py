"""The FastAPI application: the JSON API, the pages and the admin routes on one service.

The index is loaded once in the lifespan handler and kept on ``app.state``; a background
task swaps in rebuilt indexes.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from qa.answer.service import QAService
from qa.config import Settings
from qa.errors import QAError
from qa.http.admin import install_admin
from qa.http.api import install_api
from qa.http.errors import install_error_handlers
from qa.http.web import install_web

log = logging.getLogger("qa")

MAX_JSON_BODY = 64 * 1024


def create_app(settings: Settings | None = None, service: QAService | None = None,
               replicas: Callable[[], int] | None = None) -> FastAPI:
    """Build the FastAPI app; the index loads when the app starts. ``replicas`` counts the
    replicas serving it (``qa serve --ray``), for ``/health``."""
    settings = settings or Settings()
    if service is None:
        from qa.answer.scoring import load_model
        from qa.embedding.encoder import make_embedder

        service = QAService(settings.index_dir,
                            make_embedder(settings.model, settings.backend, settings.model_threads()),
                            load_model(settings.scoring_model))

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        try:
            await run_in_threadpool(service.load)
        except QAError as exc:
            service.last_error = str(exc)
            log.warning("qa: %s", exc)
        await run_in_threadpool(service.embedder.warm_up)
        await run_in_threadpool(service.parser.warm_up)  # the first follow-up question is parsed at once
        watcher = asyncio.create_task(_watch_index(service, settings.reload_interval))
        try:
            yield
        finally:
            watcher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await watcher

    app = FastAPI(
        title="qa",
        summary="Answers questions with verbatim, cited excerpts from its documents.",
        version="0.1.0",
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
    )
    app.state.service = service
    app.state.settings = settings
    app.state.replicas = replicas
    install_error_handlers(app)
    _install_body_limit(app)
    _install_allow_header(app)
    install_api(app)
    install_admin(app, settings, service)
    install_web(app, settings)
    return app


async def _watch_index(service: QAService, interval: float) -> None:
    """Swap in a rebuilt index whenever ``CURRENT`` changes."""
    while True:
        await asyncio.sleep(interval)
        try:
            if await run_in_threadpool(service.reload_if_changed):
                log.warning("qa: loaded rebuilt index %s", service.loaded.pointer)
        except Exception:
            log.exception("qa: index reload failed")


def _install_allow_header(app: FastAPI) -> None:
    """A 405 names every method the path takes (Starlette names only the first route's)."""
    from starlette.routing import Match

    @app.middleware("http")
    async def allow_header(request: Request, call_next):  # type: ignore[no-untyped-def]
        response = await call_next(request)
        if response.status_code == 405:
            methods = {
                method
                for route in app.router.routes
                for method in ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE")
                if route.matches({**request.scope, "method": method})[0] == Match.FULL
            }
            if methods:
                response.headers["allow"] = ", ".join(sorted(methods))
        return response


def _install_body_limit(app: FastAPI) -> None:
    @app.middleware("http")
    async def limit_body(request: Request, call_next):  # type: ignore[no-untyped-def]
        length = request.headers.get("content-length")
        limit = MAX_JSON_BODY if not request.url.path.startswith("/admin/") else None
        if limit is not None and length is not None and length.isdigit() and int(length) > limit:
            return JSONResponse(
                {"detail": f"request body is {int(length)} bytes; the limit is {limit} bytes"},
                status_code=413,
            )
        return await call_next(request)
