"""Fit the excerpt scoring weights and the confidence curve on a development question set.

    python benchmarks/calibrate.py ../shared/eval/dev.jsonl [--index index]

1. For every question, the windows (runs of one to three candidate sentences) and their
   features are computed once; a window is labelled correct when its text passes the
   scorer's hit rule.
2. A coarse grid over the feature weights is searched for the best hit@1 + MRR / 2, less a
   little for every extra sentence in the top window (coarse on purpose: 40 questions cannot
   support fine distinctions).
3. A logistic curve maps the best candidate's relevance to the chance that it is right
   (answerable questions whose top sentence is a hit = 1; misses and unanswerable = 0).

It prints the weights and curve to paste into ``qa/excerpts.py``; it changes no file.
"""

from __future__ import annotations

import argparse
import itertools
import json
from pathlib import Path

import numpy as np

from qa.embedding import SentenceTransformerEmbedder
from qa.evaluation import is_hit, load_questions
from qa.excerpts import FEATURES, WEIGHTS, ScoringWeights, has_answer_type, windows
from qa.records import Citation, Excerpt
from qa.service import QAService

GRID = {
    "sentence_cos": (0.2, 0.3, 0.45),
    "passage_cos": (0.1, 0.2, 0.3),
    "coverage": (0.1, 0.25, 0.4),
    "sentence_bm25": (0.0, 0.1, 0.2),
    "mentioned": (0.0, 0.04, 0.08),
    "extra_sentences": (-0.02, -0.05, -0.08),
    "dangling_start": (0.0, -0.03, -0.06),
    "cut_continuation": (0.0, -0.03, -0.06),
    "lacks_answer_type": (0.0, -0.05, -0.1, -0.2),
}


def collect(service: QAService, items: list[dict]) -> list[tuple[dict, np.ndarray, np.ndarray]]:
    """(item, window features, window labels) per question."""
    snapshot = service.loaded
    index = snapshot.index
    s = index.sentences
    out = []
    for item in items:
        vector = service.embedder.encode([item["question"]])[0]
        cands = snapshot.retriever.candidates(item["question"], vector)
        win = windows(index, cands, has_answer_type(index, cands, item["question"]))
        labels = np.zeros(len(win.first), dtype=bool)
        if item.get("answerable", True):
            for k, (first, size) in enumerate(zip(win.first, win.size)):
                a, b = int(cands.rows[first]), int(cands.rows[first + size - 1])
                doc = index.documents[int(s.doc[a])]
                start, end = int(s.start[a]), int(s.end[b])
                cite = Citation(doc.id, doc.meta.title, None, None, start, end)
                labels[k] = is_hit(Excerpt(doc.text[start:end], (0, 0), 0.0, cite), item)
        out.append((item, win.features, labels))
    return out


def rank_metrics(data: list, weights: ScoringWeights) -> tuple[float, float, float]:
    """Window-level hit@1, MRR (ranks among all windows) and mean extra sentences of the top window."""
    vec = weights.vector()
    hits, rr, extra, n = 0, 0.0, 0.0, 0
    for item, feats, labels in data:
        if not item.get("answerable", True):
            continue
        n += 1
        rel = feats @ vec
        top = int(np.argmax(rel))
        hits += bool(labels[top])
        extra += float(feats[top, FEATURES.index("extra_sentences")])
        if labels.any():
            rr += 1 / (1 + int(np.sum(rel > rel[labels].max())))
    return hits / n, rr / n, extra / n


def fit_logistic(x: np.ndarray, y: np.ndarray, steps: int = 20000, lr: float = 0.5) -> tuple[float, float]:
    """Slope and midpoint of p = 1 / (1 + exp(-slope * (x - midpoint)))."""
    a, b = 1.0, 0.0
    for _ in range(steps):
        p = 1 / (1 + np.exp(-(a * x + b)))
        a -= lr * float(np.mean((p - y) * x)) * 10
        b -= lr * float(np.mean(p - y))
    return a, -b / a


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("questions", type=Path)
    ap.add_argument("--index", type=Path, default=Path("index"))
    args = ap.parse_args()

    service = QAService(args.index, SentenceTransformerEmbedder())
    service.load()
    data = collect(service, load_questions(args.questions))
    hit1, mrr, extra = rank_metrics(data, WEIGHTS)
    print(f"current weights: hit@1 {hit1:.3f}  mrr {mrr:.3f}  extra sentences {extra:.2f}")

    best = None
    for values in itertools.product(*(GRID[f] for f in FEATURES)):
        weights = ScoringWeights(**dict(zip(FEATURES, values)), slope=WEIGHTS.slope, midpoint=WEIGHTS.midpoint)
        hit1, mrr, extra = rank_metrics(data, weights)
        key = (round(hit1 + 0.5 * mrr - 0.1 * extra, 4), -sum(abs(v) for v in values))
        if best is None or key > best[0]:
            best = (key, weights, hit1, mrr, extra)
    assert best is not None
    _, weights, hit1, mrr, extra = best
    print(f"best grid weights: hit@1 {hit1:.3f}  mrr {mrr:.3f}  extra sentences {extra:.2f}")
    print(json.dumps({f: getattr(weights, f) for f in FEATURES}))

    tops, ys = [], []
    for item, feats, labels in data:
        rel = feats @ weights.vector()
        top = int(np.argmax(rel))
        tops.append(float(rel[top]))
        ys.append(1.0 if item.get("answerable", True) and labels[top] else 0.0)
    slope, midpoint = fit_logistic(np.array(tops), np.array(ys))
    print(f"calibration: slope {slope:.2f}  midpoint {midpoint:.3f}")
    for item, top in sorted(zip(data, tops), key=lambda t: t[1]):
        kind = "answerable" if item[0].get("answerable", True) else "UNANSWERABLE"
        print(f"  {top:.3f} {item[0]['id']} {kind}")


if __name__ == "__main__":
    main()
