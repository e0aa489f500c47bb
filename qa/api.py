"""The HTTP API: a thin FastAPI layer over ``QAService``.

Routes validate their request model, call the service and return a response model. Domain
errors become HTTP statuses in one place (``_STATUS``). The index is loaded once in the
lifespan handler and kept on ``app.state``; a background task swaps in rebuilt indexes.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends, FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field, field_validator
from starlette.concurrency import run_in_threadpool

from qa.config import Settings
from qa.errors import (
    DocumentNotFoundError,
    IndexCorruptError,
    IndexMismatchError,
    IndexMissingError,
    InvalidRequestError,
    QAError,
)
from qa.http_errors import error_responses
from qa.records import Answer, Document
from qa.service import MAX_QUESTION_CHARS, MAX_TOP_K, QAService

log = logging.getLogger("qa")

MAX_JSON_BODY = 64 * 1024
_STATUS: dict[type[QAError], int] = {
    InvalidRequestError: 422,
    DocumentNotFoundError: 404,
    IndexMissingError: 503,
    IndexCorruptError: 503,
    IndexMismatchError: 503,
}


# -- request and response models ---------------------------------------------------------


class AskRequest(BaseModel):
    """A question and how many excerpts to return."""

    question: str = Field(
        ..., max_length=MAX_QUESTION_CHARS,
        json_schema_extra={"minLength": 1, "pattern": r"\S"},  # checked by not_blank, to say so plainly
        description=f"The question: 1 to {MAX_QUESTION_CHARS} characters, not only spaces.",
        examples=["When was the dam completed?"],
    )
    top_k: int = Field(5, ge=1, le=MAX_TOP_K, description=f"How many excerpts to return, 1 to {MAX_TOP_K}.")

    @field_validator("question")
    @classmethod
    def not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("question must not be blank")
        return value


class Highlight(BaseModel):
    start: int
    end: int


class Source(BaseModel):
    document: str = Field(description="Path relative to the corpus, with / separators.")
    title: str
    section: str | None
    page: int | None
    start: int = Field(description="Offset of the excerpt in the document text.")
    end: int


class AnswerItem(BaseModel):
    text: str = Field(description="Exactly document_text[source.start:source.end].")
    highlight: Highlight = Field(description="The answering span, as offsets inside text.")
    score: float = Field(ge=0, le=1, description="Calibrated confidence that the excerpt answers.")
    source: Source


class AskResponse(BaseModel):
    question: str
    no_answer: bool = Field(description="True when the sources do not answer; answers are then the nearest passages.")
    answers: list[AnswerItem]
    took_ms: float


class DocumentInfo(BaseModel):
    document: str
    title: str
    authors: list[str]
    date: str | None
    url: str | None
    kind: str | None = Field(description="What sort of source it is, e.g. blog post.")
    characters: int
    pages: int | None


class SectionInfo(BaseModel):
    title: str
    start: int


class DocumentText(DocumentInfo):
    text: str = Field(description="The text every offset refers to.")
    sections: list[SectionInfo]


class Health(BaseModel):
    status: str
    documents: int
    passages: int
    sentences: int
    model: str
    index: str | None
    skipped: dict[str, str]
    message: str | None = None
    process: int = Field(description="Id of the server process that answered (`qa serve --workers` runs several).")


def answer_response(answer: Answer) -> AskResponse:
    """The API form of an ``Answer``."""
    return AskResponse(
        question=answer.question,
        no_answer=answer.no_answer,
        answers=[
            AnswerItem(
                text=e.text,
                highlight=Highlight(start=e.highlight[0], end=e.highlight[1]),
                score=e.score,
                source=Source(**e.source.__dict__),
            )
            for e in answer.excerpts
        ],
        took_ms=answer.took_ms,
    )


def document_info(doc: Document) -> DocumentInfo:
    """The API form of a document's metadata."""
    return DocumentInfo(
        document=doc.id,
        title=doc.meta.title,
        authors=list(doc.meta.authors),
        date=doc.meta.date,
        url=doc.meta.url,
        kind=doc.meta.kind,
        characters=len(doc.text),
        pages=len(doc.page_starts) or None,
    )


