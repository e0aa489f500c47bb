"""HTML pages: the chat page, the source list and the source viewer.

Thin routes over ``QAService``: each calls the service, turns records into view models
(``qa.http.views``) and renders a template. The chat form posts to ``/`` and gets the answer
rendered by the server, so the page works without JavaScript; with it, ``chat.js`` posts
the question to ``/chat/turn`` and puts the turn the server rendered in place (and has stored
turns rendered again by ``/chat/render``): cards are built in one place, ``_cards.html``.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import FastAPI, Form, Request
from fastapi.responses import HTMLResponse, Response
from fastapi.templating import Jinja2Templates

from qa.answer.service import MAX_HISTORY, QAService
from qa.errors import DocumentNotFoundError, QAError
from qa.http.deps import ServiceDep
from qa.http.errors import error_status
from qa.http.schemas import AskRequest, AskResponse, answer_of, document_info
from qa.http.views import (
    Suggestion,
    Turn,
    anchor,
    cited_range,
    document_href,
    external_url,
    section_at,
    suggestions,
    turn,
    viewer_pieces,
)
from qa.records import Document

DEFAULT_TOP_K = 5
# Suggestions come from the first documents' outlines; more would only cost time.
SUGGESTION_DOCUMENTS = 8


def install_pages(app: FastAPI, templates: Jinja2Templates) -> None:
    """Add the page routes to ``app``."""

    def page(request: Request, name: str, context: dict[str, Any], status: int = 200) -> Response:
        return templates.TemplateResponse(request, name, context, status_code=status)

    def problem(request: Request, exc: QAError) -> Response:
        status = error_status(exc)
        heading = "We couldn't find that source" if status == 404 else "The sources aren't available"
        return page(request, "error.html", {"heading": heading, "message": str(exc)}, status)

    def chat_page(request: Request, service: QAService, question: str | None, document: str = "",
                  history: list[str] | None = None) -> Response:
        earlier = [h for h in (history or []) if h.strip()][-MAX_HISTORY:]
        context: dict[str, Any] = {
            "turn": None, "error": None, "question": "", "suggestions": [], "sources": [], "document": document,
            "unavailable": None if service.ready else service.last_error or "No index is loaded yet.",
            "history": earlier,
        }
        status = 200
        try:
            context["suggestions"] = _suggestions(request.app, service)
            context["sources"] = [(d.id, d.meta.title) for d in service.documents()] if service.ready else []
            if question is not None:
                answer = service.ask(question, DEFAULT_TOP_K, [document] if document else None, history=earlier)
                context["turn"] = turn(answer)
                context["history"] = [*earlier, answer.question][-MAX_HISTORY:]  # what the next question carries
        except QAError as exc:  # a blank question (422), no index (503)
            context |= {"error": str(exc), "question": question or ""}
            status = error_status(exc)
        return page(request, "chat.html", context, status)

    def fragment(request: Request, view: Turn) -> Response:
        return page(request, "_turn.html", {"turn": view})

    @app.post("/chat/turn", include_in_schema=False, response_class=HTMLResponse)
    def chat_turn(request: Request, body: AskRequest, service: ServiceDep) -> Response:
        """One question answered as the chat page's turn markup (for chat.js); errors are JSON, as for /ask."""
        return fragment(request, turn(service.ask(body.question, body.top_k, body.documents, body.kinds, body.history)))

    @app.post("/chat/render", include_in_schema=False, response_class=HTMLResponse)
    def chat_render(request: Request, body: AskResponse) -> Response:
        """A stored ``/ask`` response rendered again as turn markup (chat.js restores its conversation)."""
        return fragment(request, turn(answer_of(body)))

    @app.get("/", include_in_schema=False, response_class=HTMLResponse)
    def chat(request: Request, service: ServiceDep, q: str | None = None, document: str = "") -> Response:
        """The chat page; ``?q=`` answers a question (the suggestion links use it), from one
        ``document`` if given."""
        return chat_page(request, service, q, document)

    @app.post("/", include_in_schema=False, response_class=HTMLResponse)
    def chat_form(request: Request, service: ServiceDep, question: Annotated[str, Form()] = "",
                  document: Annotated[str, Form()] = "",
                  history: Annotated[list[str] | None, Form()] = None) -> Response:
        """The chat form posted without JavaScript: the page with the answer rendered. The
        form carries the conversation's earlier questions (``history``) for follow-ups."""
        return chat_page(request, service, question, document, history)

    @app.get("/documents", include_in_schema=False, response_class=HTMLResponse)
    def documents(request: Request, service: ServiceDep) -> Response:
        """Every source with its citation metadata."""
        try:
            sources = [_source(doc, service) for doc in service.documents()]
            skipped = sorted(service.skipped().items())
        except QAError as exc:
            return problem(request, exc)
        return page(request, "documents.html", {"sources": sources, "skipped": skipped})

    @app.get("/documents/{document:path}", include_in_schema=False, response_class=HTMLResponse)
    def viewer(
        request: Request, document: str, service: ServiceDep,
        start: str | None = None, end: str | None = None, hs: str | None = None, he: str | None = None,
    ) -> Response:
        """One source, whole, with the cited range ``start``–``end`` marked (``hs``–``he`` inside it)."""
        try:
            doc, outline = service.document_with_outline(document)
        except QAError as exc:
            if isinstance(exc, DocumentNotFoundError):
                exc = DocumentNotFoundError(f"There is no source called “{document}” in the collection.")
            return problem(request, exc)
        cited = cited_range(len(doc.text), start, end)
        answer = cited_range(len(doc.text), hs, he) if cited else None
        before, inside, after = viewer_pieces(doc.text, outline, cited, answer)
        current = section_at(outline, cited[0]) if cited else None
        sections = [
            {"title": title, "anchor": anchor(offset), "current": i == current}
            for i, (title, offset) in enumerate(outline)
        ]
        context = {
            "source": _source(doc, service), "sections": sections, "cited": cited,
            "before": before, "inside": inside, "after": after,
        }
        return page(request, "viewer.html", context)


def _source(doc: Document, service: QAService) -> dict[str, Any]:
    """A document's metadata for the pages, with its viewer link and a safe original link."""
    return {"info": document_info(doc, service.ocr_pages(doc.id)), "href": document_href(doc.id),
            "url": external_url(doc.meta.url)}


def _suggestions(app: FastAPI, service: QAService) -> list[Suggestion]:
    """Example questions for the loaded index, computed once per index build."""
    if not service.ready:
        return []
    pointer = service.loaded.pointer
    cached: tuple[str, list[Suggestion]] | None = getattr(app.state, "suggestions", None)
    if cached is None or cached[0] != pointer:
        docs = service.documents()[:SUGGESTION_DOCUMENTS]
        cached = (pointer, suggestions([(doc, service.outline(doc.id)) for doc in docs]))
        app.state.suggestions = cached
    return cached[1]
