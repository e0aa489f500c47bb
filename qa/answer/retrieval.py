"""Hybrid retrieval: candidate sentences for a question, with the evidence for each.

Dense search (FAISS, cosine) over passages and over single sentences is fused with BM25
(``bm25s``) over passages and over sentences. Passages are ranked by reciprocal-rank fusion
of their dense and BM25 ranks; every sentence of a top passage, every sentence found
directly, and their neighbours become candidates, so that what the best passages hold is
never lost before the excerpt stage. Each candidate carries the features the excerpt stage
scores (see ``Candidates``).

Front matter and furniture (title lines, headings, datelines; see ``qa.chunking.passages``) are
candidates only for a question about a document itself ("Who wrote the paper?").
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import bm25s
import numpy as np

from qa.answer.questions import Question
from qa.embedding.encoder import Embedder
from qa.index.derived import Bm25Matrix, Ragged, lucene_idf
from qa.index.store import StoredIndex
from qa.index.wordvectors import WordVectors, soft_presence
from qa.language.lexical import STOPWORDS, words
from qa.records import BODY, Document

DENSE_PASSAGES = 24
DENSE_SENTENCES = 48
LEXICAL_PASSAGES = 24
LEXICAL_SENTENCES = 24
FUSED_PASSAGES = 24  # passages taken from the fused ranking
RRF_K = 10  # reciprocal rank fusion: 1 / (RRF_K + rank)
ALIAS_WEIGHT = 0.5  # a term matched through a gazetteer alias counts this much
_REFERENCE = re.compile(r"\b(?:the|this|that)\s+([\w’']+)", re.IGNORECASE)


@dataclass(frozen=True)
class Candidates:
    """Candidate sentence rows (ascending) and their evidence, as parallel arrays.

    * ``sentence_cos``: cosine between the question and the sentence;
    * ``passage_cos``: the best cosine between the question and a passage holding it;
    * ``sentence_bm25`` / ``passage_bm25``: BM25 of the sentence / best holding passage,
      divided by the best of the candidates (0..1);
    * ``fused``: reciprocal-rank fusion score of the best holding passage, divided by the best;
    * ``presence``: per question term, 1 when the sentence has it, ``ALIAS_WEIGHT`` when it
      has an alias of it, else 0;
    * ``soft``: per question term, the best cosine between it and a word of the sentence
      (1 when the sentence has the term itself);
    * ``context``: per question term, whether the sentence's section heading or document
      title has it (or an alias);
    * ``mentioned``: the question names the sentence's source by its kind or an author
      ("according to the blog", "what does Haddad argue") and names only some sources;
    * ``leans_back``: the sentence opens with "This", "These", "It" … and leans on the one
      before it; ``role``: BODY, FURNITURE or FRONT.
    """

    rows: np.ndarray
    sentence_cos: np.ndarray
    passage_cos: np.ndarray
    sentence_bm25: np.ndarray
    passage_bm25: np.ndarray
    fused: np.ndarray
    presence: np.ndarray  # (candidates, question terms) float
    soft: np.ndarray  # (candidates, question terms) float
    context: np.ndarray  # (candidates, question terms) bool
    focus: np.ndarray  # per question term: it is one of the words after "which", "how many" …
    term_weights: np.ndarray  # IDF of each question term
    unseen: np.ndarray  # per question term: it occurs nowhere in the collection
    mentioned: np.ndarray
    leans_back: np.ndarray
    role: np.ndarray

    def __len__(self) -> int:
        return len(self.rows)

    def coverage(self, presence: np.ndarray) -> np.ndarray:
        """IDF-weighted share of the question's terms present, per row of ``presence``."""
        total = float(self.term_weights.sum())
        if total <= 0:
            return np.zeros(len(presence), dtype=np.float32)
        return (presence @ self.term_weights / total).astype(np.float32)


