"""``qa eval --fit``: fit the scoring model on question sets, with k-fold cross-validation.

1. Every question is read once (``qa.answer.service.read``): candidates, windows, features. A
   window is labelled an answer when it passes the scorer's hit rule and no shorter window
   inside it does (so the ranker learns to quote tightly).
2. **Ranker**: a conditional-logit model (softmax over one question's windows) with an L2
   penalty, fitted with SciPy's L-BFGS on standardised features.
3. **Confidence**: logistic regression (scikit-learn) from each shown excerpt's confidence
   features (``qa.answer.scoring.CONFIDENCE_FEATURES``) to whether it answers; excerpts of
   unanswerable questions never do.
4. **No-answer line**: the lowest confidence of the best excerpt that declines at most
   ``max_false_no`` of the answerable questions the model was fitted on.

Questions are split into k folds, grouped so that questions sharing an evidence sentence
stay in one fold; every figure reported is measured on the folds a model was not fitted on
(the metrics of ``qa eval``, pooled, and their mean and spread over folds), beside the
figures on the questions it was fitted on. scikit-learn and SciPy are needed only here
(``pip install 'qa[fit]'``).
"""

from __future__ import annotations

import random
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from qa.answer.excerpts import FEATURES, logistic, select, window_span
from qa.answer.scoring import (
    ANSWERABLE_FEATURES,
    CONFIDENCE_FEATURES,
    Linear,
    ScoringModel,
    answerable_features,
    confidence_features,
)
from qa.answer.service import QAService, Reading, read, respond
from qa.errors import QAError
from qa.evaluation.metrics import is_hit, score_answers
from qa.records import Answer, Citation, Excerpt

RANKER_L2 = 1.0
CONFIDENCE_C = 1.0
ANSWERABLE_C = 0.05  # chosen by the cross-validated gap to the fitted questions (0.3: 0.11, 0.05: 0.03)
MAX_FALSE_NO = 0.03
TOP_K = 5
METRICS = ("hit@1", "recall@5", "mrr@10", "span_f1", "false_no_answer", "no_answer_accuracy",
           "excerpt_chars_median")


@dataclass(frozen=True)
class FitParams:
    """The fitting's own settings: penalties and the share of answerable questions the
    no-answer line may decline."""

    ranker_l2: float = RANKER_L2
    confidence_c: float = CONFIDENCE_C
    answerable_c: float = ANSWERABLE_C
    max_false_no: float = MAX_FALSE_NO
    balance: bool = False  # weigh every collection (the items' "collection") alike, not every question


@dataclass(frozen=True)
class Sample:
    """One question, read, with the label of each of its windows."""

    item: dict[str, Any]
    reading: Reading
    labels: np.ndarray  # per window: the window is a (minimal) answer

    @property
    def answerable(self) -> bool:
        return bool(self.item.get("answerable", True))


def sample_weights(samples: list[Sample], balance: bool) -> np.ndarray:
    """One weight per sample, averaging 1: equal, or (``balance``) equal in sum for every
    collection (an item's ``collection``), however many questions it has."""
    if not balance:
        return np.ones(len(samples))
    sizes: dict[str, int] = {}
    for s in samples:
        key = str(s.item.get("collection", ""))
        sizes[key] = sizes.get(key, 0) + 1
    return np.array([len(samples) / (len(sizes) * sizes[str(s.item.get("collection", ""))]) for s in samples])


def _libraries() -> tuple[Any, Any]:
    try:
        from scipy.optimize import minimize
        from sklearn.linear_model import LogisticRegression
    except ImportError as exc:
        raise QAError(f"qa eval --fit needs scikit-learn and SciPy: pip install 'qa[fit]' ({exc})") from exc
    return minimize, LogisticRegression


def collect(service: QAService, items: list[dict[str, Any]], progress: Callable[[int], None] | None = None,
            ) -> list[Sample]:
    """Read every question once and label its windows."""
    snapshot = service.loaded
    index = snapshot.index
    samples = []
    for n, item in enumerate(items):
        vector = service.embedder.encode_query([item["question"]])[0]
        reading = read(index, snapshot.retriever, item["question"], vector)
        win = reading.windows
        hit = np.zeros(len(win.first), dtype=bool)
        if item.get("answerable", True):
            for k, (first, size) in enumerate(zip(win.first, win.size)):
                hit[k] = _window_hits(reading, int(first), int(size), item)
        samples.append(Sample(item, reading, _minimal(win.first, win.size, hit)))
        if progress:
            progress(n + 1)
    return samples


def _window_hits(reading: Reading, first: int, size: int, item: dict[str, Any]) -> bool:
    """Whether the window passes the scorer's hit rule for ``item``."""
    doc_row, start, end = window_span(reading.index, reading.candidates, first, size)
    doc = reading.index.documents[doc_row]
    cite = Citation(doc.id, doc.meta.title, None, None, start, end)
    return is_hit(Excerpt(doc.text[start:end], (0, 0), 0.0, cite), item)


