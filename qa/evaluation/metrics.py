"""``qa eval``: the metrics of the shared scorer (``score.py``), computed in-process.

Same definitions, same normalisation: hit@1, recall@5, mrr@10, span_f1, false_no_answer,
no_answer_accuracy, verbatim and the median excerpt length, plus server-side latency.
"""

from __future__ import annotations

import json
import re
import statistics
import unicodedata
from collections.abc import Callable
from pathlib import Path
from typing import Any

from qa.answer.service import QAService
from qa.errors import QAError
from qa.records import Answer, Excerpt

QUOTES = str.maketrans({"\u2018": "'", "\u2019": "'", "\u201c": '"', "\u201d": '"',
                        "\u2013": "-", "\u2014": "-", "\u00a0": " "})


def norm(text: str) -> str:
    """Normalise for matching: NFKC, plain quotes and dashes, lower case, single spaces."""
    text = unicodedata.normalize("NFKC", text).translate(QUOTES).lower()
    return re.sub(r"\s+", " ", text).strip()


def norm_words(text: str) -> list[str]:
    """Words as the scorer counts them."""
    return re.findall(r"[a-z0-9$]+", norm(text))


def f1(pred: str, gold: str) -> float:
    """SQuAD-style word F1."""
    p, g = norm_words(pred), norm_words(gold)
    if not p or not g:
        return 0.0
    pool, common = list(g), 0
    for w in p:
        if w in pool:
            pool.remove(w)
            common += 1
    if common == 0:
        return 0.0
    precision, recall = common / len(p), common / len(g)
    return 2 * precision * recall / (precision + recall)


def load_questions(path: Path) -> list[dict[str, Any]]:
    """Read a JSONL question set."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
        return [json.loads(line) for line in lines if line.strip()]
    except (OSError, ValueError) as exc:
        raise QAError(f"cannot read question set {path}: {exc}") from exc


def gold_answers(item: dict[str, Any]) -> list[str]:
    """The accepted answers of an item."""
    if "evidence" not in item and item.get("answers"):
        return list(item["answers"])
    return [item["answer"]]


def _contains(text: str, answer: str) -> bool:
    answer = norm(answer)
    return bool(answer) and re.search(r"(?<!\w)" + re.escape(answer) + r"(?!\w)", text) is not None


def is_hit(excerpt: Excerpt, item: dict[str, Any]) -> bool:
    """Whether an excerpt answers an item, by the scorer's rule."""
    text = norm(excerpt.text)
    if "evidence" not in item and item.get("answers"):
        return any(_contains(text, a) for a in item["answers"])
    golds = [(item["document"], ev) for ev in item["evidence"]]
    golds += [(a["document"], a["evidence"]) for a in item.get("also", [])]
    for gold_doc, evidence in golds:
        if excerpt.source.document != gold_doc:
            continue
        if gold_doc == item["document"] and norm(item["answer"]) in text:
            return True
        ev_words = norm_words(evidence)
        got = set(norm_words(text))
        if ev_words and sum(w in got for w in ev_words) / len(ev_words) >= 0.6:
            return True
    return False


def top_hit(answer: Answer, item: dict[str, Any]) -> bool:
    """Whether an answer's first excerpt answers an item (and the answer was not declined)."""
    return not answer.no_answer and bool(answer.excerpts) and is_hit(answer.excerpts[0], item)


def evaluate(
    service: QAService, items: list[dict[str, Any]], top_k: int = 5, history: bool = True
) -> tuple[dict[str, Any], list[tuple[str, str]], list[Answer]]:
    """Score ``items`` against ``service``; returns the metrics, the misses and the answers.

    An item's ``history`` (earlier questions) is sent with its question: ``followup_hit@1`` is
    hit@1 over the answerable items with a history that are not marked ``standalone``. Those
    marked ``standalone`` are asked again without it: ``controls_unchanged`` is the share
    answered exactly the same (excerpts, scores, ``no_answer``, and no ``interpreted_as``).
    With ``history`` false every question is asked alone, for comparison.
    """
    answers = [service.ask(item["question"], top_k, history=item.get("history", ()) if history else ())
               for item in items]
    metrics, misses = score_answers(items, answers, lambda doc: service.document(doc).text, top_k)
    followups = [(item, answer) for item, answer in zip(items, answers) if item.get("history")
                 and not item.get("standalone") and item.get("answerable", True) is not False]
    if followups:
        hits = [top_hit(a, item) for item, a in followups]
        metrics["followup_hit@1"] = round(sum(hits) / len(hits), 3)
    controls = [(item, answer) for item, answer in zip(items, answers) if history and item.get("standalone")]
    if controls:
        same = [_same(answer, service.ask(item["question"], top_k)) for item, answer in controls]
        metrics["controls_unchanged"] = round(sum(same) / len(same), 3)
        misses += [(item["id"], "a stand-alone question answered differently with its history")
                   for (item, _), ok in zip(controls, same) if not ok]
    return metrics, misses, answers