class Retriever:
    """Finds candidate sentences in one loaded index.

    Everything per sentence was derived when the index was built (``qa.index.derived``); making
    a retriever touches only per-document metadata."""

    def __init__(self, index: StoredIndex, word_vectors: WordVectors | None = None,
                 embedder: Embedder | None = None) -> None:
        self.index = index
        self.word_vectors = word_vectors
        self.embedder = embedder
        self.sentence_vectors = index.sentence_vectors
        self.passage_vectors = index.passage_vectors
        d = index.derived
        self.derived = d
        self.term_ids = {t: i for i, t in enumerate(d.terms)}
        self._n = max(1, len(index.passages))
        self.passage_bm25 = d.passage_bm25.scorer()
        self.sentence_bm25 = d.sentence_bm25.scorer()
        docs = index.documents
        self._described: dict[str, list[int]] = {}  # descriptor word -> documents it describes
        for i, doc in enumerate(docs):
            for w in _descriptor_words(doc):
                self._described.setdefault(w, []).append(i)
        self._surnames = {name for doc in docs for name in _surnames(doc)}
        self.kind_words = frozenset(w for doc in docs for w in words(doc.meta.kind or "") if w not in STOPWORDS)
        self.holders = d.holders
        self.leans_back = d.leans_back
        self.body = index.sentences.role == BODY

    def idf(self, term: str) -> float:
        """Inverse document frequency of a term over passages (unseen terms weigh most)."""
        i = self.term_ids.get(term)
        df = self.derived.passage_df[i] if i is not None else np.int32(0)
        return float(lucene_idf(self._n, np.asarray(df)))

    def candidates(self, question: Question, query_vector: np.ndarray,
                   word_vectors: dict[str, np.ndarray] | None = None,
                   only: np.ndarray | None = None) -> Candidates:
        """Candidate sentences for ``question`` whose vector is ``query_vector``;
        ``word_vectors`` holds vectors of question words the index lacks, if already made;
        ``only`` (document rows) limits every search to those documents."""
        n_passages, n_sentences = len(self.passage_vectors), len(self.sentence_vectors)
        if n_sentences == 0:
            return _empty()
        allowed = None if only is None else _Allowed(self.index, only)
        q = query_vector.reshape(1, -1).astype(np.float32)
        qterms = list(question.terms)
        lexical = self._lexical_queries(question)

        rows_set: set[int] = set()
        if allowed is None:
            _, hits = self.index.sentence_index.search(q, min(DENSE_SENTENCES, n_sentences))
            rows_set.update(int(i) for i in hits[0] if i >= 0)
            _, hits = self.index.passage_index.search(q, min(DENSE_PASSAGES, n_passages))
            dense_passages = [int(i) for i in hits[0] if i >= 0]
        else:  # exact search over the allowed rows only
            rows_set.update(allowed.nearest(self.sentence_vectors, allowed.sentences, q[0], DENSE_SENTENCES))
            dense_passages = allowed.nearest(self.passage_vectors, allowed.passages, q[0], DENSE_PASSAGES)
        sentence_bm25 = np.zeros(n_sentences, dtype=np.float32)
        passage_bm25 = np.zeros(n_passages, dtype=np.float32)
        lexical_passages: list[int] = []
        if lexical:
            sentence_bm25 = _weighted_bm25(self.sentence_bm25, lexical)
            passage_bm25 = _weighted_bm25(self.passage_bm25, lexical)
            if allowed is not None:
                sentence_bm25[~allowed.sentence_mask] = 0.0
                passage_bm25[~allowed.passage_mask] = 0.0
            rows_set.update(_top_positive(sentence_bm25, LEXICAL_SENTENCES))
            lexical_passages = _top_positive(passage_bm25, LEXICAL_PASSAGES)
        fused = np.zeros(n_passages, dtype=np.float32)
        for ranking in (dense_passages, lexical_passages):
            for rank, p in enumerate(ranking):
                fused[p] += 1.0 / (RRF_K + rank + 1)
        first, last = self.index.passages.first, self.index.passages.last
        for p in _top_positive(fused, FUSED_PASSAGES):
            rows_set.update(range(int(first[p]), int(last[p]) + 1))
        # Neighbours too, so that an excerpt can take in the sentences before or after.
        found = np.fromiter(rows_set, dtype=np.int64)
        near = (found[:, None] + np.arange(-2, 3)[None, :]).ravel()
        rows = np.unique(near[(near >= 0) & (near < n_sentences)])
        if allowed is not None:
            rows = rows[allowed.sentence_mask[rows]]
        if not question.about_document:
            rows = rows[self.body[rows]]  # structure gives citations, not answers

        qv = q[0]
        holders = self.holders[rows]
        held = holders >= 0
        safe = np.maximum(holders, 0)
        passage_cos = np.where(held, self.passage_vectors[safe] @ qv, -1.0).max(axis=1)
        best_passage_bm25 = np.where(held, passage_bm25[safe], 0.0).max(axis=1)
        best_fused = np.where(held, fused[safe], 0.0).max(axis=1)
        own = [self.term_ids.get(t, -1) for t in qterms]
        aliases = [[self.term_ids[a] for a in alias if a in self.term_ids] for alias in question.aliases]
        d = self.derived
        has_term, has_alias = _holding(d.sentence_bm25, rows, own, aliases)
        presence = np.where(has_term, 1.0, np.where(has_alias, ALIAS_WEIGHT, 0.0)).astype(np.float32)
        in_term, in_alias = _matches(d.contexts, d.sentence_context[rows], own, aliases)
        context = in_term | in_alias
        if self.word_vectors is not None and self.embedder is not None and qterms:
            qvecs = self.word_vectors.of(list(question.surface), self.embedder, word_vectors)
            soft = soft_presence(qvecs, self.word_vectors.vectors, d.sentence_words, rows)
            soft = np.maximum(soft, (presence >= 1).astype(np.float32))
        else:
            soft = presence.copy()
        bm25 = sentence_bm25[rows]
        cos = (self.sentence_vectors[rows] @ qv).astype(np.float32)
        return Candidates(
            rows=rows,
            sentence_cos=cos,
            passage_cos=passage_cos.astype(np.float32),
            sentence_bm25=_relative(bm25),
            passage_bm25=_relative(best_passage_bm25),
            fused=_relative(best_fused),
            presence=presence,
            soft=soft,
            context=context,
            focus=np.array([t in question.focus for t in qterms], dtype=bool),
            term_weights=np.array([self.idf(t) * question.weight(i) for i, t in enumerate(qterms)], dtype=np.float32),
            unseen=np.array([i < 0 or d.passage_df[i] == 0 for i in own], dtype=bool),
            mentioned=np.isin(self.index.sentences.doc[rows], self._mentioned(question.text)
                              or (self._mentioned(question.context) if question.context else [])),
            leans_back=self.leans_back[rows],
            role=self.index.sentences.role[rows],
        )

    def _lexical_queries(self, question: Question) -> list[tuple[float, list[int]]]:
        """The BM25 queries of a question as ``(weight, term ids)``: its terms and their
        aliases, grouped by how much the terms count (one group unless it is a follow-up)."""
        qterms = list(question.terms)
        if not question.weights or all(w == 1.0 for w in question.weights):
            query = qterms + sorted({a for group in question.aliases for a in group} - set(qterms))
            ids = [self.term_ids[t] for t in query if t in self.term_ids]
            return [(1.0, ids)] if ids else []
        weight_of: dict[str, float] = {}
        for i, (t, group) in enumerate(zip(qterms, question.aliases)):
            for term in (t, *sorted(group)):
                weight_of[term] = max(weight_of.get(term, 0.0), question.weight(i))
        groups: dict[float, list[int]] = {}
        for term, w in weight_of.items():
            if term in self.term_ids:
                groups.setdefault(w, []).append(self.term_ids[term])
        return sorted(groups.items(), reverse=True)

    def _mentioned(self, question: str) -> list[int]:
        """Documents the question names by kind ("the blog") or author, if it singles some out."""
        asked = {w for w in words(question) if w in self._surnames}
        asked |= {w for ref in _REFERENCE.findall(question) for w in words(ref)}
        hits = sorted({i for w in asked for i in self._described.get(w, ())})
        return hits if len(hits) < len(self.index.documents) else []


