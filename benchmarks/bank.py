#!/usr/bin/env python3
"""The question bank's protocol: leave-one-collection-out, with a sealed part.

    PYTHONPATH=. .venv/bin/python benchmarks/bank.py                 # open collections, left out one at a time
    PYTHONPATH=. .venv/bin/python benchmarks/bank.py --sealed        # … and the sealed ones (when an issue closes)
    PYTHONPATH=. .venv/bin/python benchmarks/bank.py --write-model qa/answer/scoring.json

For every collection of ``eval/bank/`` (its README says ``Part: open`` or ``Part: sealed``):

1. its corpus is fetched and converted by ``eval/bank/fetch.py`` into ``ROOT/corpora/<name>``
   unless it is there;
2. it is indexed into ``ROOT/indexes/<name>-<key>``, where the key hashes the corpus files and
   the code that builds an index (sources, chunking, language, embedding, index), so a change to
   scoring reuses every index and a change to indexing rebuilds them;
3. every question is read once (candidates, windows, features: ``qa.evaluation.fitting.collect``).

Then, for each open collection, the scoring model (ranker, confidence, answerability, no-answer
line) is fitted on the questions of all the other open collections and scores the one left
out. The sealed collections are never fitted on; with ``--sealed`` they are scored by the
model fitted on every open collection. Beside each left-out figure stands the packaged
model's (``qa/answer/scoring.json``) on the same questions.

Writes into ``--report`` (default ``bank-report/``): ``bank.md`` (the tables), ``bank.json``,
and for the pooled left-out answers ``reliability.png``, ``by_type.md`` and ``metrics.json``.
Needs ``pip install -e '.[fit]'``.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import random
import re
import shutil
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
BANK = REPO / "eval" / "bank"
INDEX_CODE = ("qa/sources", "qa/chunking", "qa/language", "qa/embedding", "qa/index", "qa/records.py")
METRICS = ("hit@1", "recall@5", "mrr@10", "span_f1", "false_no_answer", "no_answer_accuracy")
BUDGET = 2_500_000  # characters of text indexed per collection: about 20 minutes on 2 cores
SHOWN = ("hit@1", "recall@5", "span_f1", "false_no_answer", "no_answer_accuracy")


@dataclass(frozen=True)
class Collection:
    name: str
    part: str  # open or sealed
    genre: str
    family: str  # collections from one source family are left out together

    @property
    def folder(self) -> Path:
        return BANK / self.name


def collections() -> list[Collection]:
    """The bank's collections, from their README fields."""
    out = []
    for folder in sorted(p for p in BANK.iterdir() if (p / "README.md").is_file()):
        text = (folder / "README.md").read_text(encoding="utf-8")
        fields = dict(re.findall(r"^- \*{0,2}([A-Z][a-z]+):?\*{0,2}:? (.+)$", text, re.M))
        out.append(Collection(folder.name, fields.get("Part", "open").strip(), fields.get("Genre", "").strip(),
                              fields.get("Family", folder.name).strip()))
    return out


def _digest(paths: list[Path], root: Path) -> str:
    h = hashlib.sha256()
    for p in sorted(paths):
        h.update(p.relative_to(root).as_posix().encode())
        h.update(hashlib.sha256(p.read_bytes()).digest())
    return h.hexdigest()


def index_code_key() -> str:
    """Hash of the code that decides what an index holds."""
    files = [f for part in INDEX_CODE for f in ((REPO / part).rglob("*.py") if (REPO / part).is_dir()
                                                 else [REPO / part])]
    return _digest(files, REPO)


def ensure_corpus(c: Collection, root: Path) -> Path:
    corpus = root / "corpora" / c.name
    if not corpus.is_dir() or not any(corpus.iterdir()):
        print(f"fetching {c.name} …", file=sys.stderr)
        subprocess.run([sys.executable, str(BANK / "fetch.py"), c.name, str(corpus)], check=True)
    return corpus


