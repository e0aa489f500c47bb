"""Hybrid retrieval: candidate sentences for a question, with the evidence for each.

Dense search (FAISS, cosine) over passages and over single sentences is fused with BM25
(``bm25s``) over passages and over sentences. Every sentence of a retrieved passage, every
sentence found directly, and their neighbours become candidates, described by features
that the excerpt stage combines:

* ``sentence_cos``: cosine between the question and the sentence;
* ``passage_cos``: the best cosine between the question and a passage holding the sentence;
* ``sentence_bm25``: BM25 of the sentence, squashed into 0..1;
* ``presence``: which of the question's content terms the sentence contains (their IDF
  weights give the coverage of a sentence or of a run of sentences);
* ``mentioned``: 1 when the question names the sentence's source by its kind or an author
  ("according to the blog", "what does Karami argue") and names only some sources;
* ``leans_back``: the sentence opens with "This", "These", "It" … and leans on the one
  before it.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

import bm25s
import numpy as np

from qa.lexical import STOPWORDS, query_terms, terms, words
from qa.records import Document
from qa.store import StoredIndex, vectors_of

# A sentence opening with one of these leans on the sentence before it.
_ANAPHORIC = re.compile(r"^(?:This|These|That|Those|Such|It|They|Its|Their)\b")
DENSE_PASSAGES = 24
DENSE_SENTENCES = 48
LEXICAL_PASSAGES = 24
LEXICAL_SENTENCES = 24
BM25_HALF = 6.0  # a BM25 score of this much maps to 0.5
_REFERENCE = re.compile(r"\b(?:the|this|that)\s+([\w’']+)", re.IGNORECASE)


@dataclass(frozen=True)
class Candidates:
    """Candidate sentence rows (ascending) and their features, as parallel arrays."""

    rows: np.ndarray
    sentence_cos: np.ndarray
    passage_cos: np.ndarray
    sentence_bm25: np.ndarray
    presence: np.ndarray  # (candidates, question terms) bool
    terms: tuple[str, ...]  # the question's content terms, the columns of ``presence``
    term_weights: np.ndarray  # IDF of each of them
    mentioned: np.ndarray
    leans_back: np.ndarray

    def __len__(self) -> int:
        return len(self.rows)

    @property
    def weights_by_term(self) -> dict[str, float]:
        """IDF of each question term, keyed by term."""
        return {t: float(w) for t, w in zip(self.terms, self.term_weights)}

    def coverage(self, presence: np.ndarray) -> np.ndarray:
        """IDF-weighted share of the question's terms present, per row of ``presence``."""
        total = float(self.term_weights.sum())
        if total <= 0:
            return np.zeros(len(presence), dtype=np.float32)
        return (presence @ self.term_weights / total).astype(np.float32)