def _minimal(first: np.ndarray, size: np.ndarray, hit: np.ndarray) -> np.ndarray:
    """Hits that hold no shorter hit inside them."""
    spans = {(int(f), int(z)) for f, z, h in zip(first, size, hit) if h}
    out = hit.copy()
    for k in np.flatnonzero(hit):
        f, z = int(first[k]), int(size[k])
        out[k] = not any((g, y) in spans for g in range(f, f + z) for y in range(1, z) if g + y <= f + z
                         and (g, y) != (f, z))
    return out


def fit_ranker(samples: list[Sample], l2: float = RANKER_L2, weights: np.ndarray | None = None) -> Linear:
    """Conditional-logit ranker over the windows of the answerable samples."""
    minimize, _ = _libraries()
    weights = np.ones(len(samples)) if weights is None else weights
    used = [(s, float(w)) for s, w in zip(samples, weights) if s.answerable and s.labels.any()]
    groups = [(s.reading.windows.features, s.labels) for s, _ in used]
    group_weights = [w for _, w in used]
    if not groups:
        raise QAError("no answerable question has an answering window among its candidates; nothing to fit")
    every = np.concatenate([x for x, _ in groups]).astype(np.float64)
    mean, scale = every.mean(axis=0), every.std(axis=0)
    scale = np.where(scale > 1e-9, scale, 1.0)
    data = [((x - mean) / scale, y, g) for (x, y), g in zip(groups, group_weights)]
    norm = sum(group_weights)

    def loss(w: np.ndarray) -> tuple[float, np.ndarray]:
        total, grad = 0.5 * l2 * float(w @ w) * norm / len(data), l2 * w * norm / len(data)
        for x, y, g in data:
            s = x @ w
            top = s.max()
            p_all = np.exp(s - top)
            p_pos = p_all * y
            z_all, z_pos = p_all.sum(), p_pos.sum()
            total += g * float(np.log(z_all) - np.log(z_pos))
            grad = grad + g * (x.T @ (p_all / z_all - p_pos / z_pos))
        return total / norm, grad / norm

    result = minimize(loss, np.zeros(len(FEATURES)), jac=True, method="L-BFGS-B")
    return Linear(FEATURES, mean, scale, result.x)


def _pick_rows(samples: list[Sample], ranker: Linear) -> list[tuple[Sample, np.ndarray, list[bool], Any]]:
    """Per sample with excerpts: its confidence features, whether each shown excerpt
    answers, and the picks."""
    out = []
    for sample in samples:
        r = sample.reading
        relevance = ranker(r.windows.features)
        picks = select(r.index, r.candidates, r.windows, relevance, TOP_K)
        if picks:
            out.append((sample, confidence_features(r.candidates, r.windows, relevance, picks),
                        _pick_hits(sample, picks), picks))
    return out


def _pick_hits(sample: Sample, picks: list) -> list[bool]:
    win = sample.reading.windows
    return [sample.answerable and _window_hits(sample.reading, int(win.first[p.window]), int(win.size[p.window]),
                                               sample.item) for p in picks]


def _logistic(x: np.ndarray, y: np.ndarray, features: tuple[str, ...], c: float,
              weights: np.ndarray | None = None) -> Linear:
    _, LogisticRegression = _libraries()
    mean, scale = x.mean(axis=0), x.std(axis=0)
    scale = np.where(scale > 1e-9, scale, 1.0)
    if len(set(y.tolist())) < 2:
        raise QAError(f"every example for {features[0]}… has the same label; nothing to fit")
    model = LogisticRegression(C=c, max_iter=5000).fit((x - mean) / scale, y, sample_weight=weights)
    return Linear(features, mean, scale, model.coef_[0], float(model.intercept_[0]))


def fit_confidence(rows: list, c: float = CONFIDENCE_C, weights: dict[int, float] | None = None) -> Linear:
    """Logistic regression from an excerpt's confidence features to "it answers", on the
    excerpts shown for answerable questions (``weights``: per sample, by ``id()``)."""
    shown = [(sample, f, h) for sample, f, h, _ in rows if sample.answerable]
    x = np.concatenate([f for _, f, _ in shown])
    y = np.concatenate([np.asarray(h, dtype=int) for _, _, h in shown])
    w = None if weights is None else np.concatenate([np.full(len(h), weights[id(s)]) for s, _, h in shown])
    return _logistic(x, y, CONFIDENCE_FEATURES, c, w)


def _answerable_row(sample: Sample, confidence_rows: np.ndarray, picks: list) -> np.ndarray:
    r = sample.reading
    return answerable_features(confidence_rows[:1], r.candidates, r.windows, picks[0])


def fit_answerable(rows: list, c: float = ANSWERABLE_C, weights: dict[int, float] | None = None) -> Linear:
    """Logistic regression from a question's best excerpt to "the sources answer it"."""
    x = np.concatenate([_answerable_row(sample, f, picks) for sample, f, _, picks in rows])
    y = np.array([int(sample.answerable) for sample, _, _, _ in rows])
    w = None if weights is None else np.array([weights[id(sample)] for sample, _, _, _ in rows])
    return _logistic(x, y, ANSWERABLE_FEATURES, c, w)


