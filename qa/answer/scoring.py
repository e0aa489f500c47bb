"""The fitted scoring model: window relevance, excerpt confidence and the no-answer line.

Everything fitted lives in one versioned JSON file, ``qa/answer/scoring.json``, written by
``benchmarks/bank.py --write-model`` (``qa.evaluation.fitting``) from the question bank's open
collections, with leave-one-collection-out figures (or by ``qa eval --fit`` from one question
set); this module only loads and applies it, so inference is two dot products:

* **relevance** of a window = standardised window features (``qa.answer.excerpts.FEATURES``) ·
  ranker weights (a conditional-logit ranker: softmax over a question's windows);
* **confidence** of an excerpt = logistic(standardised confidence features · weights): the
  chance that the excerpt answers, from its relevance, its margin over the other excerpts,
  its place in this question's distribution of window scores, whether it has an answer of
  the asked kind, and how much of the question it leaves uncovered;
* the question is declined (``no_answer``) when the best excerpt's confidence is below
  ``no_answer_below``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from qa.answer.excerpts import FEATURES, Pick, Windows, logistic
from qa.answer.retrieval import Candidates
from qa.errors import QAError

MODEL_FORMAT = "qa-scoring"
MODEL_VERSION = 1
DEFAULT_MODEL_FILE = Path(__file__).resolve().parent / "scoring.json"

CONFIDENCE_FEATURES = (
    "relevance",  # of the excerpt's window
    "margin",  # over the next excerpt (for the first), or below the first (for the others)
    "spread",  # standard scores above the mean of this question's windows
    "coverage",  # share of the question's terms in the excerpt
    "context_coverage",  # … counting its section heading and document title
    "missing_max",  # the largest share of the question's weight missing from both
    "soft_missing",  # … the same, each term missing by one minus its nearest word's cosine
    "unseen",  # share of the question's weight in terms the collection never uses
    "has_kind",
    "lacks_kind",
    "sentence_cos",
    "first",  # the excerpt is the first one
)
# The question's best excerpt as evidence that the sources answer at all.
# Only evidence in the excerpt, nothing about the question's form: how a question is put
# (whether it names a source, whether it asks "how many") says nothing on another collection.
ANSWERABLE_FEATURES = (
    "relevance", "margin", "coverage", "context_coverage", "missing_max", "soft_missing", "lacks_kind",
    "sentence_cos", "passage_cos", "soft_coverage",
    "focus",  # how well the excerpt has the words after "which", "how many" … (soft)
    "unmatched",  # share of the question's weight no candidate comes close to (soft)
    "kind_clause",  # share of the question's terms beside the asked-for answer
)


@dataclass(frozen=True)
class Linear:
    """Standardise, then weigh: ``((x - mean) / scale) · weights + bias``."""

    features: tuple[str, ...]
    mean: np.ndarray
    scale: np.ndarray
    weights: np.ndarray
    bias: float = 0.0

    def __call__(self, x: np.ndarray) -> np.ndarray:
        """Scores of the rows of ``x`` (columns in ``features`` order)."""
        if not len(x):
            return np.zeros(0, dtype=np.float64)
        return ((x - self.mean) / self.scale) @ self.weights + self.bias

    def as_dict(self) -> dict[str, Any]:
        """JSON-able form, weights keyed by feature."""
        return {
            "features": list(self.features),
            "mean": [round(float(v), 6) for v in self.mean],
            "scale": [round(float(v), 6) for v in self.scale],
            "weights": [round(float(v), 6) for v in self.weights],
            "bias": round(float(self.bias), 6),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any], expected: tuple[str, ...]) -> Linear:
        """Read the JSON form, checking it has the features this code computes."""
        if tuple(data["features"]) != expected:
            raise ValueError(f"features {data['features']} are not {list(expected)}")
        arrays = [np.asarray(data[k], dtype=np.float64) for k in ("mean", "scale", "weights")]
        if any(a.shape != (len(expected),) for a in arrays):
            raise ValueError("mean, scale and weights must have one value per feature")
        return cls(tuple(expected), arrays[0], np.where(arrays[1] > 0, arrays[1], 1.0), arrays[2],
                   float(data.get("bias", 0.0)))


@dataclass(frozen=True)
class ScoringModel:
    """Ranker, confidence model, answerability model and no-answer threshold, as fitted."""

    ranker: Linear
    confidence: Linear  # chance that an excerpt answers, if the sources answer at all
    answerable: Linear  # chance that the sources answer at all, from the best excerpt
    no_answer_below: float  # … below which the question is declined
    info: dict[str, Any]

    def relevance(self, win: Windows) -> np.ndarray:
        """Relevance of every window."""
        return self.ranker(win.features)

    def judge(self, c: Candidates, win: Windows, relevance: np.ndarray, picks: list[Pick]) -> tuple[list[float], bool]:
        """The score of each picked window (the chance that it answers), and whether to
        decline the question."""
        if not picks:
            return [], True
        feats = confidence_features(c, win, relevance, picks)
        answerable = logistic(float(self.answerable(answerable_features(feats[:1], c, win, picks[0]))[0]))
        scores = [answerable * logistic(float(v)) for v in self.confidence(feats)]
        return scores, answerable < self.no_answer_below

    def to_json(self) -> str:
        """The model file's text."""
        data = {
            "format": MODEL_FORMAT,
            "version": MODEL_VERSION,
            "ranker": self.ranker.as_dict(),
            "confidence": self.confidence.as_dict(),
            "answerable": self.answerable.as_dict(),
            "no_answer_below": round(self.no_answer_below, 6),
            **self.info,
        }
        return json.dumps(data, indent=2, ensure_ascii=False) + "\n"

    @classmethod
    def from_json(cls, text: str, source: str = "scoring model") -> ScoringModel:
        """Parse a model file; raises ``QAError`` saying how to refit when it does not fit."""
        try:
            data = json.loads(text)
            if data.get("format") != MODEL_FORMAT or data.get("version") != MODEL_VERSION:
                raise ValueError(f"format {data.get('format')} v{data.get('version')}, "
                                 f"this qa reads {MODEL_FORMAT} v{MODEL_VERSION}")
            info = {k: v for k, v in data.items()
                    if k not in ("format", "version", "ranker", "confidence", "answerable", "no_answer_below")}
            return cls(
                Linear.from_dict(data["ranker"], FEATURES),
                Linear.from_dict(data["confidence"], CONFIDENCE_FEATURES),
                Linear.from_dict(data["answerable"], ANSWERABLE_FEATURES),
                float(data["no_answer_below"]),
                info,
            )
        except (ValueError, KeyError, TypeError) as exc:
            raise QAError(f"{source} is not a usable scoring model ({exc}); "
                          "refit it with `qa eval --fit QUESTIONS.jsonl …`") from exc