class Retriever:
    """Finds candidate sentences in one loaded index."""

    def __init__(self, index: StoredIndex) -> None:
        self.index = index
        self.sentence_vectors = vectors_of(index.sentence_index)
        self.passage_vectors = vectors_of(index.passage_index)
        docs = index.documents
        s, p = index.sentences, index.passages
        texts = [docs[d].text[a:b] for d, a, b in zip(s.doc, s.start, s.end)]
        self.sentence_terms = [set(terms(t)) for t in texts]
        self.leans_back = np.array(
            [i > 0 and s.doc[i - 1] == s.doc[i] and bool(_ANAPHORIC.match(t)) for i, t in enumerate(texts)],
            dtype=bool,
        )
        passage_tokens = [terms(docs[d].text[a:b]) for d, a, b in zip(p.doc, p.start, p.end)]
        self._df: dict[str, int] = {}
        for tokens in passage_tokens:
            for t in set(tokens):
                self._df[t] = self._df.get(t, 0) + 1
        self._n = max(1, len(passage_tokens))
        self.passage_bm25 = bm25s.BM25()
        if passage_tokens:
            self.passage_bm25.index([t or [""] for t in passage_tokens], show_progress=False)
        self.sentence_bm25 = bm25s.BM25()
        if texts:
            self.sentence_bm25.index([sorted(t) or [""] for t in self.sentence_terms], show_progress=False)
        self.descriptors = [_descriptor_words(doc) for doc in docs]
        self._surnames = {name for doc in docs for name in _surnames(doc)}
        self.holders = _holders(index)

    def idf(self, term: str) -> float:
        """Inverse document frequency of a term over passages (unseen terms weigh most)."""
        df = self._df.get(term, 0)
        return math.log(1.0 + (self._n - df + 0.5) / (df + 0.5))

    def candidates(self, question: str, query_vector: np.ndarray) -> Candidates:
        """Candidate sentences for ``question`` whose vector is ``query_vector``."""
        n_passages, n_sentences = len(self.passage_vectors), len(self.sentence_vectors)
        if n_sentences == 0:
            return _empty()
        q = query_vector.reshape(1, -1).astype(np.float32)
        qterms = query_terms(question)

        rows_set: set[int] = set()
        _, hits = self.index.sentence_index.search(q, min(DENSE_SENTENCES, n_sentences))
        rows_set.update(int(i) for i in hits[0] if i >= 0)
        _, hits = self.index.passage_index.search(q, min(DENSE_PASSAGES, n_passages))
        passages = {int(i) for i in hits[0] if i >= 0}
        sentence_bm25 = np.zeros(n_sentences, dtype=np.float32)
        if qterms:
            sentence_bm25 = self.sentence_bm25.get_scores(qterms).astype(np.float32)
            rows_set.update(_top_positive(sentence_bm25, LEXICAL_SENTENCES))
            passages.update(_top_positive(self.passage_bm25.get_scores(qterms), LEXICAL_PASSAGES))
        first, last = self.index.passages.first, self.index.passages.last
        assert first is not None and last is not None
        for p in passages:
            rows_set.update(range(int(first[p]), int(last[p]) + 1))
        # Neighbours too, so that an excerpt can take in the sentences before or after.
        for row in list(rows_set):
            rows_set.update(r for r in (row - 2, row - 1, row + 1, row + 2) if 0 <= r < n_sentences)
        rows = np.fromiter(sorted(rows_set), dtype=np.int64)

        qv = q[0]
        holders = self.holders[rows]
        passage_cos = np.where(holders >= 0, self.passage_vectors[np.maximum(holders, 0)] @ qv, -1.0).max(axis=1)
        presence = np.array([[t in self.sentence_terms[int(r)] for t in qterms] for r in rows], dtype=bool)
        bm25 = sentence_bm25[rows]
        return Candidates(
            rows=rows,
            sentence_cos=(self.sentence_vectors[rows] @ qv).astype(np.float32),
            passage_cos=passage_cos.astype(np.float32),
            sentence_bm25=(bm25 / (bm25 + BM25_HALF)).astype(np.float32),
            presence=presence.reshape(len(rows), len(qterms)),
            terms=tuple(qterms),
            term_weights=np.array([self.idf(t) for t in qterms], dtype=np.float32),
            mentioned=np.isin(self.index.sentences.doc[rows], self._mentioned(question)),
            leans_back=self.leans_back[rows],
        )

    def _mentioned(self, question: str) -> list[int]:
        """Documents the question names by kind ("the blog") or author, if it singles some out."""
        asked = {w for w in words(question) if w in self._surnames}
        asked |= {w for ref in _REFERENCE.findall(question) for w in words(ref)}
        hits = [i for i, bag in enumerate(self.descriptors) if bag & asked]
        return hits if len(hits) < len(self.descriptors) else []



def _top_positive(scores: np.ndarray, k: int) -> list[int]:
    """Indices of the ``k`` highest scores above zero."""
    top = np.argsort(-scores)[:k]
    return [int(i) for i in top if scores[i] > 0]


def _holders(index: StoredIndex) -> np.ndarray:
    """For each sentence row, the passages holding it, padded with -1: shape (sentences, h)."""
    p = index.passages
    assert p.first is not None and p.last is not None
    lists: list[list[int]] = [[] for _ in range(len(index.sentences))]
    for row, (first, last) in enumerate(zip(p.first, p.last)):
        for sentence in range(int(first), int(last) + 1):
            lists[sentence].append(row)
    width = max((len(h) for h in lists), default=1) or 1
    out = np.full((len(lists), width), -1, dtype=np.int64)
    for i, h in enumerate(lists):
        out[i, : len(h)] = h
    return out


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
    """The last word of each author's name, lower-cased: ``{"karami", …}``."""
    return {names[-1] for names in (words(author) for author in doc.meta.authors) if names}


def _empty() -> Candidates:
    z = np.zeros(0, dtype=np.float32)
    no = np.zeros(0, dtype=bool)
    return Candidates(np.zeros(0, dtype=np.int64), z, z, z, np.zeros((0, 0), dtype=bool), (), z, no, no)
