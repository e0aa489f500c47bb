"""Hybrid retrieval: candidate sentences for a question, with the evidence for each.

Dense search (FAISS, cosine) over passages and over single sentences is fused with BM25
over passages (``bm25s``). Every sentence of a retrieved passage, and every sentence the
dense sentence search finds, becomes a candidate described by a few features that the
excerpt stage combines:

* ``sentence_cos``: cosine between the question and the sentence;
* ``passage_cos``: the best cosine between the question and a passage holding the sentence;
* ``bm25``: the best BM25 score of such a passage, squashed into 0..1;
* ``coverage``: the IDF-weighted share of the question's content terms in the sentence;
* ``context_coverage``: the same share over the sentence's best passage;
* ``sentence_bm25``: BM25 of the sentence itself, squashed into 0..1;
* ``mentioned``: 1 when the question names the sentence's source by its kind or an author
  ("according to the blog", "what does Karami argue") and names only some sources.
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

DENSE_PASSAGES = 24
DENSE_SENTENCES = 48
LEXICAL_PASSAGES = 24
LEXICAL_SENTENCES = 24
BM25_HALF = 6.0  # a BM25 score of this much maps to 0.5
_REFERENCE = re.compile(r"\b(?:the|this|that)\s+([\w’']+)", re.IGNORECASE)


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
    sentence_bm25: np.ndarray
    mentioned: np.ndarray
    vectors: np.ndarray  # the sentences' vectors, one row per candidate
    bags: list[set[str]]  # the sentences' terms
    term_weights: dict[str, float]  # IDF of each question term
    question_weight: float  # total IDF of the question's terms (0: no known content words)

    def __len__(self) -> int:
        return len(self.rows)


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
        self.sentence_bm25 = bm25s.BM25()
        if len(s):
            self.sentence_bm25.index([sorted(t) or [""] for t in self.sentence_terms], show_progress=False)
        self.descriptors = [_descriptor_words(doc) for doc in docs]
        self._surnames = {words(a)[-1] for doc in docs for a in doc.meta.authors if words(a)}
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

        all_sentence_bm25 = np.zeros(n_sentences, dtype=np.float32)
        if qterms:
            all_sentence_bm25 = self.sentence_bm25.get_scores(qterms).astype(np.float32)
            top = np.argsort(-all_sentence_bm25)[:LEXICAL_SENTENCES]
            lexical_hits_s = [int(i) for i in top if all_sentence_bm25[i] > 0]
        else:
            lexical_hits_s = []

        passages = {int(i) for i in p_hits[0] if i >= 0} | set(lexical_hits)
        rows_set = {int(i) for i in s_hits[0] if i >= 0} | set(lexical_hits_s)
        first, last = self.index.passages.first, self.index.passages.last
        assert first is not None and last is not None
        for p in passages:
            rows_set.update(range(int(first[p]), int(last[p]) + 1))
        # Neighbours too, so that an excerpt can take in the sentence before or after.
        for row in list(rows_set):
            rows_set.update(r for r in (row - 2, row - 1, row + 1, row + 2) if 0 <= r < n_sentences)
        rows = np.fromiter(sorted(rows_set), dtype=np.int64)

        mentioned_docs = self._mentioned(question)
        sentence_bm25 = all_sentence_bm25[rows]
        qv = q[0]
        vectors = self.sentence_vectors[rows]
        sentence_cos = vectors @ qv
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
            sentence_bm25=(sentence_bm25 / (sentence_bm25 + BM25_HALF)).astype(np.float32),
            mentioned=np.isin(self.index.sentences.doc[rows], mentioned_docs).astype(np.float32),
            vectors=vectors,
            bags=[self.sentence_terms[int(r)] for r in rows],
            term_weights=weights,
            question_weight=total,
        )

    def _mentioned(self, question: str) -> list[int]:
        """Documents the question names by kind ("the blog") or author, if it singles some out."""
        asked = {w for w in words(question) if w in self._surnames}
        asked |= {w for ref in _REFERENCE.findall(question) for w in words(ref)}
        hits = [i for i, bag in enumerate(self.descriptors) if bag & asked]
        return hits if len(hits) < len(self.descriptors) else []

    @staticmethod
    def _coverage(weights: dict[str, float], total: float, bag: set[str]) -> float:
        if total <= 0:
            return 0.0
        return sum(w for t, w in weights.items() if t in bag) / total


def _descriptor_words(doc: Document) -> set[str]:
    """Words a question may use to name a document: its kind and its authors' surnames.

    >>> from qa.records import DocumentMeta
    >>> sorted(_descriptor_words(Document("a", "", DocumentMeta("T", ("Ann Lee",), kind="blog post"), "")))
    ['blog', 'lee', 'post']
    """
    meta = doc.meta
    found = {w for w in words(meta.kind or "") if w not in STOPWORDS}
    found |= {words(author)[-1] for author in meta.authors if words(author)}
    return found


def _empty() -> Candidates:
    z = np.zeros(0, dtype=np.float32)
    rows = np.zeros(0, dtype=np.int64)
    return Candidates(rows, rows, z, z, z, z, z, z, z, np.zeros((0, 1), dtype=np.float32), [], {}, 0.0)
