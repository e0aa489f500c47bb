#!/usr/bin/env python3
"""Check the question bank: format, ids, evidence, answers, the paraphrase rule and the shares.

Usage:
    .venv/bin/python eval/bank/check.py                       # format, ids, paraphrase rule, shares
    .venv/bin/python eval/bank/check.py --texts ROOT          # … and evidence against ROOT/<collection>/<doc>.txt
    .venv/bin/python eval/bank/check.py --corpora ROOT        # … and evidence against the corpus folders
                                                     #     ROOT/<collection>/ as qa reads them
    .venv/bin/python eval/bank/check.py --collection NAME …   # one collection only (no bank-wide totals)

Exits 1 and lists every problem when one is found. It needs qa installed (the scorer's
normalisation comes from ``qa.evaluation.metrics``). Rules:

* every line is a JSON object with a unique ``id`` (unique across the bank);
* an answerable item names its ``document``, copies its ``evidence`` verbatim from the document
  (compared as the scorer compares: NFKC, plain quotes and dashes, lower case, single spaces),
  and its ``answer`` lies inside one evidence sentence; its ``type`` is one of ``TYPES``;
* paraphrase: an answerable question shares at most three consecutive content words with its
  evidence (content words: not in ``FUNCTION_WORDS``);
* an unanswerable item has ``"answerable": false`` and type ``near-domain`` or ``off-topic``;
* the bank: at least ``MIN_COLLECTIONS`` collections, ``MIN_QUESTIONS`` questions, a share of
  unanswerable ones of at least ``MIN_UNANSWERABLE``, about two thirds of them near-domain,
  and ``MIN_CONVERSATIONS`` follow-up conversations;
* every collection has a README.md with the fields of ``README_FIELDS``.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from qa.evaluation.metrics import norm, norm_words  # the scorer's normalisation

BANK = Path(__file__).resolve().parent
MIN_COLLECTIONS = 10
MIN_QUESTIONS = 2000
MIN_UNANSWERABLE = 0.30
NEAR_DOMAIN_SHARE = (0.55, 0.80)  # of the unanswerable ones: about two thirds
MIN_CONVERSATIONS = 300
MAX_SHARED_RUN = 3
README_FIELDS = ("Genre", "Source", "Licence", "Format", "Fetch", "Part")
PARTS = ("open", "sealed")
TYPES = {"factoid", "date", "number", "person", "place", "organisation", "list", "why", "how",
         "definition", "comparison", "metadata", "multi"}
FOLLOWUP_TYPES = {"pronoun", "ellipsis", "demonstrative", "entity-switch", "triple", "pair"}
UNANSWERABLE_TYPES = {"near-domain", "off-topic"}
# English function words (articles, pronouns, auxiliaries, prepositions, conjunctions,
# question words): the words a paraphrase may share freely.
FUNCTION_WORDS = frozenset("""
a an the this that these those it its it's they them their theirs he him his she her hers we us our
you your i me my mine who whom whose which what when where why how whether if then than there here
is are was were be been being am do does did done doing have has had having can could may might
must shall should will would ought not no nor and or but so yet for of in on at by to from with
without into onto upon about above below over under between among through during before after
since until while as per via against within across along around behind beyond near off out up down
all any both each either neither every few many more most much other another some such own same
only also too very just still even ever again once twice one ones s t don isn aren wasn weren doesn
didn hasn haven hadn won wouldn couldn shouldn
""".split())

def content_words(text: str) -> list[str]:
    return [w for w in norm_words(text) if w not in FUNCTION_WORDS]


def longest_shared_run(question: str, evidence: str) -> tuple[int, list[str]]:
    """The longest run of consecutive content words of ``question`` also consecutive in ``evidence``."""
    q, e = content_words(question), content_words(evidence)
    best: list[str] = []
    grams = {tuple(e[i:j]) for i in range(len(e)) for j in range(i + 1, min(len(e), i + 8) + 1)}
    for i in range(len(q)):
        for j in range(i + len(best) + 1, min(len(q), i + 8) + 1):
            if tuple(q[i:j]) in grams:
                best = q[i:j]
            else:
                break
    return len(best), best


@dataclass
class Report:
    problems: list[str] = field(default_factory=list)
    counts: Counter = field(default_factory=Counter)

    def add(self, where: str, message: str) -> None:
        self.problems.append(f"{where}: {message}")


def read_jsonl(path: Path, report: Report) -> Iterator[tuple[int, dict[str, Any]]]:
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            item = json.loads(line)
        except ValueError as exc:
            report.add(f"{path}:{n}", f"not JSON ({exc})")
            continue
        if not isinstance(item, dict):
            report.add(f"{path}:{n}", "not a JSON object")
            continue
        yield n, item


def readme_fields(path: Path) -> dict[str, str]:
    if not path.is_file():
        return {}
    found = re.findall(r"^- \*{0,2}([A-Z][a-z]+):?\*{0,2}:? (.+)$", path.read_text(encoding="utf-8"), re.M)
    return {k: v.strip() for k, v in found}


class Texts:
    """The documents' text, from a folder of text dumps or from corpus folders read by qa."""

    def __init__(self, texts: Path | None, corpora: Path | None) -> None:
        self.texts_root, self.corpora_root = texts, corpora
        self.cache: dict[str, dict[str, str] | None] = {}

    @property
    def active(self) -> bool:
        return bool(self.texts_root or self.corpora_root)

    def collection(self, name: str) -> dict[str, str] | None:
        if name not in self.cache:
            self.cache[name] = self._load(name)
        return self.cache[name]

    def _load(self, name: str) -> dict[str, str] | None:
        if self.texts_root:
            folder = self.texts_root / name
            if not folder.is_dir():
                return None
            return {p.relative_to(folder).as_posix()[:-4]: norm(p.read_text(encoding="utf-8"))
                    for p in folder.rglob("*.txt")}
        if self.corpora_root:
            folder = self.corpora_root / name
            if not folder.is_dir():
                return None
            sys.path.insert(0, str(BANK))
            from texts import document_texts  # qa's own readers
            return {k: norm(v) for k, v in document_texts(folder).items()}
        return None