class _Allowed:
    """The sentence and passage rows of some documents (each document's rows are contiguous)."""

    def __init__(self, index: StoredIndex, documents: np.ndarray) -> None:
        self.sentence_mask = np.isin(index.sentences.doc, documents)
        self.passage_mask = np.isin(index.passages.doc, documents)
        self.sentences = np.flatnonzero(self.sentence_mask)
        self.passages = np.flatnonzero(self.passage_mask)

    @staticmethod
    def nearest(vectors: np.ndarray, rows: np.ndarray, query: np.ndarray, k: int) -> list[int]:
        """The ``k`` rows of ``rows`` whose vectors are nearest ``query``, nearest first."""
        if len(rows) == 0:
            return []
        scores = vectors[rows] @ query
        top = np.argsort(-scores, kind="stable")[:k]
        return [int(r) for r in rows[top]]


def _weighted_bm25(scorer: bm25s.BM25, queries: list[tuple[float, list[int]]]) -> np.ndarray:
    """BM25 scores of every row for weighted queries: the weighted sum of each one's scores."""
    total: np.ndarray | None = None
    for weight, ids in queries:
        scores = scorer.get_scores_from_ids(ids).astype(np.float32)
        scores = scores if weight == 1.0 else scores * np.float32(weight)
        total = scores if total is None else total + scores
    assert total is not None
    return total


