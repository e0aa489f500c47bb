"""What retrieval needs that follows from the records alone, computed once per build.

Loading an index must not redo corpus-wide Python work, so ``qa index`` stores, beside
the records, every per-sentence fact retrieval uses, as flat integer arrays:

* ``sentence_terms`` / ``passage_terms``: ids of the stemmed content terms of each sentence
  (distinct) and each passage (with repeats, for term frequency), into ``terms``;
* ``sentence_words``: ids of each sentence's distinct content words, into the vocabulary
  of word vectors (``qa.index.wordvectors``);
* ``contexts`` and ``sentence_context``: the terms of each (document title, section heading)
  pair, and which pair each sentence sits under;
* ``leans_back``: the sentence opens with "This", "It" … and leans on the one before;
* ``holders``: the passages holding each sentence; ``passage_df``: passage frequency per term;
* the two BM25 matrices (``bm25s``' sparse layout) over passages and over sentences.

A rebuild tokenises only new and changed documents: an unchanged document's rows are
sliced from the previous build and its ids mapped onto the new vocabularies, all in NumPy.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import bm25s
import numpy as np

from qa.language.lexical import STOPWORDS, distinct_content, stem, terms, words

# A sentence opening with one of these leans on the sentence before it.
_ANAPHORIC = re.compile(r"^(?:This|These|That|Those|Such|It|They|Its|Their)\b")
BM25_K1 = 1.5  # bm25s' defaults (Lucene's BM25)
BM25_B = 0.75


def positions(lengths: np.ndarray) -> np.ndarray:
    """For runs of the given lengths laid end to end, each element's position in its run:
    ``positions([2, 0, 3]) == [0, 1, 0, 1, 2]``."""
    lengths = np.asarray(lengths, dtype=np.int64)
    return np.arange(int(lengths.sum())) - np.repeat(np.cumsum(lengths) - lengths, lengths)


def lucene_idf(rows: int, df: np.ndarray) -> np.ndarray:
    """BM25's inverse document frequency (Lucene's, as ``bm25s`` uses) of terms held by
    ``df`` of ``rows`` rows."""
    return np.log(1.0 + (rows - df + 0.5) / (df + 0.5))


@dataclass(frozen=True)
class Ragged:
    """Rows of integers of varying length: row ``i`` is ``values[ptr[i]:ptr[i + 1]]``."""

    ptr: np.ndarray  # int64, one more than the rows
    values: np.ndarray  # int32

    @classmethod
    def of(cls, rows: Iterable[Sequence[int]]) -> Ragged:
        """From Python lists (used for new documents only)."""
        lists = [list(r) for r in rows]
        ptr = np.zeros(len(lists) + 1, dtype=np.int64)
        ptr[1:] = np.cumsum([len(r) for r in lists], dtype=np.int64) if lists else []
        flat = [v for r in lists for v in r]
        return cls(ptr, np.asarray(flat, dtype=np.int32))

    @classmethod
    def concat(cls, parts: Sequence[Ragged]) -> Ragged:
        """Rows of each part, one part after another."""
        if not parts:
            return cls(np.zeros(1, dtype=np.int64), np.zeros(0, dtype=np.int32))
        sizes = np.cumsum([0] + [int(p.ptr[-1] - p.ptr[0]) for p in parts[:-1]])
        ptr = np.concatenate([np.zeros(1, dtype=np.int64)]
                             + [p.ptr[1:] - p.ptr[0] + s for p, s in zip(parts, sizes)])
        return cls(ptr, np.concatenate([p.values[p.ptr[0]:p.ptr[-1]] for p in parts]).astype(np.int32))

    def __len__(self) -> int:
        return len(self.ptr) - 1

    def slice(self, lo: int, hi: int) -> Ragged:
        """Rows ``lo`` to ``hi`` (a view, re-based by ``concat``)."""
        return Ragged(self.ptr[lo : hi + 1], self.values)

    def mapped(self, mapping: np.ndarray) -> Ragged:
        """The same rows with every value ``v`` replaced by ``mapping[v]``."""
        span = self.values[self.ptr[0] : self.ptr[-1]]
        return Ragged(self.ptr - self.ptr[0], mapping[span].astype(np.int32))

    def gather(self, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The values of ``rows`` flattened, and for each value the position of its row in ``rows``."""
        starts, ends = self.ptr[rows], self.ptr[np.asarray(rows) + 1]
        lengths = ends - starts
        owner = np.repeat(np.arange(len(rows)), lengths)
        return self.values[np.repeat(starts, lengths) + positions(lengths)], owner


