"""The answering service: the one object the web layer and the CLI talk to.

It owns the loaded index and the embedder, answers questions, lists documents, and swaps
in a rebuilt index without interrupting questions in flight: a question runs against the
``_Loaded`` snapshot it started with, and a reload replaces the snapshot in one assignment.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Generic, TypeVar

import numpy as np

from qa.answer.conversation import Followup, interpret, query_vector
from qa.answer.excerpts import Windows, excerpt, select, single_relevance, windows
from qa.answer.questions import Question, analyse
from qa.answer.retrieval import Candidates, Retriever
from qa.answer.scoring import ScoringModel, load_model
from qa.embedding.encoder import Embedder, QueryBatcher
from qa.errors import DocumentNotFoundError, IndexMissingError, InvalidRequestError, QAError
from qa.index.builds import read_pointer
from qa.index.store import StoredIndex, load_index
from qa.index.wordvectors import WordVectors, general_words
from qa.language.entities import SpacyTagger
from qa.records import Answer, Document, Excerpt, Skip

MAX_QUESTION_CHARS = 1000
MAX_TOP_K = 20
MAX_HISTORY = 10  # earlier questions a follow-up may lean on
RECENT_QUESTIONS = 1024  # earlier questions whose parse and vector are kept
T = TypeVar("T")


class Recent(Generic[T]):
    """The last ``size`` values put, by key (thread-safe)."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._items: OrderedDict[str, T] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: str) -> T | None:
        with self._lock:
            value = self._items.get(key)
            if value is not None:
                self._items.move_to_end(key)
            return value

    def put(self, key: str, value: T) -> None:
        with self._lock:
            self._items[key] = value
            self._items.move_to_end(key)
            while len(self._items) > self.size:
                self._items.popitem(last=False)

    def split(self, keys: Sequence[str]) -> tuple[dict[str, T], list[str]]:
        """The values kept for ``keys``, and the keys (distinct, in order) with none."""
        found = {k: self.get(k) for k in keys}
        return {k: v for k, v in found.items() if v is not None}, [k for k, v in found.items() if v is None]

    def put_all(self, values: dict[str, T]) -> None:
        for key, value in values.items():
            self.put(key, value)


@dataclass(frozen=True)
class _Loaded:
    index: StoredIndex
    retriever: Retriever
    pointer: str


@dataclass(frozen=True)
class Reading:
    """What a question finds in an index before anything fitted weighs it: the question
    analysed, its candidate sentences and their windows with features."""

    index: StoredIndex
    question: Question
    candidates: Candidates
    windows: Windows


def read(index: StoredIndex, retriever: Retriever, question: str, vector: np.ndarray,
         word_vectors: dict[str, np.ndarray] | None = None) -> Reading:
    """Analyse ``question`` (encoded as ``vector``) and gather its candidates and windows."""
    return read_question(index, retriever, analyse(question, retriever.kind_words), vector, word_vectors)


def read_question(index: StoredIndex, retriever: Retriever, q: Question, vector: np.ndarray,
                  word_vectors: dict[str, np.ndarray] | None = None, only: np.ndarray | None = None) -> Reading:
    """``read`` for a question already analysed (``only``: document rows to answer from)."""
    c = retriever.candidates(q, vector, word_vectors, only)
    return Reading(index, q, c, windows(index, c, q, retriever.sentence_vectors, vector))


def respond(reading: Reading, model: ScoringModel, top_k: int) -> tuple[list[Excerpt], bool]:
    """The best ``top_k`` excerpts of a reading and whether the sources fail to answer."""
    win, c = reading.windows, reading.candidates
    relevance = model.relevance(win)
    picks = select(reading.index, c, win, relevance, top_k)
    scores, declined = model.judge(c, win, relevance, picks)
    single = single_relevance(win, relevance)
    excerpts = [excerpt(reading.index, c, win, p, reading.question, score, single)
                for p, score in zip(picks, scores)]
    return excerpts, declined


