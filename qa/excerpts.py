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

from qa.highlight import answer_span
from qa.records import Citation, Excerpt
from qa.retrieval import Candidates
from qa.store import StoredIndex

FEATURES = (
    "sentence_cos", "window_cos", "passage_cos", "bm25", "coverage",
    "context_coverage", "sentence_bm25", "mentioned", "extra_sentences",
    "dangling_start", "cut_continuation",
)
# A sentence opening with one of these leans on the sentence before it.
_ANAPHORIC = re.compile(r"^(?:This|These|That|Those|Such|It|They|Its|Their)\b")


@dataclass(frozen=True)
class ScoringWeights:
    """Relevance = weights · window features; score = logistic(relevance)."""

    sentence_cos: float = 0.3
    window_cos: float = 0.0
    passage_cos: float = 0.2
    bm25: float = 0.0
    coverage: float = 0.25
    context_coverage: float = 0.0
    sentence_bm25: float = 0.2
    mentioned: float = 0.04
    extra_sentences: float = -0.05
    dangling_start: float = -0.06  # the window opens with "This …", cut off from what it refers to
    cut_continuation: float = -0.06  # the sentence after the window goes on about it ("This …")
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


def windows(index: StoredIndex, c: Candidates) -> Windows:
    """Every window of one to three consecutive candidate sentences of one section."""
    s = index.sentences
    rows = c.rows
    leans_back = [_leans_back(index, int(r)) for r in rows]
    firsts, sizes, feats = [], [], []
    for i in range(len(rows)):
        union: set[str] = set()
        vec_sum = np.zeros(c.vectors.shape[1], dtype=np.float32)
        cos_sum = 0.0
        for size in range(1, MAX_SENTENCES + 1):
            j = i + size - 1
            if j >= len(rows) or rows[j] != rows[i] + size - 1:
                break
            if size > 1 and (
                s.doc[rows[j]] != s.doc[rows[i]]
                or s.section[rows[j]] != s.section[rows[i]]
                or s.end[rows[j]] - s.start[rows[i]] > MAX_EXCERPT_CHARS
            ):
                break
            union |= c.bags[j]
            vec_sum += c.vectors[j]
            cos_sum += float(c.sentence_cos[j])
            norm = float(np.linalg.norm(vec_sum)) or 1.0
            part = slice(i, j + 1)
            firsts.append(i)
            sizes.append(size)
            feats.append((
                float(c.sentence_cos[part].max()),
                cos_sum / norm,  # cosine with the window's mean vector
                float(c.passage_cos[part].max()),
                float(c.bm25[part].max()),
                _coverage(c, union),
                float(c.context_coverage[part].max()),
                float(c.sentence_bm25[part].max()),
                float(c.mentioned[i]),
                float(size - 1),
                float(leans_back[i]),
                float(j + 1 < len(rows) and rows[j + 1] == rows[j] + 1 and leans_back[j + 1]
                      and s.section[rows[j + 1]] == s.section[rows[j]]),
            ))
    return Windows(
        np.array(firsts, dtype=np.int64),
        np.array(sizes, dtype=np.int64),
        np.array(feats, dtype=np.float32).reshape(-1, len(FEATURES)),
    )


def _leans_back(index: StoredIndex, row: int) -> bool:
    """Whether sentence ``row`` opens with a reference to the one before it."""
    s = index.sentences
    if row == 0 or s.doc[row - 1] != s.doc[row]:
        return False
    text = index.documents[int(s.doc[row])].text
    return bool(_ANAPHORIC.match(text[int(s.start[row]) : int(s.start[row]) + 8]))


def _coverage(c: Candidates, bag: set[str]) -> float:
    if c.question_weight <= 0:
        return 0.0
    return sum(w for t, w in c.term_weights.items() if t in bag) / c.question_weight


def choose_excerpts(
    index: StoredIndex, candidates: Candidates, question: str, top_k: int, w: ScoringWeights = WEIGHTS
) -> list[Excerpt]:
    """The ``top_k`` best non-overlapping excerpts, best first."""
    if len(candidates) == 0:
        return []
    win = windows(index, candidates)
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
        best = max(members, key=lambda m: single[m])
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
    h_start, h_end = answer_span(text[b_start:b_end], question)
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