def cited_documents(c: Collection) -> set[str]:
    """The documents that the collection's questions and conversations cite."""
    cited: set[str] = set()
    for name in ("questions.jsonl", "followups.jsonl"):
        path = c.folder / name
        if path.is_file():
            for line in path.read_text(encoding="utf-8").splitlines():
                item = json.loads(line) if line.strip() else {}
                cited.update([item["document"]] if item.get("document") else [])
                cited.update(a["document"] for a in item.get("also", []))
    return cited


def budgeted_corpus(c: Collection, corpus: Path, root: Path, budget: int) -> Path:
    """``corpus`` itself when its text is within ``budget`` characters; else a copy holding
    the documents its questions cite and, drawn in a fixed random order, as many others as
    fit in the budget."""
    sys.path.insert(0, str(BANK))
    from texts import document_texts

    files = [p for p in corpus.rglob("*") if p.is_file()]
    if budget <= 0 or sum(p.stat().st_size for p in files) <= budget:
        return corpus
    texts = document_texts(corpus)
    if sum(len(t) for t in texts.values()) <= budget:
        return corpus
    cited = cited_documents(c)
    others = sorted(d for d in texts if d not in cited)
    random.Random(c.name).shuffle(others)
    chosen, total = sorted(d for d in texts if d in cited), sum(len(texts[d]) for d in texts if d in cited)
    for d in others:
        if total + len(texts[d]) > budget:
            continue
        chosen.append(d)
        total += len(texts[d])
    target = root / "budgeted" / f"{c.name}-{budget}"
    if target.exists():
        shutil.rmtree(target)
    for d in chosen:
        (target / d).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(corpus / d, target / d)
    print(f"{c.name}: {len(chosen)} of {len(texts)} documents ({total:,} characters) within the budget",
          file=sys.stderr)
    return target


def ensure_index(c: Collection, root: Path, embedder: Any, code_key: str, budget: int) -> Path:
    from qa.index.build import build_index

    corpus = budgeted_corpus(c, ensure_corpus(c, root), root, budget)
    key = hashlib.sha256((code_key + _digest([p for p in corpus.rglob("*") if p.is_file()], corpus)).encode())
    index = root / "indexes" / f"{c.name}-{key.hexdigest()[:12]}"
    if not (index / "CURRENT").is_file():
        started = time.perf_counter()
        print(f"indexing {c.name} into {index} …", file=sys.stderr)
        build_index(corpus, index, embedder, progress=sys.stderr.isatty())
        print(f"indexed {c.name} in {time.perf_counter() - started:.0f} s", file=sys.stderr)
    return index


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--root", type=Path, default=Path.home() / ".cache" / "qa-bank",
                        help="where corpora and indexes are cached (default ~/.cache/qa-bank)")
    parser.add_argument("--only", action="append", help="only these collections (repeatable)")
    parser.add_argument("--index-only", action="store_true", help="fetch and index, nothing else")
    parser.add_argument("--budget", type=int, default=BUDGET,
                        help=f"characters of text indexed per collection (default {BUDGET:,}; 0: all): a larger "
                             "collection keeps the documents its questions cite and others drawn at random")
    parser.add_argument("--sealed", action="store_true", help="also score the sealed collections")
    parser.add_argument("--report", type=Path, default=Path("bank-report"))
    parser.add_argument("--write-model", type=Path, help="fit on every open collection and write the model here")
    parser.add_argument("--params", choices=list(VARIANTS), default="shipped", help="the fitting settings")
    parser.add_argument("--variants", action="store_true",
                        help="compare the fitting settings of VARIANTS, left out, and write variants.md")
    args = parser.parse_args(argv)

    from qa.embedding.encoder import make_embedder

    chosen = [c for c in collections() if not args.only or c.name in args.only]
    embedder = make_embedder()
    code_key = index_code_key()
    indexes = {c.name: ensure_index(c, args.root, embedder, code_key, args.budget) for c in chosen
               if c.part == "open" or args.sealed or args.index_only}
    if args.index_only:
        return 0
    return protocol(chosen, indexes, embedder, args)