# -- application ---------------------------------------------------------------------------


def get_service(request: Request) -> QAService:
    """The service on ``app.state`` (tests may override this dependency)."""
    service: QAService = request.app.state.service
    return service


ServiceDep = Annotated[QAService, Depends(get_service)]


def create_app(settings: Settings | None = None, service: QAService | None = None) -> FastAPI:
    """Build the FastAPI app; the index loads when the app starts."""
    settings = settings or Settings()
    if service is None:
        from qa.embedding import make_embedder
        from qa.scoring import load_model

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
    _install_error_handlers(app)
    _install_body_limit(app)
    _install_allow_header(app)
    _add_api_routes(app)
    from qa.admin import install_admin
    from qa.web import install_web

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


def _add_api_routes(app: FastAPI) -> None:
    @app.post("/ask", response_model=AskResponse, tags=["questions"],
              responses=error_responses(400, 413, 422, 503))
    def ask(body: AskRequest, service: ServiceDep) -> AskResponse:
        """Answer a question with up to ``top_k`` verbatim excerpts from the sources."""
        return answer_response(service.ask(body.question, body.top_k))

    @app.get("/api/documents", response_model=list[DocumentInfo], tags=["documents"],
             responses=error_responses(503))
    def list_documents(service: ServiceDep) -> list[DocumentInfo]:
        """Every indexed document with its citation metadata."""
        return [document_info(doc) for doc in service.documents()]

    @app.get("/api/documents/{document:path}", response_model=DocumentText, tags=["documents"],
             responses=error_responses(404, 422, 503))
    def get_document(document: str, service: ServiceDep) -> DocumentText:
        """One document's metadata, its full text (what offsets refer to) and its sections."""
        doc, outline = service.document_with_outline(document)
        return DocumentText(
            **document_info(doc).model_dump(),
            text=doc.text,
            sections=[SectionInfo(title=t, start=s) for t, s in outline],
        )

    @app.get("/health", response_model=Health, tags=["service"],
             responses={503: {"model": Health, "description": "No index is loaded: `message` says why."}})
    def health(service: ServiceDep) -> JSONResponse:
        """Whether an index is loaded, with its counts and the model name."""
        if not service.ready:
            body = Health(status="no_index", documents=0, passages=0, sentences=0,
                          model=service.embedder.name, index=None, skipped={}, message=service.last_error,
                          process=os.getpid())
            return JSONResponse(body.model_dump(), status_code=503)
        loaded = service.loaded
        index = loaded.index
        body = Health(
            status="ok",
            documents=len(index.documents),
            passages=len(index.passages),
            sentences=len(index.sentences),
            model=index.manifest.model,
            index=loaded.pointer,
            skipped=index.manifest.skipped,
            message=service.last_error,
            process=os.getpid(),
        )
        return JSONResponse(body.model_dump())


def error_status(exc: QAError) -> int:
    """The HTTP status of a domain error."""
    return next((code for cls, code in _STATUS.items() if isinstance(exc, cls)), 500)


def _install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(QAError)
    async def domain_error(request: Request, exc: QAError) -> JSONResponse:
        return JSONResponse({"detail": str(exc)}, status_code=error_status(exc))

    @app.exception_handler(RequestValidationError)
    async def invalid_request(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = jsonable_encoder(exc.errors(), exclude={"input", "url", "ctx"})
        return JSONResponse({"detail": validation_message(errors), "errors": errors}, status_code=422)


def validation_message(errors: list[dict]) -> str:
    """One readable line from pydantic errors: ``top_k: Input should be … 20``."""
    parts = []
    for err in errors:
        loc = [str(p) for p in err.get("loc", ()) if p != "body"]
        msg = str(err.get("msg", "invalid value")).removeprefix("Value error, ")
        parts.append(f"{'.'.join(loc)}: {msg}" if loc else msg)
    return "; ".join(parts) or "invalid request"


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