def check_answerable(where: str, item: dict[str, Any], docs: dict[str, str] | None, report: Report,
                     paraphrase: bool) -> None:
    for key in ("question", "document", "evidence", "answer", "type"):
        if key not in item:
            report.add(where, f"answerable item without {key!r}")
            return
    evidence = item["evidence"]
    if not isinstance(evidence, list) or not evidence or not all(isinstance(e, str) and e.strip() for e in evidence):
        report.add(where, "evidence must be a non-empty list of sentences")
        return
    if item["type"] not in TYPES and item["type"] not in FOLLOWUP_TYPES | {"control"}:
        report.add(where, f"type {item['type']!r} is not one of {sorted(TYPES)}")
    answer = norm(item["answer"])
    if not answer or not any(answer in norm(e) for e in evidence):
        report.add(where, f"answer {item['answer']!r} is not inside its evidence")
    if docs is not None:
        text = docs.get(item["document"])
        if text is None:
            report.add(where, f"document {item['document']!r} is not in the collection")
        else:
            for e in evidence:
                if norm(e) not in text:
                    report.add(where, f"evidence not verbatim in {item['document']}: {e[:80]!r}")
        for extra in item.get("also", []):
            other = docs.get(extra.get("document", ""))
            if other is None or norm(extra.get("evidence", "")) not in other:
                report.add(where, f"'also' evidence not verbatim in {extra.get('document')!r}")
    if paraphrase:
        run = max((longest_shared_run(item["question"], e) for e in evidence), key=lambda t: t[0])
        if run[0] > MAX_SHARED_RUN:
            report.add(where, f"shares {run[0]} consecutive content words with its evidence: {' '.join(run[1])!r}")


def check_unanswerable(where: str, item: dict[str, Any], report: Report) -> None:
    if not item.get("question"):
        report.add(where, "no question")
    if item.get("type") not in UNANSWERABLE_TYPES | {"unanswerable"}:
        report.add(where, f"unanswerable type {item.get('type')!r} is not one of {sorted(UNANSWERABLE_TYPES)}")
    if item.get("evidence"):
        report.add(where, "an unanswerable item has no evidence")