def load_questions(c: Collection) -> list[dict[str, Any]]:
    from qa.evaluation.metrics import load_questions as load

    return load(c.folder / "questions.jsonl")


def read_collection(c: Collection, index: Path, embedder: Any) -> list[Any]:
    """Every question of ``c`` read once against its index, its windows labelled."""
    from qa.answer.service import QAService
    from qa.evaluation import fitting

    service = QAService(index, embedder, fitting.bootstrap_model())
    service.load()
    started = time.perf_counter()
    items = [{**item, "collection": c.name} for item in load_questions(c)]  # for --params balance
    samples = fitting.collect(service, items)
    print(f"read {len(samples)} questions of {c.name} in {time.perf_counter() - started:.0f} s", file=sys.stderr)
    return samples


FOLLOWUP_METRICS = ("followup_hit@1", "controls_unchanged", "no_answer_accuracy")


def score_followups(c: Collection, index: Path, embedder: Any, model: Any) -> dict[str, Any]:
    """The collection's conversations, each last question asked with its history."""
    from qa.answer.service import QAService
    from qa.evaluation.metrics import evaluate, load_questions

    path = c.folder / "followups.jsonl"
    if not path.is_file():
        return {}
    service = QAService(index, embedder, model)
    service.load()
    items = load_questions(path)
    metrics, _, _ = evaluate(service, items)
    return {"conversations": len(items), **{m: metrics.get(m) for m in FOLLOWUP_METRICS}}


def figures(metrics: dict[str, Any]) -> dict[str, Any]:
    return {m: metrics.get(m) for m in METRICS}


# Fitting settings compared by --variants, all through leave-one-collection-out.
VARIANTS: dict[str, dict[str, Any]] = {
    "shipped": {},
    "ranker_l2=0.1": {"ranker_l2": 0.1},
    "ranker_l2=10": {"ranker_l2": 10.0},
    "answerable_c=0.01": {"answerable_c": 0.01},
    "answerable_c=0.5": {"answerable_c": 0.5},
    "confidence_c=0.1": {"confidence_c": 0.1},
    "max_false_no=0.01": {"max_false_no": 0.01},
    "max_false_no=0.02": {"max_false_no": 0.02},
    "max_false_no=0.06": {"max_false_no": 0.06},
    "max_false_no=0.10": {"max_false_no": 0.10},
    "balance": {"balance": True},
}


def leave_one_out(samples: dict[str, list[Any]], open_names: list[str], params: Any,
                  family: dict[str, str]) -> dict[str, tuple[Any, dict]]:
    """Per open collection: the model fitted on the open collections of other families, and
    its figures on it."""
    from qa.evaluation import fitting

    out = {}
    for name in open_names:
        train = [s for other in open_names if family[other] != family[name] for s in samples[other]]
        model = fitting.fit(train, params=params)
        out[name] = (model, figures(fitting.measure(samples[name], model)))
    return out


BUNDLED = "russia-iran"  # the bundled corpus: its new questions are the in-domain case


def known_collection_cv(samples: dict[str, list[Any]], open_names: list[str], name: str, params: Any,
                        k: int = 5) -> dict[str, Any]:
    """New questions over a collection the model has seen: ``k`` folds of ``name``'s questions,
    each scored by a model fitted on the other folds and every other open collection."""
    from qa.evaluation import fitting

    others = [s for other in open_names if other != name for s in samples[other]]
    own = samples[name]
    held: list[tuple[int, Any]] = []
    for test in fitting.folds(own, k):
        chosen = set(test)
        model = fitting.fit(others + [s for n, s in enumerate(own) if n not in chosen], params=params)
        held += list(zip(test, fitting.answers([own[n] for n in test], model)))
    held.sort(key=lambda t: t[0])
    from qa.evaluation.metrics import score_answers

    index = own[0].reading.index
    metrics, _ = score_answers([own[n].item for n, _ in held], [a for _, a in held],
                               lambda d: index.documents[index.doc_rows[d]].text)
    return figures(metrics)