def _relative(values: np.ndarray) -> np.ndarray:
    """Values divided by their maximum (0 when all are 0)."""
    top = float(values.max()) if len(values) else 0.0
    return (values / top if top > 0 else np.zeros_like(values)).astype(np.float32)


def _top_positive(scores: np.ndarray, k: int) -> list[int]:
    """Indices of the ``k`` highest scores above zero, best first."""
    if len(scores) > k:
        part = np.argpartition(-scores, k)[:k]
        top = part[np.argsort(-scores[part], kind="stable")]
    else:
        top = np.argsort(-scores, kind="stable")
    return [int(i) for i in top if scores[i] > 0]


def _holding(matrix: Bm25Matrix, rows: np.ndarray, own: list[int], aliases: list[list[int]]
             ) -> tuple[np.ndarray, np.ndarray]:
    """``_matches`` for the sorted ``rows`` of a BM25 matrix, read from each term's
    posting list (the rows holding it, sorted) rather than from the rows' own terms."""
    has_term = np.zeros((len(rows), len(own)), dtype=bool)
    has_alias = np.zeros((len(rows), len(own)), dtype=bool)

    def holds(term: int) -> np.ndarray:
        postings = matrix.indices[matrix.indptr[term] : matrix.indptr[term + 1]]
        if not len(postings):
            return np.zeros(len(rows), dtype=bool)
        at = np.minimum(np.searchsorted(postings, rows), len(postings) - 1)
        return postings[at] == rows

    for j, (term, alias) in enumerate(zip(own, aliases)):
        if term >= 0:
            has_term[:, j] = holds(term)
        for a in alias:
            has_alias[:, j] |= holds(a)
    return has_term, has_alias


def _matches(table: Ragged, rows: np.ndarray, own: list[int], aliases: list[list[int]]
             ) -> tuple[np.ndarray, np.ndarray]:
    """Per (row, question term): whether the row of ``table`` holds the term (id in ``own``,
    -1 when the collection lacks it), and whether it holds one of the term's aliases."""
    values, owner = table.gather(rows)
    has_term = np.zeros((len(rows), len(own)), dtype=bool)
    has_alias = np.zeros((len(rows), len(own)), dtype=bool)
    for j, (term, alias) in enumerate(zip(own, aliases)):
        if term >= 0:
            has_term[owner[values == term], j] = True
        if alias:
            has_alias[owner[np.isin(values, alias)], j] = True
    return has_term, has_alias


def _descriptor_words(doc: Document) -> set[str]:
    """Words a question may use to name a document: its kind and its authors' surnames.

    >>> from qa.records import DocumentMeta
    >>> sorted(_descriptor_words(Document("a", "", DocumentMeta("T", ("Ann Lee",), kind="blog post"), "")))
    ['blog', 'lee', 'post']
    """
    meta = doc.meta
    found = {w for w in words(meta.kind or "") if w not in STOPWORDS}
    return found | _surnames(doc)


def _surnames(doc: Document) -> set[str]:
    """The last word of each author's name, lower-cased: ``{"haddad", …}``."""
    return {names[-1] for names in (words(author) for author in doc.meta.authors) if names}


def _empty() -> Candidates:
    z = np.zeros(0, dtype=np.float32)
    no = np.zeros(0, dtype=bool)
    m = np.zeros((0, 0), dtype=np.float32)
    return Candidates(np.zeros(0, dtype=np.int64), z, z, z, z, z, m, m, np.zeros((0, 0), dtype=bool), no, z,
                      no, no, no, np.zeros(0, dtype=np.int8))
