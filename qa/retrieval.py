"""Hybrid retrieval: candidate sentences for a question, with the evidence for each.

Dense search (FAISS, cosine) over passages and over single sentences is fused with BM25
(``bm25s``) over passages and over sentences. Passages are ranked by reciprocal-rank fusion
of their dense and BM25 ranks; every sentence of a top passage, every sentence found
directly, and their neighbours become candidates, so that what the best passages hold is
never lost before the excerpt stage. Each candidate carries the features the excerpt stage
scores (see ``Candidates``).

Front matter and furniture (title lines, headings, datelines; see ``qa.chunking``) are
candidates only for a question about a document itself ("Who wrote the paper?").
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

import bm25s
import numpy as np

from qa.embedding import Embedder
from qa.lexical import STOPWORDS, stem, terms, words
from qa.questions import Question
from qa.records import BODY, Document
from qa.store import StoredIndex, vectors_of
from qa.wordvectors import WordVectors, soft_presence

# A sentence opening with one of these leans on the sentence before it.
_ANAPHORIC = re.compile(r"^(?:This|These|That|Those|Such|It|They|Its|Their)\b")
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
      ("according to the blog", "what does Karami argue") and names only some sources;
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
    """Finds candidate sentences in one loaded index."""

    def __init__(self, index: StoredIndex, word_vectors: WordVectors | None = None,
                 embedder: Embedder | None = None) -> None:
        self.index = index
        self.word_vectors = word_vectors
        self.embedder = embedder
        self.sentence_vectors = vectors_of(index.sentence_index)
        self.passage_vectors = vectors_of(index.passage_index)
        docs = index.documents
        s, p = index.sentences, index.passages
        texts = [docs[d].text[a:b] for d, a, b in zip(s.doc, s.start, s.end)]
        split = [words(t) for t in texts]  # once per sentence: terms and word vectors share it
        self.sentence_terms = [{stem(w) for w in found if w not in STOPWORDS} for found in split]
        self.sentence_words = [word_vectors.word_ids(found) for found in split] if word_vectors else None
        self.leans_back = np.array(
            [i > 0 and s.doc[i - 1] == s.doc[i] and bool(_ANAPHORIC.match(t)) for i, t in enumerate(texts)],
            dtype=bool,
        )
        section_terms: dict[str | None, frozenset[str]] = {}
        title_terms = [frozenset(terms(doc.meta.title)) for doc in docs]
        self.context_terms = []
        for d, section in zip(s.doc, s.section):
            if section not in section_terms:
                section_terms[section] = frozenset(terms(section or ""))
            self.context_terms.append(section_terms[section] | title_terms[int(d)])
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
        self.kind_words = frozenset(w for doc in docs for w in words(doc.meta.kind or "") if w not in STOPWORDS)
        self.holders = _holders(index)
        self.body = (s.role == BODY) if s.role is not None else np.ones(len(s), dtype=bool)

    def idf(self, term: str) -> float:
        """Inverse document frequency of a term over passages (unseen terms weigh most)."""
        df = self._df.get(term, 0)
        return math.log(1.0 + (self._n - df + 0.5) / (df + 0.5))

    def candidates(self, question: Question, query_vector: np.ndarray) -> Candidates:
        """Candidate sentences for ``question`` whose vector is ``query_vector``."""
        n_passages, n_sentences = len(self.passage_vectors), len(self.sentence_vectors)
        if n_sentences == 0:
            return _empty()
        q = query_vector.reshape(1, -1).astype(np.float32)
        qterms = list(question.terms)
        lexical_query = qterms + sorted({a for group in question.aliases for a in group} - set(qterms))

        rows_set: set[int] = set()
        _, hits = self.index.sentence_index.search(q, min(DENSE_SENTENCES, n_sentences))
        rows_set.update(int(i) for i in hits[0] if i >= 0)
        _, hits = self.index.passage_index.search(q, min(DENSE_PASSAGES, n_passages))
        dense_passages = [int(i) for i in hits[0] if i >= 0]
        sentence_bm25 = np.zeros(n_sentences, dtype=np.float32)
        passage_bm25 = np.zeros(n_passages, dtype=np.float32)
        lexical_passages: list[int] = []
        if lexical_query:
            sentence_bm25 = self.sentence_bm25.get_scores(lexical_query).astype(np.float32)
            rows_set.update(_top_positive(sentence_bm25, LEXICAL_SENTENCES))
            passage_bm25 = self.passage_bm25.get_scores(lexical_query).astype(np.float32)
            lexical_passages = _top_positive(passage_bm25, LEXICAL_PASSAGES)
        fused = np.zeros(n_passages, dtype=np.float32)
        for ranking in (dense_passages, lexical_passages):
            for rank, p in enumerate(ranking):
                fused[p] += 1.0 / (RRF_K + rank + 1)
        first, last = self.index.passages.first, self.index.passages.last
        assert first is not None and last is not None
        for p in _top_positive(fused, FUSED_PASSAGES):
            rows_set.update(range(int(first[p]), int(last[p]) + 1))
        # Neighbours too, so that an excerpt can take in the sentences before or after.
        for row in list(rows_set):
            rows_set.update(r for r in (row - 2, row - 1, row + 1, row + 2) if 0 <= r < n_sentences)
        rows = np.fromiter(sorted(rows_set), dtype=np.int64)
        if not question.about_document:
            rows = rows[self.body[rows]]  # structure gives citations, not answers

        qv = q[0]
        holders = self.holders[rows]
        held = holders >= 0
        safe = np.maximum(holders, 0)
        passage_cos = np.where(held, self.passage_vectors[safe] @ qv, -1.0).max(axis=1)
        best_passage_bm25 = np.where(held, passage_bm25[safe], 0.0).max(axis=1)
        best_fused = np.where(held, fused[safe], 0.0).max(axis=1)
        presence = np.zeros((len(rows), len(qterms)), dtype=np.float32)
        context = np.zeros((len(rows), len(qterms)), dtype=bool)
        for i, r in enumerate(rows):
            have, around = self.sentence_terms[int(r)], self.context_terms[int(r)]
            for j, (t, alias) in enumerate(zip(qterms, question.aliases)):
                if t in have:
                    presence[i, j] = 1.0
                elif alias and not alias.isdisjoint(have):
                    presence[i, j] = ALIAS_WEIGHT
                context[i, j] = t in around or (bool(alias) and not alias.isdisjoint(around))
        if self.word_vectors is not None and self.sentence_words is not None and self.embedder is not None and qterms:
            qvecs = self.word_vectors.of(list(question.surface), self.embedder)
            soft = soft_presence(qvecs, self.word_vectors.vectors, [self.sentence_words[int(r)] for r in rows])
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
            term_weights=np.array([self.idf(t) for t in qterms], dtype=np.float32),
            unseen=np.array([t not in self._df for t in qterms], dtype=bool),
            mentioned=np.isin(self.index.sentences.doc[rows], self._mentioned(question.text)),
            leans_back=self.leans_back[rows],
            role=self.index.sentences.role[rows] if self.index.sentences.role is not None else np.zeros(len(rows)),
        )

    def _mentioned(self, question: str) -> list[int]:
        """Documents the question names by kind ("the blog") or author, if it singles some out."""
        asked = {w for w in words(question) if w in self._surnames}
        asked |= {w for ref in _REFERENCE.findall(question) for w in words(ref)}
        hits = [i for i, bag in enumerate(self.descriptors) if bag & asked]
        return hits if len(hits) < len(self.descriptors) else []


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
    m = np.zeros((0, 0), dtype=np.float32)
    return Candidates(np.zeros(0, dtype=np.int64), z, z, z, z, z, m, m, np.zeros((0, 0), dtype=bool), no, z,
                      no, no, no, np.zeros(0, dtype=np.int8))
