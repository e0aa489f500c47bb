"""The one error body every route returns, and the statuses each route declares.

Every error, whatever raised it, is ``{"detail": "<what is wrong and what to do>"}``, with
``errors`` (pydantic's list of what failed where) when a request did not validate. Routes
declare the statuses they can answer with ``responses=error_responses(...)``, so that the
OpenAPI schema (and a client generated from it) knows every status and its body.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from qa.errors import (
    DocumentNotFoundError,
    IndexCorruptError,
    IndexMismatchError,
    IndexMissingError,
    InvalidRequestError,
    QAError,
)

_STATUS: dict[type[QAError], int] = {
    InvalidRequestError: 422,
    DocumentNotFoundError: 404,
    IndexMissingError: 503,
    IndexCorruptError: 503,
    IndexMismatchError: 503,
}


class ErrorItem(BaseModel):
    """One thing in a request that did not validate."""

    type: str = Field(description="What kind of problem, e.g. missing or string_too_long.")
    loc: list[str | int] = Field(description="Where: body, query or path, then the field.")
    msg: str = Field(description="What is wrong, in words.")


class ErrorResponse(BaseModel):
    """What every error response carries."""

    detail: str = Field(description="What is wrong and, where it helps, what to do about it.",
                        examples=["question: question must not be blank"])
    errors: list[ErrorItem] | None = Field(None, description="For 422: each field that did not validate.")


DESCRIPTIONS: dict[int, str] = {
    400: "The request is malformed: a body that cannot be parsed, an upload without a multipart `file` field, "
         "a file name with folders, hidden or too long, or a document id that is not one.",
    401: "No admin token: send `Authorization: Bearer <token>`.",
    403: "Wrong admin token.",
    404: "Not found: an unknown document, or the admin endpoints are off (QA_ADMIN_TOKEN is not set).",
    409: "The file already exists in the corpus; add `?overwrite=true` to replace it.",
    413: "The request body is too large (64 KB for JSON; QA_MAX_UPLOAD_MB for uploads).",
    415: "Unsupported file type: the suffix has no reader.",
    422: "The request did not validate: `errors` says which field and why.",
    503: "No index is loaded, or it is damaged or incompatible: `detail` says how to build it.",
}

EXAMPLES: dict[int, str] = {
    400: "file name 'a/b.txt' must be a plain name without folders",
    401: "send the admin token as `Authorization: Bearer <token>`",
    403: "wrong admin token",
    404: "no document 'missing.txt' in the index",
    409: "notes.txt already exists in the corpus; add ?overwrite=true to replace it",
    413: "request body is 70000 bytes; the limit is 65536 bytes",
    415: "photo.png: unsupported file type; supported: .docx, .htm, .html, .markdown, .md, .pdf, .text, .txt",
    422: "top_k: Input should be less than or equal to 20",
    503: "no index in index: run `qa index` to build it from the corpus",
}


def error_responses(*codes: int) -> dict[int | str, dict[str, Any]]:
    """The ``responses=`` entry of a route that can answer with ``codes``."""
    return {
        code: {
            "model": ErrorResponse,
            "description": DESCRIPTIONS[code],
            "content": {"application/json": {"example": {"detail": EXAMPLES[code]}}},
        }
        for code in codes
    }


def error_status(exc: QAError) -> int:
    """The HTTP status of a domain error."""
    return next((code for cls, code in _STATUS.items() if isinstance(exc, cls)), 500)


def install_error_handlers(app: FastAPI) -> None:
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
