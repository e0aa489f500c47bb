"""The JSON API: ``/ask``, ``/api/documents`` and ``/health``, a thin layer over ``QAService``.

Routes validate their request model (``qa.http.schemas``), call the service and return a
response model; domain errors become statuses in ``qa.http.errors``.
"""

from __future__ import annotations

import os

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from qa.http.deps import ServiceDep
from qa.http.errors import error_responses
from qa.http.schemas import (
    AskRequest,
    AskResponse,
    DocumentInfo,
    DocumentText,
    Health,
    SectionInfo,
    answer_response,
    document_info,
)


def install_api(app: FastAPI) -> None:
    """Add the JSON API's routes."""
    @app.post("/ask", response_model=AskResponse, tags=["questions"],
              responses=error_responses(400, 413, 422, 503))
    def ask(body: AskRequest, service: ServiceDep) -> AskResponse:
        """Answer a question with up to ``top_k`` verbatim excerpts from the sources."""
        return answer_response(service.ask(body.question, body.top_k, body.documents, body.kinds, body.history))

    @app.get("/api/documents", response_model=list[DocumentInfo], tags=["documents"],
             responses=error_responses(503))
    def list_documents(service: ServiceDep) -> list[DocumentInfo]:
        """Every indexed document with its citation metadata."""
        return [document_info(doc, service.ocr_pages(doc.id)) for doc in service.documents()]

    @app.get("/api/documents/{document:path}", response_model=DocumentText, tags=["documents"],
             responses=error_responses(404, 422, 503))
    def get_document(document: str, service: ServiceDep) -> DocumentText:
        """One document's metadata, its full text (what offsets refer to) and its sections."""
        doc, outline = service.document_with_outline(document)
        return DocumentText(
            **document_info(doc, service.ocr_pages(doc.id)).model_dump(),
            text=doc.text,
            sections=[SectionInfo(title=t, start=s) for t, s in outline],
        )

    @app.get("/health", response_model=Health, tags=["service"],
             responses={503: {"model": Health, "description": "No index is loaded: `message` says why."}})
    def health(request: Request, service: ServiceDep) -> JSONResponse:
        """Whether an index is loaded, with its counts and the model name."""
        count = request.app.state.replicas
        replicas = count() if count else None
        if not service.ready:
            body = Health(status="no_index", documents=0, passages=0, sentences=0,
                          model=service.embedder.name, index=None, skipped={}, message=service.last_error,
                          process=os.getpid(), replicas=replicas)
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
            skipped={doc_id: skip.reason for doc_id, skip in index.manifest.skips().items()},
            message=service.last_error,
            process=os.getpid(),
            replicas=replicas,
        )
        return JSONResponse(body.model_dump())
