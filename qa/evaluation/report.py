"""``qa eval --report DIR``: can a score of 0.8 be read as 80 %?

Writes, for one run over a question set:

* ``reliability.png``: a reliability diagram. Every excerpt shown is binned by its score;
  each bin's share of excerpts that answer (by the scorer's rule) is plotted against the
  bin's mean score, beside the diagonal a calibrated score would follow, with the count per
  bin. Excerpts given for unanswerable questions never answer.
* ``by_type.md``: hit@1, recall@5, span F1 and declined share per question type.
* ``metrics.json``: the overall metrics, the calibration table and the expected
  calibration error (the count-weighted gap between score and share of answers).

Needs matplotlib (``pip install 'qa[fit]'``).
"""

from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path
from typing import Any

from qa.errors import QAError
from qa.evaluation.metrics import is_hit, span_f1, top_hit
from qa.records import Answer

BINS = 10


def calibration_table(items: list[dict[str, Any]], answers: list[Answer]) -> list[dict[str, float]]:
    """Per score bin: count, mean score, share of excerpts that answer."""
    bins: list[list[tuple[float, bool]]] = [[] for _ in range(BINS)]
    for item, answer in zip(items, answers):
        for e in answer.excerpts:
            right = item.get("answerable", True) is not False and is_hit(e, item)
            bins[min(BINS - 1, int(e.score * BINS))].append((e.score, right))
    table = []
    for n, members in enumerate(bins):
        if members:
            table.append({
                "low": n / BINS, "high": (n + 1) / BINS, "count": len(members),
                "mean_score": round(sum(s for s, _ in members) / len(members), 4),
                "answers": round(sum(r for _, r in members) / len(members), 4),
            })
    return table


def expected_calibration_error(table: list[dict[str, float]]) -> float:
    """Count-weighted mean of |mean score - share that answers| over the bins."""
    total = sum(row["count"] for row in table)
    if not total:
        return 0.0
    return round(sum(row["count"] * abs(row["mean_score"] - row["answers"]) for row in table) / total, 4)


def by_type(items: list[dict[str, Any]], answers: list[Answer]) -> list[dict[str, Any]]:
    """Per question type: count, hit@1, recall@5, span F1, share declined."""
    groups: dict[str, list[tuple[dict[str, Any], Answer]]] = defaultdict(list)
    for item, answer in zip(items, answers):
        groups[str(item.get("type", "?"))].append((item, answer))
    rows = []
    for kind in sorted(groups):
        pairs = groups[kind]
        answerable = [(i, a) for i, a in pairs if i.get("answerable", True) is not False]
        declined = sum(a.no_answer or not a.excerpts for _, a in pairs) / len(pairs)
        row: dict[str, Any] = {"type": kind, "questions": len(pairs), "declined": round(declined, 3)}
        if answerable:
            hit1 = [top_hit(a, i) for i, a in answerable]
            rec5 = [not a.no_answer and any(is_hit(e, i) for e in a.excerpts[:5]) for i, a in answerable]
            f1s = [span_f1(a.excerpts[0], i) if a.excerpts else 0.0 for i, a in answerable]
            row.update({"hit@1": round(sum(hit1) / len(hit1), 3), "recall@5": round(sum(rec5) / len(rec5), 3),
                        "span_f1": round(sum(f1s) / len(f1s), 3)})
        rows.append(row)
    return rows


def write_report(directory: Path, items: list[dict[str, Any]], answers: list[Answer],
                 metrics: dict[str, Any], title: str) -> list[Path]:
    """Write the diagram, the per-type table and the metrics into ``directory``."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError as exc:
        raise QAError(f"qa eval --report needs matplotlib: pip install 'qa[fit]' ({exc})") from exc
    directory.mkdir(parents=True, exist_ok=True)
    table = calibration_table(items, answers)
    ece = expected_calibration_error(table)

    fig, ax = plt.subplots(figsize=(5.5, 5.5), dpi=120)
    ax.plot([0, 1], [0, 1], linestyle="--", color="#888888", label="calibrated")
    xs = [row["mean_score"] for row in table]
    ys = [row["answers"] for row in table]
    ax.plot(xs, ys, marker="o", color="#1f6feb", label="qa")
    for row in table:
        ax.annotate(str(row["count"]), (row["mean_score"], row["answers"]), textcoords="offset points",
                    xytext=(6, -10), fontsize=8, color="#444444")
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    ax.set_xlabel("score of the excerpt")
    ax.set_ylabel("share of excerpts that answer")
    ax.set_title(f"{title}\nexpected calibration error {ece:.3f}", fontsize=10)
    ax.legend(loc="upper left")
    fig.tight_layout()
    png = directory / "reliability.png"
    fig.savefig(png)
    plt.close(fig)

    rows = by_type(items, answers)
    lines = ["| type | questions | hit@1 | recall@5 | span F1 | declined |", "|---|---|---|---|---|---|"]
    for r in rows:
        lines.append(f"| {r['type']} | {r['questions']} | {r.get('hit@1', '')} | {r.get('recall@5', '')} | "
                     f"{r.get('span_f1', '')} | {r['declined']} |")
    md = directory / "by_type.md"
    md.write_text("\n".join(lines) + "\n", encoding="utf-8")
    out = directory / "metrics.json"
    out.write_text(json.dumps({"metrics": metrics, "calibration": table, "expected_calibration_error": ece,
                               "by_type": rows}, indent=2) + "\n", encoding="utf-8")
    return [png, md, out]