@lru_cache(maxsize=4)
def load_model(path: Path | None = None) -> ScoringModel:
    """The scoring model in ``path`` (the packaged one by default)."""
    path = path or DEFAULT_MODEL_FILE
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise QAError(f"cannot read the scoring model {path} ({exc}); "
                      "reinstall qa or refit it with `qa eval --fit QUESTIONS.jsonl …`") from exc
    return ScoringModel.from_json(text, str(path))


_COLUMN = {name: i for i, name in enumerate(FEATURES)}  # window feature → its column


def confidence_features(c: Candidates, win: Windows, relevance: np.ndarray, picks: list[Pick]) -> np.ndarray:
    """One row of ``CONFIDENCE_FEATURES`` per pick."""
    col = _COLUMN
    mean, std = float(relevance.mean()), float(relevance.std()) + 1e-6
    total = float(c.term_weights.sum())
    unseen = float(c.term_weights[c.unseen].sum() / total) if total > 0 else 0.0
    top = picks[0].relevance
    rows = []
    for i, pick in enumerate(picks):
        f = win.features[pick.window]
        if i == 0:
            margin = top - picks[1].relevance if len(picks) > 1 else 1.0
        else:
            margin = pick.relevance - top
        covered = f[col["coverage"]] + f[col["context_gain"]]
        missing, soft_missing = _missing_max(c, win, pick)
        rows.append([
            pick.relevance, margin, (pick.relevance - mean) / std, f[col["coverage"]], covered, missing,
            soft_missing, unseen, f[col["has_kind"]], f[col["lacks_kind"]], f[col["sentence_cos"]], float(i == 0),
        ])
    return np.asarray(rows, dtype=np.float64)


def answerable_features(top: np.ndarray, c: Candidates, win: Windows, pick: Pick) -> np.ndarray:
    """``ANSWERABLE_FEATURES`` of a question from its best excerpt's confidence features."""
    col = _COLUMN
    f = win.features[pick.window]
    first, size = int(win.first[pick.window]), int(win.size[pick.window])
    soft = np.clip(c.soft[first : first + size].max(axis=0), 0.0, 1.0) if len(c.term_weights) else np.zeros(0)
    focus = float(soft[c.focus].mean()) if c.focus.any() else 1.0
    total = float(c.term_weights.sum())
    best_anywhere = np.clip(c.soft.max(axis=0), 0.0, 1.0) if len(c) and total > 0 else np.ones(len(c.term_weights))
    unmatched = float((c.term_weights * (1.0 - best_anywhere)).sum() / total) if total > 0 else 0.0
    known = dict(zip(CONFIDENCE_FEATURES, top[0]))
    known.update(passage_cos=f[col["passage_cos"]], soft_coverage=f[col["soft_coverage"]], focus=focus,
                 unmatched=unmatched, kind_clause=f[col["kind_clause"]])
    return np.asarray([known[name] for name in ANSWERABLE_FEATURES], dtype=np.float64).reshape(1, -1)


def _missing_max(c: Candidates, win: Windows, pick: Pick) -> tuple[float, float]:
    """The largest share of the question's weight in one term absent from the window and its
    context; and the same with each term absent by one minus its soft presence."""
    total = float(c.term_weights.sum())
    if total <= 0:
        return 0.0, 0.0
    first, size = int(win.first[pick.window]), int(win.size[pick.window])
    have = np.maximum(c.presence[first : first + size].max(axis=0), c.context[first : first + size].max(axis=0))
    missing = c.term_weights[have <= 0]
    soft = np.maximum(have, np.clip(c.soft[first : first + size].max(axis=0), 0.0, 1.0))
    return (float(missing.max() / total) if len(missing) else 0.0,
            float((c.term_weights * (1.0 - soft)).max() / total))
