"""The JSON shapes of the API, shared by the HTTP routes and ``qa ask --json``.

Only pydantic: importing this module does not load FastAPI, so the CLI prints the same JSON
as ``POST /ask`` without starting a web stack.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated, Any

from pydantic import BaseModel, Field, field_validator

from qa.answer.service import MAX_HISTORY, MAX_QUESTION_CHARS, MAX_TOP_K
from qa.records import Answer, Citation, Document, Excerpt, SkipCode

MAX_FILTER = 1000  # documents or kinds one question may be limited to


class AskRequest(BaseModel):
    """A question and how many excerpts to return."""

    question: str = Field(
        ..., max_length=MAX_QUESTION_CHARS,
        json_schema_extra={"minLength": 1, "pattern": r"\S"},  # checked by not_blank, to say so plainly
        description=f"The question: 1 to {MAX_QUESTION_CHARS} characters, not only spaces.",
        examples=["When was the dam completed?"],
    )
    top_k: int = Field(5, ge=1, le=MAX_TOP_K, description=f"How many excerpts to return, 1 to {MAX_TOP_K}.")
    documents: list[Annotated[str, Field(max_length=1000)]] | None = Field(
        None, min_length=1, max_length=MAX_FILTER,
        description="Answer only from these documents (ids as /api/documents gives them); an unknown id is a 422.")
    history: list[Annotated[str, Field(max_length=MAX_QUESTION_CHARS)]] = Field(
        [], max_length=MAX_HISTORY,
        description=f"The conversation's earlier questions, oldest first (at most {MAX_HISTORY}, each at most "
                    f"{MAX_QUESTION_CHARS} characters). A question that leans on them (\"Who signed it?\", "
                    "\"What about Peru?\") is answered as the conversation means it; one that stands on its own "
                    "is answered as without them.",
        examples=[["When was the dam completed?"]])
    kinds: list[Annotated[str, Field(max_length=200)]] | None = Field(
        None, min_length=1, max_length=MAX_FILTER,
        description="Answer only from documents of these kinds (metadata `kind`, e.g. \"blog post\").")

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
    interpreted_as: str | None = Field(
        None, description="How a follow-up was read: the question, then in brackets the earlier questions' words "
                          "it was answered with. Null when the history changed nothing.")


class DocumentInfo(BaseModel):
    document: str
    title: str
    authors: list[str]
    date: str | None
    url: str | None
    kind: str | None = Field(description="What sort of source it is, e.g. blog post.")
    characters: int
    pages: int | None
    ocr_pages: list[int] = Field([], description="Pages whose text was recognised from their image by OCR "
                                                 "(Tesseract) rather than read from a text layer.")


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
    replicas: int | None = Field(None, description="With `qa serve --ray`: how many Ray Serve replicas are running.")


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
        interpreted_as=answer.interpreted_as,
    )


def answer_of(response: AskResponse) -> Answer:
    """The ``Answer`` an API response was made from (the inverse of ``answer_response``)."""
    return Answer(
        question=response.question,
        no_answer=response.no_answer,
        excerpts=tuple(
            Excerpt(text=a.text, highlight=(a.highlight.start, a.highlight.end), score=a.score,
                    source=Citation(**a.source.model_dump()))
            for a in response.answers
        ),
        took_ms=response.took_ms,
        interpreted_as=response.interpreted_as,
    )


def document_info(doc: Document, ocr_pages: Sequence[int] = ()) -> DocumentInfo:
    """The API form of a document's metadata (``ocr_pages``: pages read from a scan)."""
    return DocumentInfo(
        document=doc.id,
        title=doc.meta.title,
        authors=list(doc.meta.authors),
        date=doc.meta.date,
        url=doc.meta.url,
        kind=doc.meta.kind,
        characters=len(doc.text),
        pages=len(doc.page_starts) or None,
        ocr_pages=list(ocr_pages),
    )


# -- administration ------------------------------------------------------------------------


class SkippedFile(BaseModel):
    document: str
    code: str = Field(description="Why, as a code: " + ", ".join(c.value for c in SkipCode) + ".")
    reason: str = Field(description="Why, in words.")
    kept: bool = Field(description="Whether the previously indexed version of the file stays in the index.")


class UploadResult(BaseModel):
    document: str
    bytes: int
    replaced: bool
    reindex: dict[str, Any]


class DeleteResult(BaseModel):
    document: str
    deleted: bool
    reindex: dict[str, Any]
