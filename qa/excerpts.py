"""Candidates → excerpts: the best one to three consecutive sentences, quoted verbatim.

Every run of one to three consecutive candidate sentences of one section is a window. No
reading-comprehension model ships offline, so a window's relevance is a weighted sum of
its features (the weights were fitted on the development questions with
``benchmarks/calibrate.py``), and a logistic curve over it gives the ``score``: roughly
the chance that the excerpt answers the question. Each extra sentence costs a little, so
a neighbour joins only when it adds what the question asks about (the sentence before an
answer that says "This could…", the list that follows "as follows:").

The best windows are taken greedily; excerpts never overlap and never repeat a text.
"""

from __future__ import annotations

import math
import re
from dataclasses import astuple, dataclass

import numpy as np

from qa.highlight import answer_span, question_type, typed_entities
from qa.records import Citation, Excerpt
from qa.retrieval import Candidates
from qa.store import StoredIndex

FEATURES = (
    "sentence_cos", "passage_cos", "coverage", "sentence_bm25", "mentioned",
    "extra_sentences", "dangling_start", "cut_continuation", "lacks_answer_type",
)


@dataclass(frozen=True)
class ScoringWeights:
    """Relevance = weights · window features; score = logistic(relevance)."""

    sentence_cos: float = 0.3  # best sentence of the window
    passage_cos: float = 0.2
    coverage: float = 0.25  # of the question's terms, over the whole window
    sentence_bm25: float = 0.2
    mentioned: float = 0.04
    extra_sentences: float = -0.05
    dangling_start: float = -0.06  # the window opens with "This …", cut off from what it refers to
    cut_continuation: float = -0.06  # the sentence after the window goes on about it ("This …")
    # "How many …?" but no number in the window (likewise names, years, dates). It barely moves
    # the ranking; its weight was set for the no-answer decision (dev: 8 -> 10 of 12 declined).
    lacks_answer_type: float = -0.1
    # score = 1 / (1 + exp(-slope * (relevance - midpoint)))
    slope: float = 26.5
    midpoint: float = 0.459

    def vector(self) -> np.ndarray:
        """The feature weights in ``FEATURES`` order."""
        return np.array(astuple(self)[: len(FEATURES)], dtype=np.float32)


WEIGHTS = ScoringWeights()
MAX_SENTENCES = 3
SAME_SECTION_PENALTY = 0.03  # per excerpt already taken from a section
MAX_EXCERPT_CHARS = 600  # a window longer than this is not considered (single sentences always are)


@dataclass(frozen=True)
class Windows:
    """Runs of consecutive candidates: position of the first, size, and features."""

    first: np.ndarray
    size: np.ndarray
    features: np.ndarray  # (windows, len(FEATURES))


def calibrated(value: float, w: ScoringWeights = WEIGHTS) -> float:
    """Map a relevance value onto 0..1.

    >>> calibrated(WEIGHTS.midpoint)
    0.5
    """
    return 1.0 / (1.0 + math.exp(-w.slope * (value - w.midpoint)))


def windows(index: StoredIndex, c: Candidates, typed: np.ndarray) -> Windows:
    """Every window of one to three consecutive candidate sentences of one section.

    ``typed`` tells, per candidate, whether it holds an answer of the type the question asks
    for (see ``has_answer_type``).
    """
    n = len(c)
    s = index.sentences
    rows = c.rows
    docs = s.doc[rows]
    sections = [s.section[int(r)] for r in rows]
    starts, ends = s.start[rows], s.end[rows]
    # link[i]: candidate i + 1 directly follows candidate i in the same section
    link = np.zeros(n, dtype=bool)
    if n > 1:
        link[:-1] = (rows[1:] == rows[:-1] + 1) & (docs[1:] == docs[:-1])
        link[:-1] &= np.array([a == b for a, b in zip(sections[:-1], sections[1:])], dtype=bool)
    cut = np.zeros(n, dtype=bool)
    cut[:-1] = link[:-1] & c.leans_back[1:]

    firsts, sizes, feats = [], [], []
    ok = np.ones(n, dtype=bool)
    best_cos, best_pcos, best_bm25 = c.sentence_cos.copy(), c.passage_cos.copy(), c.sentence_bm25.copy()
    presence = c.presence.copy()
    has_type = typed.copy()
    for size in range(1, MAX_SENTENCES + 1):
        m = n - size + 1
        if m <= 0:
            break
        if size > 1:
            j = size - 1
            ok = ok[:m] & link[j - 1 : j - 1 + m]
            ok &= (ends[j : j + m] - starts[:m]) <= MAX_EXCERPT_CHARS
            best_cos = np.maximum(best_cos[:m], c.sentence_cos[j : j + m])
            best_pcos = np.maximum(best_pcos[:m], c.passage_cos[j : j + m])
            best_bm25 = np.maximum(best_bm25[:m], c.sentence_bm25[j : j + m])
            presence = presence[:m] | c.presence[j : j + m]
            has_type = has_type[:m] | typed[j : j + m]
        idx = np.flatnonzero(ok[:m])
        if not len(idx):
            continue
        last = idx + size - 1
        firsts.append(idx)
        sizes.append(np.full(len(idx), size))
        feats.append(np.column_stack([
            best_cos[idx],
            best_pcos[idx],
            c.coverage(presence[idx]),
            best_bm25[idx],
            c.mentioned[idx],
            np.full(len(idx), size - 1),
            c.leans_back[idx],
            cut[last],
            ~has_type[idx],
        ]))
    if not firsts:
        return Windows(np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64), np.zeros((0, len(FEATURES))))
    return Windows(
        np.concatenate(firsts).astype(np.int64),
        np.concatenate(sizes).astype(np.int64),
        np.concatenate(feats).astype(np.float32),
    )


