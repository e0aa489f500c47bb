"""Hybrid retrieval: candidate sentences for a question, with the evidence for each.

Dense search (FAISS, cosine) over passages and over single sentences is fused with BM25
over passages (``bm25s``). Every sentence of a retrieved passage, and every sentence the
dense sentence search finds, becomes a candidate described by a few features that the
excerpt stage combines:

* ``sentence_cos``: cosine between the question and the sentence;
* ``passage_cos``: the best cosine between the question and a passage holding the sentence;
* ``bm25``: the best BM25 score of such a passage, squashed into 0..1;
* ``coverage``: the IDF-weighted share of the question's content terms in the sentence;
* ``context_coverage``: the same share over the sentence's best passage.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import bm25s
import numpy as np

from qa.lexical import query_terms, terms
from qa.store import StoredIndex, vectors_of

DENSE_PASSAGES = 24
DENSE_SENTENCES = 48
LEXICAL_PASSAGES = 24
BM25_HALF = 6.0  # a BM25 score of this much maps to 0.5


@dataclass(frozen=True)
class Candidates:
    """Candidate sentence rows and their features, as parallel arrays."""

    rows: np.ndarray
    passage: np.ndarray  # the best passage row of each sentence
    sentence_cos: np.ndarray
    passage_cos: np.ndarray
    bm25: np.ndarray
    coverage: np.ndarray
    context_coverage: np.ndarray
    question_weight: float  # total IDF of the question's terms (0: no known content words)


class Retriever:
    """Finds candidate sentences in one loaded index."""

    def __init__(self, index: StoredIndex) -> None:
        self.index = index
        self.sentence_vectors = vectors_of(index.sentence_index)
        self.passage_vectors = vectors_of(index.passage_index)
        docs = index.documents
        s, p = index.sentences, index.passages
        self.sentence_terms = [set(terms(docs[d].text[a:b])) for d, a, b in zip(s.doc, s.start, s.end)]
        passage_tokens = [terms(docs[d].text[a:b]) for d, a, b in zip(p.doc, p.start, p.end)]
        self.passage_terms = [set(t) for t in passage_tokens]
        n = max(1, len(passage_tokens))
        df: dict[str, int] = {}
        for bag in self.passage_terms:
            for t in bag:
                df[t] = df.get(t, 0) + 1
        self._df = df
        self._n = n
        self.bm25 = bm25s.BM25()
        if passage_tokens:
            self.bm25.index([t or [""] for t in passage_tokens], show_progress=False)
        # sentence row -> passages holding it (a sentence sits in one or two, given the overlap)
        self.sentence_passages: list[list[int]] = [[] for _ in range(len(s))]
        assert p.first is not None and p.last is not None
        for row, (first, last) in enumerate(zip(p.first, p.last)):
            for sentence in range(int(first), int(last) + 1):
                self.sentence_passages[sentence].append(row)

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
        weights = {t: self.idf(t) for t in qterms}
        total = sum(weights.values())

        _, p_hits = self.index.passage_index.search(q, min(DENSE_PASSAGES, n_passages))
        _, s_hits = self.index.sentence_index.search(q, min(DENSE_SENTENCES, n_sentences))
        bm25_scores = np.zeros(n_passages, dtype=np.float32)
        lexical_hits: list[int] = []
        if qterms and n_passages:
            bm25_scores = self.bm25.get_scores(qterms).astype(np.float32)
            top = np.argsort(-bm25_scores)[:LEXICAL_PASSAGES]
            lexical_hits = [int(i) for i in top if bm25_scores[i] > 0]

        passages = {int(i) for i in p_hits[0] if i >= 0} | set(lexical_hits)
        rows_set = {int(i) for i in s_hits[0] if i >= 0}
        first, last = self.index.passages.first, self.index.passages.last
        assert first is not None and last is not None
        for p in passages:
            rows_set.update(range(int(first[p]), int(last[p]) + 1))
        rows = np.fromiter(sorted(rows_set), dtype=np.int64)

        qv = q[0]
        sentence_cos = self.sentence_vectors[rows] @ qv
        best_passage = np.empty(len(rows), dtype=np.int64)
        passage_cos = np.empty(len(rows), dtype=np.float32)
        for i, row in enumerate(rows):
            holders = self.sentence_passages[int(row)]
            cos = self.passage_vectors[holders] @ qv
            j = int(np.argmax(cos))
            best_passage[i], passage_cos[i] = holders[j], cos[j]
        bm25 = np.array([max(bm25_scores[h] for h in self.sentence_passages[int(r)]) for r in rows])
        coverage = np.array([self._coverage(weights, total, self.sentence_terms[int(r)]) for r in rows])
        context = np.array([self._coverage(weights, total, self.passage_terms[int(p)]) for p in best_passage])
        return Candidates(
            rows=rows,
            passage=best_passage,
            sentence_cos=sentence_cos.astype(np.float32),
            passage_cos=passage_cos,
            bm25=(bm25 / (bm25 + BM25_HALF)).astype(np.float32),
            coverage=coverage.astype(np.float32),
            context_coverage=context.astype(np.float32),
            question_weight=total,
        )

    @staticmethod
    def _coverage(weights: dict[str, float], total: float, bag: set[str]) -> float:
        if total <= 0:
            return 0.0
        return sum(w for t, w in weights.items() if t in bag) / total


def _empty() -> Candidates:
    z = np.zeros(0, dtype=np.float32)
    return Candidates(np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64), z, z, z, z, z, 0.0)