def no_answer_line(rows: list, answerable: Linear, max_false_no: float = MAX_FALSE_NO,
                   weights: dict[int, float] | None = None) -> float:
    """The highest threshold on the chance that the sources answer that declines at most
    ``max_false_no`` of the answerable samples (by weight)."""
    chances = sorted(
        (logistic(float(answerable(_answerable_row(sample, f, picks))[0])),
         1.0 if weights is None else weights[id(sample)])
        for sample, f, _, picks in rows if sample.answerable
    )
    if not chances:
        return 0.0
    total = sum(w for _, w in chances)
    declined, allowed = 0.0, 0
    for _, w in chances:  # the most answerable questions that may be declined, lowest chance first
        if declined + w > max_false_no * total + 1e-9:
            break
        declined += w
        allowed += 1
    # Declining below chances[allowed] declines exactly `allowed` answerable questions.
    return float(chances[allowed][0]) - 1e-9 if allowed < len(chances) else 1.0


def fit(samples: list[Sample], info: dict[str, Any] | None = None, params: FitParams = FitParams()) -> ScoringModel:
    """Fit ranker, confidence, answerability and no-answer line on ``samples``."""
    weights = sample_weights(samples, params.balance)
    by_sample = {id(s): float(w) for s, w in zip(samples, weights)} if params.balance else None
    ranker = fit_ranker(samples, params.ranker_l2, weights)
    rows = _pick_rows(samples, ranker)
    answerable = fit_answerable(rows, params.answerable_c, by_sample)
    return ScoringModel(ranker, fit_confidence(rows, params.confidence_c, by_sample), answerable,
                        no_answer_line(rows, answerable, params.max_false_no, by_sample), info or {})


def answers(samples: list[Sample], model: ScoringModel) -> list[Answer]:
    """What the service would answer with ``model``."""
    out = []
    for s in samples:
        started = time.perf_counter()
        excerpts, no_answer = respond(s.reading, model, TOP_K)
        out.append(Answer(s.item["question"], no_answer, tuple(excerpts),
                          round((time.perf_counter() - started) * 1000, 2)))
    return out


def measure(samples: list[Sample], model: ScoringModel) -> dict[str, Any]:
    """The scorer's metrics of ``model`` on ``samples``."""
    index = samples[0].reading.index
    metrics, _ = score_answers([s.item for s in samples], answers(samples, model),
                               lambda d: index.documents[index.doc_rows[d]].text)
    return metrics


def folds(samples: list[Sample], k: int, seed: int = 0) -> list[list[int]]:
    """``k`` folds of sample positions, grouped by evidence sentence, stratified by
    answerable or not and by gold document."""
    groups: dict[str, list[int]] = {}
    for n, s in enumerate(samples):
        evidence = s.item.get("evidence") or s.item.get("answers") or [s.item["id"]]
        groups.setdefault(str(evidence[0]).strip().lower(), []).append(n)
    strata: dict[tuple[bool, str], list[list[int]]] = {}
    for members in groups.values():
        first = samples[members[0]]
        strata.setdefault((first.answerable, str(first.item.get("document", ""))), []).append(members)
    rng = random.Random(seed)
    out: list[list[int]] = [[] for _ in range(k)]
    at = 0
    for key in sorted(strata):
        bucket = strata[key]
        rng.shuffle(bucket)
        for members in bucket:
            out[at % k] += members
            at += 1
    return [sorted(f) for f in out]


def cross_validate(samples: list[Sample], k: int = 5, seed: int = 0) -> dict[str, Any]:
    """Fit on k-1 folds, answer the k-th; metrics pooled over all held-out answers, and per fold."""
    held_out: list[tuple[int, Answer]] = []
    per_fold = []
    for test in folds(samples, k, seed):
        chosen = set(test)
        train = [s for n, s in enumerate(samples) if n not in chosen]
        model = fit(train)
        fold_samples = [samples[n] for n in test]
        got = answers(fold_samples, model)
        held_out += list(zip(test, got))
        per_fold.append(measure(fold_samples, model))
    held_out.sort(key=lambda t: t[0])
    index = samples[0].reading.index
    pooled, misses = score_answers([samples[n].item for n, _ in held_out], [a for _, a in held_out],
                                   lambda d: index.documents[index.doc_rows[d]].text)
    spread = {
        m: {"mean": round(statistics.mean(vals), 3), "sd": round(statistics.pstdev(vals), 3)}
        for m in METRICS
        if (vals := [f[m] for f in per_fold if f.get(m) is not None])
    }
    return {"k": k, "pooled": {m: pooled[m] for m in METRICS}, "folds": spread, "misses": misses,
            "answers": held_out}


def bootstrap_model() -> ScoringModel:
    """A model with no weights, for reading questions before any model is fitted."""

    def zeros(features: tuple[str, ...]) -> Linear:
        n = len(features)
        return Linear(features, np.zeros(n), np.ones(n), np.zeros(n))

    return ScoringModel(zeros(FEATURES), zeros(CONFIDENCE_FEATURES), zeros(ANSWERABLE_FEATURES), 0.0, {})