def has_answer_type(index: StoredIndex, c: Candidates, question: str) -> np.ndarray:
    """Per candidate: whether it holds an answer of the type the question asks for (a name,
    year, date or amount it does not already contain); all True when it asks for none."""
    kind = question_type(question)
    if kind is None:
        return np.ones(len(c), dtype=bool)
    s = index.sentences
    asked = set(c.terms)
    return np.array(
        [bool(typed_entities(index.documents[int(s.doc[r])].text[int(s.start[r]) : int(s.end[r])], kind, asked))
         for r in c.rows],
        dtype=bool,
    )


def choose_excerpts(
    index: StoredIndex, candidates: Candidates, question: str, top_k: int, w: ScoringWeights = WEIGHTS
) -> list[Excerpt]:
    """The ``top_k`` best non-overlapping excerpts, best first."""
    if len(candidates) == 0:
        return []
    typed = has_answer_type(index, candidates, question)
    win = windows(index, candidates, typed)
    relevance = win.features @ w.vector()
    single = {int(f): float(r) for f, n, r in zip(win.first, win.size, relevance) if n == 1}
    s = index.sentences
    first_rows = candidates.rows[win.first]
    sections = np.array([hash((int(s.doc[r]), s.section[r])) for r in first_rows])
    # Later picks prefer sections not quoted yet, so that five excerpts cover more ground.
    ranking = relevance.copy()
    open_ = np.ones(len(relevance), dtype=bool)
    seen_texts: set[str] = set()
    excerpts: list[Excerpt] = []
    while len(excerpts) < top_k and open_.any():
        k = int(np.argmax(np.where(open_, ranking, -np.inf)))
        first, size = int(win.first[k]), int(win.size[k])
        members = range(first, first + size)
        best = max(members, key=lambda m: (bool(typed[m]), single[m]))
        excerpt = _excerpt(index, candidates, members, best, float(relevance[k]), question, w)
        key = re.sub(r"\W+", " ", excerpt.text).strip().lower()
        open_[k] = False
        if key in seen_texts:
            continue
        seen_texts.add(key)
        excerpts.append(excerpt)
        overlapping = (win.first <= members[-1]) & (win.first + win.size - 1 >= first)
        open_ &= ~overlapping
        ranking[sections == sections[k]] -= SAME_SECTION_PENALTY
    return excerpts


def _excerpt(
    index: StoredIndex, c: Candidates, members: range, best: int, rel: float, question: str, w: ScoringWeights
) -> Excerpt:
    s = index.sentences
    first_row, last_row, best_row = int(c.rows[members[0]]), int(c.rows[members[-1]]), int(c.rows[best])
    doc = index.documents[int(s.doc[best_row])]
    start, end = int(s.start[first_row]), int(s.end[last_row])
    text = doc.text[start:end]
    b_start, b_end = int(s.start[best_row]) - start, int(s.end[best_row]) - start
    h_start, h_end = answer_span(text[b_start:b_end], question, c.weights_by_term)
    return Excerpt(
        text=text,
        highlight=(b_start + h_start, b_start + h_end),
        score=round(calibrated(rel, w), 4),
        source=Citation(
            document=doc.id,
            title=doc.meta.title,
            section=s.section[first_row],
            page=s.page[first_row],
            start=start,
            end=end,
        ),
    )