@dataclass(frozen=True)
class DocumentTokens:
    """One new document's tokens, as strings (ids are given when the build is assembled)."""

    sentence_terms: list[list[str]]
    passage_terms: list[list[str]]
    sentence_words: list[list[str]]
    leans_back: np.ndarray
    word_counts: np.ndarray


def document_tokens(text: str, sentences: Sequence[tuple[int, int]], passages: Sequence[tuple[int, int]]
                    ) -> DocumentTokens:
    """Tokens of a document's sentences and passages, given as ``(start, end)`` spans."""
    sentence_texts = [text[a:b] for a, b in sentences]
    split = [words(t) for t in sentence_texts]
    return DocumentTokens(
        sentence_terms=[sorted({stem(w) for w in found if w not in STOPWORDS}) for found in split],
        passage_terms=[terms(text[a:b]) for a, b in passages],
        sentence_words=[distinct_content(found) for found in split],
        leans_back=np.array([i > 0 and bool(_ANAPHORIC.match(t)) for i, t in enumerate(sentence_texts)],
                            dtype=bool),
        word_counts=np.array([len(t.split()) for t in sentence_texts], dtype=np.int32),
    )


def word_counts(texts: Sequence[str], doc: np.ndarray, start: np.ndarray, end: np.ndarray) -> np.ndarray:
    """Whitespace-separated words per sentence row (for builds stored before
    ``Derived.word_counts`` was; a build stores it)."""
    return np.array([len(texts[d][a:b].split()) for d, a, b in zip(doc.tolist(), start.tolist(), end.tolist())],
                    dtype=np.int32)


class Vocabulary:
    """Merges the strings of new documents with an old build's vocabulary into one sorted list.

    Old rows keep their ids until ``merge``; new rows are added as strings. ``merge`` keeps
    only strings some row uses, so what deleted documents used is dropped.
    """

    def __init__(self, old: Sequence[str]) -> None:
        self.old = np.asarray(old, dtype=str) if len(old) else np.zeros(0, dtype="<U1")
        self.new_ids: dict[str, int] = {}

    def add(self, rows: list[list[str]]) -> Ragged:
        """New rows of strings, as provisional ids (numbered after the old vocabulary)."""
        base = len(self.old)
        ids = self.new_ids
        return Ragged.of([[base + ids.setdefault(w, len(ids)) for w in row] for row in rows])

    def merge(self, *groups: Sequence[Ragged]) -> tuple[list[str], list[Ragged]]:
        """The sorted vocabulary the rows use, and each group of rows joined and renumbered into it."""
        joined = [Ragged.concat(parts) for parts in groups]
        new_words = np.asarray(list(self.new_ids), dtype=str) if self.new_ids else np.zeros(0, dtype="<U1")
        provisional = np.concatenate([self.old, new_words])
        used = np.unique(np.concatenate([j.values for j in joined])) if joined else np.zeros(0, dtype=np.int32)
        vocabulary = np.unique(provisional[used]) if len(used) else np.zeros(0, dtype="<U1")
        mapping = np.full(len(provisional), -1, dtype=np.int32)
        if len(used):
            mapping[used] = np.searchsorted(vocabulary, provisional[used])
        return vocabulary.tolist(), [j.mapped(mapping) for j in joined]


@dataclass(frozen=True)
class Bm25Matrix:
    """BM25 weights of every (row, term), in ``bm25s``' column-sparse layout."""

    data: np.ndarray  # float32 weight per non-zero
    indices: np.ndarray  # int32 row of each non-zero
    indptr: np.ndarray  # int64, per term: its non-zeros
    rows: int

    def scorer(self) -> bm25s.BM25:
        """A ``bm25s`` retriever over this matrix (it adds up a query's term columns)."""
        bm25 = bm25s.BM25(k1=BM25_K1, b=BM25_B)
        bm25.scores = {"data": self.data, "indices": self.indices, "indptr": self.indptr, "num_docs": self.rows}
        bm25.nonoccurrence_array = None  # Lucene BM25 scores only the terms present
        return bm25


