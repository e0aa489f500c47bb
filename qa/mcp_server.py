"""``qa mcp``: qa as a Model Context Protocol server over stdio, so that an AI agent can ask
the collection and quote it, and check every quote against the source.

Tools (the official ``mcp`` SDK's ``MCPServer``; results are the JSON shapes of the HTTP API):

* ``ask(question, top_k, history, documents, kinds)``: what ``POST /ask`` answers: verbatim excerpts,
  their citations (document, title, section, page, character range), highlights, scores
  and ``no_answer``;
* ``list_documents()``: every indexed document with its citation metadata (``/api/documents``);
* ``get_document(document, start, end)``: a document's text, or the range ``start:end`` of
  it, which is where every excerpt's offsets point, so an agent can verify a quote.

stdout carries the protocol only; logs go to stderr.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

from pydantic import BaseModel, Field

from qa.answer.service import QAService
from qa.errors import InvalidRequestError, QAError
from qa.http.schemas import AskResponse, DocumentInfo, answer_response, document_info

INSTRUCTIONS = (
    "qa answers only with verbatim excerpts of its documents. Call `ask` with a question; each answer's "
    "`text` is exactly the document's text between `source.start` and `source.end` (check it with "
    "`get_document`). When `no_answer` is true the documents do not answer: say so rather than guess."
)


class DocumentRange(BaseModel):
    document: str
    title: str
    start: int = Field(description="Offset of `text` in the document's text.")
    end: int
    characters: int = Field(description="Length of the whole document text.")
    text: str = Field(description="The document's text from start to end, verbatim.")


@contextlib.contextmanager
def _told() -> Iterator[None]:
    """A bad request (an unknown document, a bad range) reaches the agent as the tool's error
    message; anything else stays the SDK's generic error."""
    from mcp.server.mcpserver.exceptions import ToolError

    try:
        yield
    except QAError as exc:
        raise ToolError(str(exc)) from exc


def build_server(service: QAService) -> Any:
    """The MCP server over a loaded ``service``."""
    from mcp.server.mcpserver import MCPServer

    server = MCPServer("qa", instructions=INSTRUCTIONS)

    @server.tool()
    def ask(question: str, top_k: int = 5, history: list[str] | None = None, documents: list[str] | None = None,
            kinds: list[str] | None = None) -> AskResponse:
        """Answer a question with up to `top_k` (1-20) verbatim, cited excerpts from the documents,
        optionally only from the given document ids or kinds. `history`: the conversation's earlier
        questions, oldest first (at most 10), so that a follow-up ("Who signed it?") is read with
        them; `interpreted_as` then shows the words carried in. `no_answer` true means the documents
        do not answer it (the excerpts are then only the nearest passages)."""
        with _told():
            return answer_response(service.ask(question, top_k, documents, kinds, history or ()))

    @server.tool()
    def list_documents() -> list[DocumentInfo]:
        """Every indexed document: its id, title, authors, date, URL, kind, length and pages."""
        return [document_info(doc, service.ocr_pages(doc.id)) for doc in service.documents()]

    @server.tool()
    def get_document(document: str, start: int | None = None, end: int | None = None) -> DocumentRange:
        """A document's text (all of it, or the characters start:end), the text every excerpt's
        offsets refer to."""
        with _told():
            doc = service.document(document)
            lo = 0 if start is None else start
            hi = len(doc.text) if end is None else end
            if not 0 <= lo <= hi <= len(doc.text):
                raise InvalidRequestError(f"start {start} and end {end} must satisfy 0 <= start <= end <= "
                                          f"{len(doc.text)}, the document's length")
        return DocumentRange(document=doc.id, title=doc.meta.title, start=lo, end=hi, characters=len(doc.text),
                             text=doc.text[lo:hi])

    return server


def serve_mcp(service: QAService) -> None:
    """Load the index and speak MCP over stdio until the client closes it."""
    service.load()
    service.embedder.warm_up()
    service.parser.warm_up()  # a follow-up's parse is quick from the first one
    build_server(service).run("stdio")
