"""Growing the collection over HTTP: upload, delete, reindex, and the list of skipped files.

The admin routes are off unless ``QA_ADMIN_TOKEN`` is set (they answer 404 until then);
with it, every admin request needs ``Authorization: Bearer <token>``: 401 without a bearer
token, 403 with a wrong one (compared in constant time).

* ``POST /admin/documents`` takes a multipart upload in the field ``file``. The name must
  be a plain file name (no folders, not hidden) with a supported suffix (else 400 / 415);
  the body is streamed to a hidden temporary file in the corpus and stopped past
  ``QA_MAX_UPLOAD_MB`` (413); the file then appears atomically under its name, never
  replacing an existing file unless ``?overwrite=true`` (else 409).
* ``DELETE /admin/documents/{document}`` removes a source file from the corpus.
* ``POST /admin/reindex`` (``?full=true`` to re-embed everything, ``?wait=true`` to answer
  when done) and ``GET /admin/reindex`` for the state of the last build.

An upload or delete queues a rebuild in a background thread (under the index's build lock,
so it also queues behind a running ``qa index``); requests arriving while one runs are
folded into one more build. When a build finishes the service swaps in the new index;
``/ask`` keeps answering from the old one meanwhile.

``GET /api/sources/skipped`` is public, like ``/ask``: the files left out of the index and why.
"""

from __future__ import annotations

import hmac
from pathlib import Path, PurePosixPath
from typing import Annotated, Any

from fastapi import APIRouter, Depends, FastAPI, HTTPException, Query, Request
from starlette.concurrency import run_in_threadpool

from qa.answer.service import QAService
from qa.config import Settings
from qa.http.errors import error_responses
from qa.http.schemas import DeleteResult, SkippedFile, UploadResult
from qa.http.uploads import MAX_NAME_CHARS, MULTIPART_OVERHEAD, Upload, remove_stale_uploads, too_large
from qa.index.rebuilds import Reindexer
from qa.sources.readers import supported_suffixes

AUTH = (401, 403, 404)  # no token, wrong token, admin off (404 also for unknown files)
SUFFIXES = sorted(supported_suffixes())
# The upload is streamed from the request, so its body is declared here for the schema.
UPLOAD_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "description": (
            "The file, as multipart/form-data in the field `file`. Its file name must be a plain name (no "
            "folders, no `..`, not hidden, at most " + str(MAX_NAME_CHARS) + " characters) ending in one of "
            + ", ".join(SUFFIXES) + " (else 400 or 415); an existing file is replaced only with "
            "`?overwrite=true` (else 409); larger than QA_MAX_UPLOAD_MB: 413."
        ),
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "required": ["file"],
                    "properties": {"file": {"type": "string", "format": "binary",
                                            "description": "The document, with its file name."}},
                }
            }
        },
    }
}


def install_admin(app: FastAPI, settings: Settings, service: QAService) -> None:
    """Add the admin routes and the public list of skipped files to ``app``."""
    reindexer = Reindexer(settings.corpus_dir, service.index_dir, service.embedder, service.reload_if_changed,
                          settings.ann_threshold)
    app.state.reindexer = reindexer
    remove_stale_uploads(settings.corpus_dir)
    router = APIRouter(tags=["admin"], dependencies=[Depends(_authorize(settings))])
    limit = int(settings.max_upload_mb * 1024 * 1024)

    @router.post("/admin/documents", status_code=201, response_model=UploadResult,
                 responses=error_responses(*AUTH, 400, 409, 413, 415, 422, 503), openapi_extra=UPLOAD_BODY)
    async def upload(request: Request, overwrite: bool = False) -> UploadResult:
        """Add a source file (multipart field ``file``) to the corpus and queue a reindex."""
        length = request.headers.get("content-length", "")
        if length.isdigit() and int(length) > limit + MULTIPART_OVERHEAD:
            raise too_large(limit)
        upload = Upload(settings.corpus_dir, request.headers.get("content-type", ""), limit, overwrite)
        try:
            async for chunk in request.stream():
                upload.feed(chunk)
            name, size, replaced = upload.finish()
        finally:
            upload.discard()
        return UploadResult(document=name, bytes=size, replaced=replaced, reindex=reindexer.request())

    @router.delete("/admin/documents/{document:path}", response_model=DeleteResult,
                   responses=error_responses(*AUTH, 400, 422))
    def delete(document: str) -> DeleteResult:
        """Remove a source file from the corpus and queue a reindex."""
        path = _corpus_file(settings.corpus_dir, document)
        try:
            path.unlink()
        except FileNotFoundError:
            raise HTTPException(404, f"no source file {document!r} in the corpus") from None
        return DeleteResult(document=document, deleted=True, reindex=reindexer.request())

    @router.post("/admin/reindex", status_code=202, responses=error_responses(*AUTH, 422))
    async def reindex(
        full: bool = False,
        wait: Annotated[bool, Query(description="answer when the build has finished")] = False,
    ) -> dict[str, Any]:
        """Queue an incremental (or ``full``) rebuild of the index from the corpus."""
        state = reindexer.request(full=full)
        if wait:
            await run_in_threadpool(reindexer.wait)
            state = reindexer.status()
        return state

    @router.get("/admin/reindex", responses=error_responses(*AUTH))
    def reindex_status() -> dict[str, Any]:
        """Whether a build is running or queued, and the last build's report or error."""
        return reindexer.status()

    app.include_router(router)

    @app.get("/api/sources/skipped", response_model=list[SkippedFile], tags=["documents"],
             responses=error_responses(503))
    def skipped() -> list[SkippedFile]:
        """Corpus files left out of the index (or kept at an older version), with the reason."""
        return [SkippedFile(document=d, code=s.code.value, reason=s.reason, kept=s.kept)
                for d, s in sorted(service.skipped().items())]


def _authorize(settings: Settings) -> Any:
    token = settings.admin_token

    def authorize(request: Request) -> None:
        if not token:
            raise HTTPException(404, "admin endpoints are off; set QA_ADMIN_TOKEN to turn them on")
        scheme, _, given = request.headers.get("authorization", "").partition(" ")
        given = given.strip()
        if scheme.lower() != "bearer" or not given:
            raise HTTPException(401, "send the admin token as `Authorization: Bearer <token>`",
                                headers={"WWW-Authenticate": "Bearer"})
        if not hmac.compare_digest(given.encode(), token.encode()):
            raise HTTPException(403, "wrong admin token")

    return authorize


def _corpus_file(corpus_dir: Path, document: str) -> Path:
    """The source file of a document id, refusing anything outside the corpus."""
    parts = PurePosixPath(document).parts
    if not parts or document.startswith("/") or any(p in ("", ".", "..") or p.startswith(".") for p in parts):
        raise HTTPException(400, f"{document!r} is not a document id")
    if PurePosixPath(document).suffix.lower() not in supported_suffixes():
        raise HTTPException(404, f"no source file {document!r} in the corpus")
    path = corpus_dir / Path(*parts)
    if path.is_symlink() or not path.resolve().is_relative_to(corpus_dir.resolve()) or not path.is_file():
        raise HTTPException(404, f"no source file {document!r} in the corpus")
    return path