def _only(index: StoredIndex, documents: Sequence[str] | None, kinds: Sequence[str] | None) -> np.ndarray | None:
    """The document rows a question is limited to, or None for all; unknown ids or kinds
    raise ``InvalidRequestError`` naming them."""
    if documents is None and kinds is None:
        return None
    rows = set(range(len(index.documents)))
    if documents is not None:
        unknown = sorted(set(documents) - set(index.doc_rows))
        if unknown:
            some = ", ".join(repr(d.id) for d in index.documents[:3])
            raise InvalidRequestError(f"documents: no document {', '.join(map(repr, unknown))} in the index; it has "
                                      f"{len(index.documents)} ({some}{', …' if len(index.documents) > 3 else ''})")
        rows &= {index.doc_rows[d] for d in documents}
    if kinds is not None:
        known = {d.meta.kind for d in index.documents if d.meta.kind}
        unknown = sorted(set(kinds) - known)
        if unknown:
            raise InvalidRequestError(f"kinds: no document of kind {', '.join(map(repr, unknown))}; the kinds are "
                                      + (", ".join(map(repr, sorted(known))) or "none (no document has a kind)"))
        rows &= {i for i, d in enumerate(index.documents) if d.meta.kind in set(kinds)}
    if not rows:
        raise InvalidRequestError("documents and kinds: no document is both of those documents and of those kinds")
    return np.array(sorted(rows), dtype=np.int64)


class QAService:
    """Answers questions from the index in ``index_dir`` with ``embedder``; ``model`` is
    the fitted scoring model (the packaged one by default)."""

    def __init__(self, index_dir: Path, embedder: Embedder, model: ScoringModel | None = None) -> None:
        self.index_dir = index_dir
        self.embedder = embedder
        self.queries = QueryBatcher(embedder)
        self.model = model or load_model()
        self._loaded: _Loaded | None = None
        self._reload_lock = threading.Lock()
        self._general: WordVectors | None = None
        self.parser = SpacyTagger()  # parses follow-up questions; loaded on first use
        # A conversation sends its earlier questions again with every turn: their parses and
        # vectors are kept a while.
        self._parses: Recent[Any] = Recent(RECENT_QUESTIONS)
        self._question_vectors: Recent[np.ndarray] = Recent(RECENT_QUESTIONS)
        self.last_error: str | None = None

    # -- index lifecycle -------------------------------------------------------------

    def load(self) -> None:
        """Load the live index now; raises the domain error if there is none or it is bad."""
        with self._reload_lock:
            index = load_index(self.index_dir, self.embedder.name)
            words = WordVectors(index.vocabulary, index.word_vectors, self._general_words())
            self._loaded = _Loaded(index, Retriever(index, words, self.embedder), index.path.name)
            self.last_error = None

    def _general_words(self) -> WordVectors | None:
        """Common English words for soft matching, for a real model (cached per model)."""
        cache = getattr(self.embedder, "words_cache", None)
        if cache is None:
            return None
        if self._general is None:
            self._general = general_words(self.embedder, cache())
        return self._general

    def reload_if_changed(self) -> bool:
        """Load a rebuilt index if ``CURRENT`` changed; keep serving the old one on failure."""
        pointer = read_pointer(self.index_dir)  # an empty file is tried, and its error kept
        current = self._loaded
        if pointer is None or (current is not None and current.pointer == pointer):
            return False
        try:
            self.load()
        except QAError as exc:
            self.last_error = str(exc)
            return False
        return True

    @property
    def loaded(self) -> _Loaded:
        """The current snapshot; raises ``IndexMissingError`` when none is loaded."""
        current = self._loaded
        if current is None:
            raise IndexMissingError(
                self.last_error or f"no index in {self.index_dir}: run `qa index` to build it"
            )
        return current

    @property
    def ready(self) -> bool:
        """Whether an index is loaded."""
        return self._loaded is not None

    # -- questions ---------------------------------------------------------------------

    def ask(self, question: str, top_k: int = 5, documents: Sequence[str] | None = None,
            kinds: Sequence[str] | None = None, history: Sequence[str] = ()) -> Answer:
        """Answer ``question`` with up to ``top_k`` verbatim excerpts, from the ``documents``
        (ids) and of the ``kinds`` given, or from all; ``history`` holds the conversation's
        earlier questions, oldest first, which a follow-up question leans on."""
        started = time.perf_counter()
        question = validate_question(question)
        earlier = validate_history(history)
        if not 1 <= top_k <= MAX_TOP_K:
            raise InvalidRequestError(f"top_k {top_k} must be between 1 and {MAX_TOP_K}")
        snapshot = self.loaded
        only = _only(snapshot.index, documents, kinds)
        retriever = snapshot.retriever
        q = analyse(question, retriever.kind_words)
        followup = Followup(q)
        if earlier:
            followup = interpret(q, [analyse(h, retriever.kind_words) for h in earlier], self._parse)
            q = followup.question
        # The earlier questions a follow-up leans on (unless met lately) and the question words
        # the index has no vector for ride along with the question: one model run.
        chain = list(followup.chain)
        have, missing = self._question_vectors.split(chain)
        unknown = retriever.word_vectors.unknown(q.surface) if retriever.word_vectors is not None else []
        vectors = self.queries.encode_query([question, *missing, *unknown])
        made = dict(zip(missing, vectors[1 : 1 + len(missing)]))
        self._question_vectors.put_all(made)
        have |= made
        vector = query_vector(vectors[0], [have[t] for t in chain], followup.leans)
        words = dict(zip(unknown, vectors[1 + len(missing) :]))
        reading = read_question(snapshot.index, retriever, q, vector, words, only)
        excerpts, no_answer = respond(reading, self.model, top_k)
        return Answer(
            question=question,
            no_answer=no_answer,
            excerpts=tuple(excerpts),
            took_ms=round((time.perf_counter() - started) * 1000, 2),
            interpreted_as=followup.interpreted_as,
        )

    def _parse(self, texts: list[str]) -> list[Any]:
        """``texts`` parsed, those parsed lately taken from ``_parses``."""
        have, missing = self._parses.split(texts)
        made = dict(zip(missing, self.parser.parse(missing) if missing else []))
        self._parses.put_all(made)
        have |= made
        return [have[t] for t in texts]

    # -- documents ---------------------------------------------------------------------

    def documents(self) -> list[Document]:
        """Every indexed document, in corpus order."""
        return list(self.loaded.index.documents)

    def ocr_pages(self, document_id: str) -> tuple[int, ...]:
        """The pages (1-based) of a document whose text was recognised by OCR."""
        info = self.loaded.index.manifest.documents.get(document_id, {})
        return tuple(info.get("source", {}).get("ocr_pages", ()))

    def document(self, document_id: str) -> Document:
        """One indexed document; raises ``DocumentNotFoundError``."""
        return self.document_with_outline(document_id)[0]

    def skipped(self) -> dict[str, Skip]:
        """Files of the corpus left out of the loaded index, each with its code and reason.

        A skip that is ``kept`` means the file could not be read but its last good version
        is still indexed and answered from.
        """
        return self.loaded.index.manifest.skips()

    def outline(self, document_id: str) -> list[tuple[str, int]]:
        """Sections of a document as ``(title, first offset)``, in order."""
        return self.document_with_outline(document_id)[1]

    def document_with_outline(self, document_id: str) -> tuple[Document, list[tuple[str, int]]]:
        """A document and its sections, both from the same loaded index (a reload may land
        between two calls; offsets must not mix builds)."""
        index = self.loaded.index
        row = index.doc_rows.get(document_id)
        if row is None:
            raise DocumentNotFoundError(f"no document {document_id!r} in the index")
        s = index.sentences
        lo, hi = np.searchsorted(s.doc, row, side="left"), np.searchsorted(s.doc, row, side="right")
        out: list[tuple[str, int]] = []
        for i in range(int(lo), int(hi)):
            if s.section[i] and (not out or out[-1][0] != s.section[i]):
                out.append((str(s.section[i]), int(s.start[i])))
        return index.documents[row], out