def check_collection(folder: Path, texts: Texts, ids: set[str], report: Report) -> None:
    name = folder.name
    fields = readme_fields(folder / "README.md")
    missing = [f for f in README_FIELDS if f not in fields]
    if missing:
        report.add(f"{folder}/README.md", f"missing fields {missing}")
    elif fields["Part"] not in PARTS:
        report.add(f"{folder}/README.md", f"Part must be one of {PARTS}")
    paraphrase = "exempt" not in fields.get("Paraphrase", "")
    docs = texts.collection(name) if texts.active else None
    if texts.active and docs is None:
        report.add(name, "no texts or corpus folder for this collection")
    path = folder / "questions.jsonl"
    if not path.is_file():
        report.add(name, "no questions.jsonl")
        return
    for n, item in read_jsonl(path, report):
        where = f"{name}/questions.jsonl:{n} ({item.get('id')})"
        _check_id(where, item, ids, report)
        if item.get("answerable", True):
            report.counts["answerable"] += 1
            check_answerable(where, item, docs, report, paraphrase)
        else:
            report.counts["unanswerable"] += 1
            report.counts[f"unanswerable:{item.get('type')}"] += 1
            check_unanswerable(where, item, report)
        report.counts[f"collection:{name}"] += 1
    followups = folder / "followups.jsonl"
    if followups.is_file():
        for n, item in read_jsonl(followups, report):
            where = f"{name}/followups.jsonl:{n} ({item.get('id')})"
            _check_id(where, item, ids, report)
            history = item.get("history")
            if not isinstance(history, list) or not history or not all(isinstance(h, str) and h for h in history):
                report.add(where, "history must be a non-empty list of earlier questions")
            elif len(history) > 10:
                report.add(where, "history holds at most 10 questions")
            report.counts["conversations"] += 1
            if item.get("answerable", True):
                check_answerable(where, item, docs, report, paraphrase=False)
            else:
                check_unanswerable(where, item, report)


def _check_id(where: str, item: dict[str, Any], ids: set[str], report: Report) -> None:
    key = item.get("id")
    if not isinstance(key, str) or not key:
        report.add(where, "no id")
    elif key in ids:
        report.add(where, f"duplicate id {key!r}")
    else:
        ids.add(key)


def check_bank(report: Report) -> None:
    c = report.counts
    collections = [k for k in c if k.startswith("collection:")]
    total = c["answerable"] + c["unanswerable"]
    if len(collections) < MIN_COLLECTIONS:
        report.add("bank", f"{len(collections)} collections; at least {MIN_COLLECTIONS} are needed")
    if total < MIN_QUESTIONS:
        report.add("bank", f"{total} questions; at least {MIN_QUESTIONS} are needed")
    if total and c["unanswerable"] / total < MIN_UNANSWERABLE:
        report.add("bank", f"{c['unanswerable'] / total:.2f} of the questions are unanswerable; "
                           f"at least {MIN_UNANSWERABLE} are needed")
    if c["unanswerable"]:
        near = c["unanswerable:near-domain"] / c["unanswerable"]
        if not NEAR_DOMAIN_SHARE[0] <= near <= NEAR_DOMAIN_SHARE[1]:
            report.add("bank", f"{near:.2f} of the unanswerable questions are near-domain; about two thirds are wanted")
    if c["conversations"] < MIN_CONVERSATIONS:
        report.add("bank", f"{c['conversations']} follow-up conversations; at least {MIN_CONVERSATIONS} are needed")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--texts", type=Path, help="folder of text dumps, ROOT/<collection>/<document>.txt")
    parser.add_argument("--corpora", type=Path, help="folder of corpus folders, ROOT/<collection>/")
    parser.add_argument("--collection", action="append", help="check only this collection (repeatable)")
    parser.add_argument("--bank", type=Path, default=BANK, help="the bank folder (default: this one)")
    args = parser.parse_args(argv)
    texts = Texts(args.texts, args.corpora)
    report = Report()
    ids: set[str] = set()
    folders = sorted(p for p in args.bank.iterdir() if p.is_dir() and not p.name.startswith(("_", ".")))
    if args.collection:
        folders = [f for f in folders if f.name in args.collection]
    for folder in folders:
        check_collection(folder, texts, ids, report)
    if not args.collection:
        check_bank(report)
    c = report.counts
    total = c["answerable"] + c["unanswerable"]
    print(f"{len(folders)} collections, {total} questions ({c['unanswerable']} unanswerable: "
          f"{c['unanswerable:near-domain']} near-domain, {c['unanswerable:off-topic']} off-topic), "
          f"{c['conversations']} follow-up conversations")
    for problem in report.problems:
        print(problem)
    print(f"{len(report.problems)} problems")
    return 1 if report.problems else 0


if __name__ == "__main__":
    sys.exit(main())
