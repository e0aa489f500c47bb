"""Candidates → excerpts: the best one to three consecutive sentences, quoted verbatim.

No reading-comprehension model ships offline, so relevance is a weighted sum of the
retrieval features (weights fitted on the development questions, see
``benchmarks/calibrate.py``), and a logistic curve over it gives the ``score``: roughly the
chance that the excerpt answers the question.

An excerpt starts from its best sentence and takes in a neighbour of the same section when
the neighbour is nearly as relevant, or when the sentence is too short to stand alone
(a name on its own line, say). Excerpts never overlap and never repeat the same text.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

import numpy as np

from qa.highlight import answer_span
from qa.records import Citation, Excerpt
from qa.retrieval import Candidates
from qa.store import StoredIndex


@dataclass(frozen=True)
class ScoringWeights:
    """Relevance = a weighted sum of candidate features; score = logistic(relevance)."""

    sentence_cos: float = 0.55
    passage_cos: float = 0.20
    bm25: float = 0.10
    coverage: float = 0.25
    context_coverage: float = 0.10
    # logistic calibration: score = 1 / (1 + exp(-slope * (relevance - midpoint)))
    slope: float = 14.0
    midpoint: float = 0.55


WEIGHTS = ScoringWeights()
MAX_SENTENCES = 3
SHORT_SENTENCE = 60  # characters; shorter sentences take a neighbour along
NEIGHBOUR_MARGIN = 0.04  # a neighbour this close to the best sentence's relevance joins it
MAX_EXCERPT_CHARS = 600


def relevance(c: Candidates, w: ScoringWeights = WEIGHTS) -> np.ndarray:
    """Relevance of each candidate sentence."""
    return (
        w.sentence_cos * c.sentence_cos
        + w.passage_cos * c.passage_cos
        + w.bm25 * c.bm25
        + w.coverage * c.coverage
        + w.context_coverage * c.context_coverage
    )


def calibrated(value: float, w: ScoringWeights = WEIGHTS) -> float:
    """Map a relevance value onto 0..1.

    >>> calibrated(WEIGHTS.midpoint)
    0.5
    """
    return 1.0 / (1.0 + math.exp(-w.slope * (value - w.midpoint)))


def choose_excerpts(
    index: StoredIndex, candidates: Candidates, question: str, top_k: int
) -> list[Excerpt]:
    """The ``top_k`` best non-overlapping excerpts, best first."""
    if len(candidates.rows) == 0:
        return []
    rel = relevance(candidates)
    by_row = {int(r): float(v) for r, v in zip(candidates.rows, rel)}
    used: set[int] = set()
    seen_texts: set[str] = set()
    excerpts: list[Excerpt] = []
    for i in np.argsort(-rel, kind="stable"):
        row = int(candidates.rows[i])
        if row in used:
            continue
        window = _window(index, row, by_row, used)
        used.update(window)
        excerpt = _excerpt(index, window, row, float(rel[i]), question)
        key = re.sub(r"\W+", " ", excerpt.text).strip().lower()
        if key in seen_texts:
            continue
        seen_texts.add(key)
        excerpts.append(excerpt)
        if len(excerpts) == top_k:
            break
    return excerpts


def _window(index: StoredIndex, row: int, by_row: dict[int, float], used: set[int]) -> list[int]:
    """The best sentence ``row`` plus neighbours that belong with it."""
    s = index.sentences
    best = by_row[row]
    window = [row]

    def joinable(other: int) -> bool:
        return (
            0 <= other < len(s)
            and other not in used
            and s.doc[other] == s.doc[row]
            and s.section[other] == s.section[row]
            and max(s.end[window[-1]], s.end[other]) - min(s.start[window[0]], s.start[other]) <= MAX_EXCERPT_CHARS
        )

    while len(window) < MAX_SENTENCES:
        options = [o for o in (window[0] - 1, window[-1] + 1) if joinable(o)]
        if not options:
            break
        length = int(s.end[window[-1]] - s.start[window[0]])
        scored = [(by_row.get(o, -1.0), o) for o in options]
        value, pick = max(scored)
        if length < SHORT_SENTENCE and len(window) == 1:
            pick = window[-1] + 1 if window[-1] + 1 in options else pick
        elif value < best - NEIGHBOUR_MARGIN:
            break
        window = sorted(window + [pick])
    return window


def _excerpt(index: StoredIndex, window: list[int], best_row: int, rel: float, question: str) -> Excerpt:
    s = index.sentences
    doc = index.documents[int(s.doc[best_row])]
    start, end = int(s.start[window[0]]), int(s.end[window[-1]])
    text = doc.text[start:end]
    b_start, b_end = int(s.start[best_row]) - start, int(s.end[best_row]) - start
    h_start, h_end = answer_span(text[b_start:b_end], question)
    return Excerpt(
        text=text,
        highlight=(b_start + h_start, b_start + h_end),
        score=round(calibrated(rel), 4),
        source=Citation(
            document=doc.id,
            title=doc.meta.title,
            section=s.section[window[0]],
            page=s.page[window[0]],
            start=start,
            end=end,
        ),
    )