def compare_variants(samples: dict[str, list[Any]], open_names: list[str], family: dict[str, str]) -> str:
    """A table of the left-out mean and worst figures of each fitting variant."""
    from qa.evaluation.fitting import FitParams

    lines = ["| variant | " + " | ".join(f"{m} mean / worst" for m in SHOWN) + " |", "|---|" + "---|" * len(SHOWN)]
    for label, changes in VARIANTS.items():
        results = leave_one_out(samples, open_names, FitParams(**changes), family)
        s = _summarise([{"left_out": figures_, "packaged": figures_} for _, figures_ in results.values()])["left_out"]
        cells = " | ".join(f"{_fmt(s[m]['mean'])} / {_fmt(s[m]['worst'])}" for m in SHOWN)
        lines.append(f"| {label} | {cells} |")
        print(lines[-1], file=sys.stderr)
    return "\n".join(lines) + "\n"


def protocol(chosen: list[Collection], indexes: dict[str, Path], embedder: Any, args: argparse.Namespace) -> int:
    from qa.answer.scoring import load_model
    from qa.evaluation import fitting
    from qa.evaluation.report import write_report

    samples = {name: read_collection(c, indexes[name], embedder) for c in chosen if (name := c.name) in indexes}
    open_names = [c.name for c in chosen if c.part == "open" and c.name in samples]
    sealed_names = [c.name for c in chosen if c.part == "sealed" and c.name in samples]
    family = {c.name: c.family for c in chosen}
    args.report.mkdir(parents=True, exist_ok=True)
    if args.variants:
        table = compare_variants({n: samples[n] for n in open_names}, open_names, family)
        (args.report / "variants.md").write_text(table, encoding="utf-8")
        print(table)
        return 0
    params = fitting.FitParams(**VARIANTS[args.params])
    packaged = load_model()
    by_name = {c.name: c for c in chosen}
    rows: dict[str, dict[str, Any]] = {}
    pooled_items: list[dict[str, Any]] = []
    pooled_answers: list[Any] = []
    for name, (model, left_out) in leave_one_out(samples, open_names, params, family).items():
        rows[name] = {"part": "open", "questions": len(samples[name]), "left_out": left_out,
                      "packaged": figures(fitting.measure(samples[name], packaged)),
                      "followups": score_followups(by_name[name], indexes[name], embedder, model)}
        pooled_items += [s.item for s in samples[name]]
        pooled_answers += fitting.answers(samples[name], model)
        print(f"{name}: left out {left_out}", file=sys.stderr)
    every_open = [s for name in open_names for s in samples[name]]
    final = fitting.fit(every_open, params=params) if every_open else None
    for name in sealed_names:
        assert final is not None
        rows[name] = {"part": "sealed", "questions": len(samples[name]),
                      "left_out": figures(fitting.measure(samples[name], final)),
                      "packaged": figures(fitting.measure(samples[name], packaged)),
                      "followups": score_followups(by_name[name], indexes[name], embedder, final)}
    summary = {part: _summarise([rows[n] for n in names]) for part, names in
               (("open", open_names), ("sealed", sealed_names)) if names}
    if BUNDLED in open_names:
        summary["known_collection"] = {BUNDLED: known_collection_cv(samples, open_names, BUNDLED, params)}
    result = {"params": args.params, "collections": rows, "summary": summary, "code_key": index_code_key()[:12]}
    (args.report / "bank.json").write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    (args.report / "bank.md").write_text(markdown(rows, summary), encoding="utf-8")
    if pooled_items:
        metrics = {name: rows[name]["left_out"] for name in open_names}
        write_report(args.report, pooled_items, pooled_answers, metrics, "bank, each collection left out")
    print((args.report / "bank.md").read_text(encoding="utf-8"))
    if args.write_model and final is not None:
        write_model(args.write_model, final, samples, open_names, summary, args.params)
    return 0