def _same(with_history: Answer, alone: Answer) -> bool:
    """Whether two answers are the same but for their timing."""
    return (with_history.interpreted_as is None and with_history.no_answer == alone.no_answer
            and with_history.excerpts == alone.excerpts)


def score_answers(
    items: list[dict[str, Any]], answers: list[Answer], document_text: Callable[[str], str], top_k: int = 5
) -> tuple[dict[str, Any], list[tuple[str, str]]]:
    """The scorer's metrics for ``answers[i]`` given to ``items[i]``, and the misses."""
    hits1 = recall5 = false_no = answerable = unanswerable = declined = 0
    verbatim_ok = verbatim_total = 0
    rr: list[float] = []
    f1s: list[float] = []
    chars: list[int] = []
    took: list[float] = []
    misses: list[tuple[str, str]] = []
    for item, answer in zip(items, answers):
        took.append(answer.took_ms)
        excerpts = answer.excerpts[:top_k]
        said_no = answer.no_answer or not excerpts
        for e in excerpts:
            verbatim_total += 1
            verbatim_ok += document_text(e.source.document)[e.source.start : e.source.end] == e.text
        if item.get("answerable", True) is False:
            unanswerable += 1
            declined += said_no
            if not said_no:
                misses.append((item["id"], "answered an unanswerable question"))
            continue
        answerable += 1
        false_no += said_no
        ranks = [i for i, e in enumerate(excerpts[:10]) if is_hit(e, item)]
        if excerpts:
            top = excerpts[0]
            chars.append(len(top.text))
            f1s.append(span_f1(top, item))
        else:
            f1s.append(0.0)
        if ranks and ranks[0] == 0 and not said_no:
            hits1 += 1
        if ranks and ranks[0] < 5 and not said_no:
            recall5 += 1
        rr.append(1 / (ranks[0] + 1) if ranks and not said_no else 0.0)
        if not ranks or ranks[0] != 0 or said_no:
            why = f"first hit at rank {ranks[0] + 1 if ranks else None}" + (" (declined)" if said_no else "")
            misses.append((item["id"], why))

    def ratio(n: int, d: int) -> float | None:
        return round(n / d, 3) if d else None

    def pct(xs: list[float], q: float) -> float | None:
        return round(sorted(xs)[min(len(xs) - 1, int(q * len(xs)))], 1) if xs else None

    metrics = {
        "questions": len(items),
        "hit@1": ratio(hits1, answerable),
        "recall@5": ratio(recall5, answerable),
        "mrr@10": round(sum(rr) / answerable, 3) if answerable else None,
        "span_f1": round(statistics.mean(f1s), 3) if f1s else None,
        "false_no_answer": ratio(false_no, answerable),
        "no_answer_accuracy": ratio(declined, unanswerable),
        "verbatim": ratio(verbatim_ok, verbatim_total),
        "excerpt_chars_median": statistics.median(chars) if chars else None,
        "took_ms_p50": pct(took, 0.5),
        "took_ms_p95": pct(took, 0.95),
    }
    return metrics, misses


def span_f1(excerpt: Excerpt, item: dict[str, Any]) -> float:
    """Word F1 between an excerpt's highlighted span and the item's best gold answer."""
    span = excerpt.text[excerpt.highlight[0] : excerpt.highlight[1]]
    return max(f1(span, a) for a in gold_answers(item))