def prepare_model(embedder: Embedder) -> None:
    """Make what the first use of ``embedder`` makes and caches (an ONNX export, the vectors
    of common words), so that several server processes starting at once find it made."""
    embedder.warm_up()
    cache = getattr(embedder, "words_cache", None)
    if cache is not None:
        general_words(embedder, cache())


def validate_history(history: Sequence[str]) -> list[str]:
    """The earlier questions trimmed, blank ones left out; raises ``InvalidRequestError``
    when there are more than ``MAX_HISTORY`` or one is too long."""
    if isinstance(history, str):
        raise InvalidRequestError("history must be a list of earlier questions, not one string")
    if len(history) > MAX_HISTORY:
        raise InvalidRequestError(f"history has {len(history)} questions; the limit is {MAX_HISTORY} "
                                  "(send the most recent ones)")
    out = []
    for n, item in enumerate(history, 1):
        if not isinstance(item, str):
            raise InvalidRequestError(f"history item {n} is not a string")
        if len(item) > MAX_QUESTION_CHARS:
            raise InvalidRequestError(f"history item {n} is {len(item)} characters; the limit is {MAX_QUESTION_CHARS}")
        if item.strip():
            out.append(item.strip())
    return out


def validate_question(question: str) -> str:
    """The question trimmed; raises ``InvalidRequestError`` if blank or too long."""
    if not isinstance(question, str) or not question.strip():
        raise InvalidRequestError("question must not be blank")
    if len(question) > MAX_QUESTION_CHARS:
        raise InvalidRequestError(
            f"question is {len(question)} characters; the limit is {MAX_QUESTION_CHARS}"
        )
    return question.strip()


__all__ = ["QAService", "prepare_model", "validate_history", "validate_question"]
