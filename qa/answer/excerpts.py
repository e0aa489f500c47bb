"""Candidates → excerpts: the best one to three consecutive sentences, quoted verbatim.

Every run of one to three consecutive candidate sentences of one section is a window,
described by the features in ``FEATURES`` (``windows``). A fitted model (``qa.answer.scoring``)
turns them into a relevance; the best windows that do not overlap become excerpts
(``select``), each with its highlight (``qa.answer.highlight``). The features mean the same on
any collection: cosines, BM25 and fusion scores relative to the best candidate, shares of
the question's terms, whether an answer of the asked kind is there, layout.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

import numpy as np

from qa.answer.highlight import answer_span, clause_weight, typed_spans
from qa.answer.questions import Question
from qa.answer.retrieval import ALIAS_WEIGHT, Candidates
from qa.index.store import StoredIndex
from qa.records import BODY, Citation, Excerpt

FEATURES = (
    "sentence_cos",  # best sentence of the window
    "passage_cos",  # best passage holding one of its sentences
    "window_cos",  # the window's sentences' mean vector
    "sentence_bm25",
    "passage_bm25",
    "fused",  # reciprocal-rank fusion of the passage rankings
    "coverage",  # IDF-weighted share of the question's terms in the window
    "soft_coverage",  # … counting each term as the cosine of its nearest word
    "context_gain",  # … more when its section heading and document title count
    "has_kind",  # the question asks for a person, date, number … and the window has one
    "lacks_kind",  # … and the window has none
    "extra_sentences",
    "dangling_start",  # opens with "This …", cut off from what it refers to
    "cut_continuation",  # the next sentence goes on about it ("This …")
    "mentioned",  # the question names this source ("according to the blog")
    "front_matter",  # title block, byline, dateline: only for questions about a document
    "fragment",  # a sentence of fewer than 5 words
    "log_chars",
    "kind_clause",  # share of the question's terms in the clause holding the asked-for answer
)
MAX_SENTENCES = 3
SAME_SECTION_PENALTY = 0.03  # relevance lost per excerpt already taken from a section
MAX_EXCERPT_CHARS = 600  # a window longer than this is not considered (single sentences always are)
FRAGMENT_WORDS = 5
_DIGITS = re.compile(r"\d")
_NON_WORD = re.compile(r"\W+")


@dataclass(frozen=True)
class Windows:
    """Runs of consecutive candidates: position of the first, size, and features."""

    first: np.ndarray
    size: np.ndarray
    features: np.ndarray  # (windows, len(FEATURES))
    typed: np.ndarray  # per candidate: holds an answer of the asked kind


def sentence_entities(index: StoredIndex, row: int) -> list[tuple[int, int, str]]:
    """The entities of one sentence row, as offsets into the sentence."""
    from qa.language.entities import LABELS

    e = index.entities
    start = int(index.sentences.start[row])
    return [(int(e.start[k]) - start, int(e.end[k]) - start, LABELS[int(e.label[k])]) for k in e.of(row)]


def sentence_text(index: StoredIndex, row: int) -> str:
    """The text of one sentence row."""
    s = index.sentences
    return index.documents[int(s.doc[row])].text[int(s.start[row]) : int(s.end[row])]


def window_span(index: StoredIndex, c: Candidates, first: int, size: int) -> tuple[int, int, int]:
    """Document row, start and end of the window of ``size`` candidates from position ``first``."""
    s = index.sentences
    a, b = int(c.rows[first]), int(c.rows[first + size - 1])
    return int(s.doc[a]), int(s.start[a]), int(s.end[b])


def typed_candidates(index: StoredIndex, c: Candidates, question: Question) -> tuple[np.ndarray, np.ndarray]:
    """Per candidate: whether it holds an answer of the kind the question asks for, and the
    IDF-weighted share of the question's terms in the best clause holding one (an answer
    next to what the question asks about, not merely somewhere in the sentence)."""
    typed = np.zeros(len(c), dtype=bool)
    clause = np.zeros(len(c), dtype=np.float32)
    if not question.labels:
        return typed, clause
    weights = dict(zip(question.terms, c.term_weights.tolist()))
    for group, w in zip(question.aliases, c.term_weights.tolist()):
        for a in group:
            weights.setdefault(a, w * ALIAS_WEIGHT)
    total = float(c.term_weights.sum()) or 1.0
    from qa.language.entities import LABEL_CODES

    codes = np.array([LABEL_CODES[label] for label in question.labels], dtype=np.int8)
    e = index.entities
    labelled = np.isin(e.label, codes)
    counts = np.concatenate([[0], np.cumsum(labelled)])
    with_label = counts[e.ptr[c.rows + 1]] - counts[e.ptr[c.rows]] > 0
    dated = question.kind in ("date", "year", "duration")
    for i, r in enumerate(c.rows):
        if not with_label[i] and not dated:
            continue
        text = sentence_text(index, int(r))
        if not with_label[i] and not _DIGITS.search(text):
            continue
        spans = typed_spans(text, question, sentence_entities(index, int(r)))
        if spans:
            typed[i] = True
            clause[i] = clause_weight(text, [a for a, _ in spans], weights) / total
    return typed, clause


def windows(index: StoredIndex, c: Candidates, question: Question, vectors: np.ndarray,
            query_vector: np.ndarray) -> Windows:
    """Every window of one to three consecutive candidate sentences of one section, with its
    features; ``vectors`` are the index's sentence vectors."""
    n = len(c)
    typed, kind_clause = typed_candidates(index, c, question)
    if n == 0:
        return Windows(np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64),
                       np.zeros((0, len(FEATURES)), dtype=np.float32), typed)
    s = index.sentences
    rows = c.rows
    docs = s.doc[rows]
    sections = s.section.ids[rows]
    starts, ends = s.start[rows], s.end[rows]
    # link[i]: candidate i + 1 directly follows candidate i in the same section
    link = np.zeros(n, dtype=bool)
    if n > 1:
        link[:-1] = (rows[1:] == rows[:-1] + 1) & (docs[1:] == docs[:-1])
        link[:-1] &= sections[1:] == sections[:-1]
    cut = np.zeros(n, dtype=bool)
    cut[:-1] = link[:-1] & c.leans_back[1:]
    word_counts = index.derived.word_counts[rows]
    member_vectors = vectors[rows]
    asks_kind = bool(question.labels)
    context = np.maximum(c.presence, c.context.astype(np.float32))

    firsts, sizes, feats = [], [], []
    ok = np.ones(n, dtype=bool)
    best = {name: getattr(c, name).copy() for name in ("sentence_cos", "passage_cos", "sentence_bm25",
                                                       "passage_bm25", "fused")}
    presence, around, soft = c.presence.copy(), context.copy(), c.soft.copy()
    has_type, vector_sum, clause = typed.copy(), member_vectors.copy(), kind_clause.copy()
    shortest, front = word_counts.copy(), c.role != BODY
    for size in range(1, MAX_SENTENCES + 1):
        m = n - size + 1
        if m <= 0:
            break
        if size > 1:
            j = size - 1
            ok = ok[:m] & link[j - 1 : j - 1 + m]
            ok &= (ends[j : j + m] - starts[:m]) <= MAX_EXCERPT_CHARS
            for name, values in best.items():
                best[name] = np.maximum(values[:m], getattr(c, name)[j : j + m])
            presence = np.maximum(presence[:m], c.presence[j : j + m])
            soft = np.maximum(soft[:m], c.soft[j : j + m])
            around = np.maximum(around[:m], context[j : j + m])
            has_type = has_type[:m] | typed[j : j + m]
            clause = np.maximum(clause[:m], kind_clause[j : j + m])
            vector_sum = vector_sum[:m] + member_vectors[j : j + m]
            shortest = np.minimum(shortest[:m], word_counts[j : j + m])
            front = front[:m] | (c.role[j : j + m] != BODY)
        idx = np.flatnonzero(ok[:m])
        if not len(idx):
            continue
        last = idx + size - 1
        norms = np.linalg.norm(vector_sum[idx], axis=1)
        coverage = c.coverage(presence[idx])
        chars = (ends[last] - starts[idx]).astype(np.float32)
        firsts.append(idx)
        sizes.append(np.full(len(idx), size))
        feats.append(np.column_stack([
            best["sentence_cos"][idx],
            best["passage_cos"][idx],
            (vector_sum[idx] @ query_vector) / np.maximum(norms, 1e-6),
            best["sentence_bm25"][idx],
            best["passage_bm25"][idx],
            best["fused"][idx],
            coverage,
            c.coverage(np.maximum(soft[idx], 0.0)),
            c.coverage(around[idx]) - coverage,
            asks_kind & has_type[idx],
            asks_kind & ~has_type[idx],
            np.full(len(idx), size - 1),
            c.leans_back[idx],
            cut[last],
            c.mentioned[idx],
            front[idx],
            shortest[idx] < FRAGMENT_WORDS,
            np.log1p(chars),
            clause[idx],
        ]))
    if not firsts:
        return Windows(np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64),
                       np.zeros((0, len(FEATURES)), dtype=np.float32), typed)
    return Windows(
        np.concatenate(firsts).astype(np.int64),
        np.concatenate(sizes).astype(np.int64),
        np.concatenate(feats).astype(np.float32),
        typed,
    )