def bm25_matrix(rows: Ragged, n_terms: int) -> tuple[Bm25Matrix, np.ndarray]:
    """The BM25 (Lucene variant, as ``bm25s`` computes it) of ``rows`` of term ids, and the
    number of rows holding each term."""
    n = len(rows)
    lengths = np.diff(rows.ptr).astype(np.float64)
    owner = np.repeat(np.arange(n, dtype=np.int64), np.diff(rows.ptr))
    keys, tf = np.unique(owner * max(n_terms, 1) + rows.values[rows.ptr[0] : rows.ptr[-1]], return_counts=True)
    row_of, term_of = keys // max(n_terms, 1), keys % max(n_terms, 1)
    df = np.bincount(term_of, minlength=n_terms)
    idf = lucene_idf(n, df)
    avg = float(lengths.mean()) if n and lengths.sum() else 1.0
    weight = idf[term_of] * tf / (tf + BM25_K1 * (1 - BM25_B + BM25_B * lengths[row_of] / avg))
    order = np.argsort(term_of, kind="stable")
    indptr = np.zeros(n_terms + 1, dtype=np.int64)
    indptr[1:] = np.cumsum(df)
    return Bm25Matrix(weight[order].astype(np.float32), row_of[order].astype(np.int32), indptr, n), df


def holders(first: np.ndarray, last: np.ndarray, n_sentences: int) -> np.ndarray:
    """For each sentence row, the passages holding it, padded with -1: ``(sentences, widest)``."""
    counts = (last - first + 1).astype(np.int64)
    passage = np.repeat(np.arange(len(first), dtype=np.int64), counts)
    sentence = np.repeat(first.astype(np.int64), counts) + positions(counts)
    order = np.lexsort((passage, sentence))
    sentence, passage = sentence[order], passage[order]
    per = np.bincount(sentence, minlength=n_sentences)
    out = np.full((n_sentences, max(1, int(per.max(initial=0)))), -1, dtype=np.int64)
    rank = positions(per)
    out[sentence, rank] = passage
    return out


def contexts(doc: np.ndarray, section_ids: np.ndarray, sections: Sequence[str], titles: Sequence[str],
             vocabulary: list[str]) -> tuple[Ragged, np.ndarray]:
    """The terms of each distinct (document title, section heading) a sentence sits under,
    and each sentence's context row; one tokenisation per section, not per sentence.
    Terms found only there are appended to ``vocabulary``."""
    ids = {t: i for i, t in enumerate(vocabulary)}
    key = doc.astype(np.int64) * (len(sections) + 1) + (section_ids.astype(np.int64) + 1)
    distinct, inverse = np.unique(key, return_inverse=True)
    title_terms: dict[int, list[str]] = {}
    section_terms: dict[int, list[str]] = {}
    rows = []
    for k in distinct.tolist():
        d, s = divmod(int(k), len(sections) + 1)
        if d not in title_terms:
            title_terms[d] = terms(titles[d])
        if s - 1 not in section_terms:
            section_terms[s - 1] = terms(sections[s - 1]) if s > 0 else []
        found = set()
        for t in title_terms[d] + section_terms[s - 1]:
            if t not in ids:
                ids[t] = len(vocabulary)
                vocabulary.append(t)
            found.add(ids[t])
        rows.append(sorted(found))
    return Ragged.of(rows), inverse.astype(np.int32).reshape(-1)


@dataclass(frozen=True)
class Derived:
    """Everything in the module docstring, for one build."""

    terms: list[str]
    sentence_terms: Ragged
    passage_terms: Ragged
    sentence_words: Ragged
    contexts: Ragged
    sentence_context: np.ndarray
    leans_back: np.ndarray
    word_counts: np.ndarray  # whitespace-separated words per sentence
    holders: np.ndarray
    passage_df: np.ndarray
    passage_bm25: Bm25Matrix
    sentence_bm25: Bm25Matrix

    RAGGED = ("sentence_terms", "passage_terms", "sentence_words", "contexts")
    ARRAYS = ("sentence_context", "leans_back", "word_counts", "holders", "passage_df")