def write_model(path: Path, model: Any, samples: dict[str, list[Any]], open_names: list[str],
                summary: dict[str, Any], params: str) -> None:
    """Save the model fitted on every open collection, with what it was fitted on and its
    left-out figures; and its figures on the bundled corpus's questions, which it was fitted
    on, so that a test can check that the file matches the code."""
    from qa.evaluation import fitting

    info = {"fitted_on": [f"eval/bank/{n}" for n in open_names],
            "questions": sum(len(samples[n]) for n in open_names), "params": params,
            "leave_one_collection_out": summary.get("open", {}).get("left_out", {}),
            "new_questions_on_bundled_corpus": summary.get("known_collection", {}).get(BUNDLED, {}),
            "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
    if BUNDLED in samples:
        info["on_bundled_corpus"] = figures(fitting.measure(samples[BUNDLED], model))
    model = type(model)(model.ranker, model.confidence, model.answerable, model.no_answer_below, info)
    path.write_text(model.to_json(), encoding="utf-8")
    print(f"wrote {path}", file=sys.stderr)


def _summarise(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """Mean and worst over collections, for the left-out and the packaged figures."""
    out: dict[str, Any] = {}
    for which in ("left_out", "packaged"):
        for m in METRICS:
            values = [r[which][m] for r in rows if r[which].get(m) is not None]
            if not values:
                continue
            worst = max(values) if m == "false_no_answer" else min(values)
            out.setdefault(which, {})[m] = {"mean": round(statistics.mean(values), 3), "worst": round(worst, 3)}
    return out


def markdown(rows: dict[str, dict[str, Any]], summary: dict[str, Any]) -> str:
    head = "| collection | part | questions | " + " | ".join(SHOWN) + " |"
    lines = ["Left out (fitted on the other open collections; sealed: on every open one), "
             "with the packaged model's figure in brackets.", "", head, "|" + "---|" * (len(SHOWN) + 3)]
    for name, r in rows.items():
        cells = [f"{_fmt(r['left_out'][m])} ({_fmt(r['packaged'][m])})" for m in SHOWN]
        lines.append(f"| {name} | {r['part']} | {r['questions']} | " + " | ".join(cells) + " |")
    for part, s in summary.items():
        if part == "known_collection":
            continue
        for stat in ("mean", "worst"):
            cells = [f"{_fmt(s['left_out'].get(m, {}).get(stat))} ({_fmt(s['packaged'].get(m, {}).get(stat))})"
                     for m in SHOWN]
            lines.append(f"| **{stat}, {part}** | | | " + " | ".join(cells) + " |")
    for name, known in summary.get("known_collection", {}).items():
        lines += ["", f"New questions over a collection the model was fitted on ({name}: 5 folds of its questions, "
                      "each answered by a model fitted on the other folds and every other open collection):", "",
                  "| " + " | ".join(SHOWN) + " |", "|" + "---|" * len(SHOWN),
                  "| " + " | ".join(_fmt(known[m]) for m in SHOWN) + " |"]
    lines += ["", "Follow-up conversations, answered by the same models:", "",
              "| collection | conversations | " + " | ".join(FOLLOWUP_METRICS) + " |",
              "|" + "---|" * (len(FOLLOWUP_METRICS) + 2)]
    for name, r in rows.items():
        f = r.get("followups") or {}
        if f:
            cells = " | ".join(_fmt(f.get(m)) for m in FOLLOWUP_METRICS)
            lines.append(f"| {name} | {f['conversations']} | {cells} |")
    return "\n".join(lines) + "\n"


def _fmt(v: Any) -> str:
    return "–" if v is None else f"{v:.3f}" if isinstance(v, float) else str(v)


if __name__ == "__main__":
    sys.exit(main())