@dataclass(frozen=True)
class Pick:
    """A chosen window: its position in ``Windows`` and its relevance."""

    window: int
    relevance: float


def select(index: StoredIndex, c: Candidates, win: Windows, relevance: np.ndarray, top_k: int) -> list[Pick]:
    """The ``top_k`` best windows that do not overlap or repeat a text, best first.

    Later picks prefer sections not quoted yet, so that several excerpts cover more ground.
    """
    if not len(relevance):
        return []
    s = index.sentences
    first_rows = c.rows[win.first]
    sections = s.doc[first_rows].astype(np.int64) * (len(s.section.names) + 1) + s.section.ids[first_rows] + 1
    ranking = relevance.astype(np.float64).copy()
    open_ = np.ones(len(relevance), dtype=bool)
    seen_texts: set[str] = set()
    picks: list[Pick] = []
    while len(picks) < top_k and open_.any():
        k = int(np.argmax(np.where(open_, ranking, -np.inf)))
        first, size = int(win.first[k]), int(win.size[k])
        open_[k] = False
        doc, start, end = window_span(index, c, first, size)
        key = _NON_WORD.sub(" ", index.documents[doc].text[start:end]).strip().lower()
        if key in seen_texts:
            continue
        seen_texts.add(key)
        picks.append(Pick(k, float(relevance[k])))
        overlapping = (win.first <= first + size - 1) & (win.first + win.size - 1 >= first)
        open_ &= ~overlapping
        ranking[sections == sections[k]] -= SAME_SECTION_PENALTY
    return picks


def excerpt(
    index: StoredIndex, c: Candidates, win: Windows, pick: Pick, question: Question, score: float,
    single: dict[int, float] | None = None,
) -> Excerpt:
    """The excerpt of a picked window, with its highlight on its best sentence.

    The best sentence is one holding an answer of the asked kind, else the one with the
    highest relevance on its own (``single``: candidate position → relevance).
    """
    s = index.sentences
    first, size = int(win.first[pick.window]), int(win.size[pick.window])
    members = range(first, first + size)
    single = single or {}
    best = max(members, key=lambda m: (bool(win.typed[m]), single.get(m, 0.0), -m))
    first_row, best_row = int(c.rows[first]), int(c.rows[best])
    doc_row, start, end = window_span(index, c, first, size)
    doc = index.documents[doc_row]
    text = doc.text[start:end]
    b_start, b_end = int(s.start[best_row]) - start, int(s.end[best_row]) - start
    weights = {t: float(w) for t, w in zip(question.terms, c.term_weights)}
    h_start, h_end = answer_span(text[b_start:b_end], question, sentence_entities(index, best_row), weights)
    return Excerpt(
        text=text,
        highlight=(b_start + h_start, b_start + h_end),
        score=round(score, 4),
        source=Citation(
            document=doc.id,
            title=doc.meta.title,
            section=s.section[first_row],
            page=s.page[first_row],
            start=start,
            end=end,
        ),
    )


def single_relevance(win: Windows, relevance: np.ndarray) -> dict[int, float]:
    """Candidate position → relevance of the window holding only that sentence."""
    ones = win.size == 1
    return dict(zip(win.first[ones].tolist(), relevance[ones].astype(float).tolist()))


def logistic(x: float) -> float:
    """1 / (1 + e^-x), safe for large |x|."""
    if x >= 0:
        return 1.0 / (1.0 + math.exp(-x))
    z = math.exp(x)
    return z / (1.0 + z)
