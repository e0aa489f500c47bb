"""Follow-up designs compared: the shipped reading of follow-up questions and variants of it,
on both follow-up sets, in one process on the built index.

    .venv/bin/python benchmarks/followup_designs.py [--index index]

Each variant patches one part of the shipped code (``qa.answer.conversation``, the service's
query vector) or re-ranks the shipped excerpts, and is measured on ``eval/followups.jsonl``
and ``eval/followups_heldout.jsonl``: follow-ups whose top excerpt answers them as meant,
unanswerable follow-ups declined, and stand-alone controls answered exactly as without
history. It prints a Markdown table.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

import qa.answer.conversation as conversation  # noqa: E402
import qa.answer.service as service_module  # noqa: E402
from qa.answer.service import QAService  # noqa: E402
from qa.config import Settings  # noqa: E402
from qa.embedding.encoder import make_embedder  # noqa: E402
from qa.evaluation.metrics import load_questions, top_hit  # noqa: E402
from qa.language.lexical import stem, words  # noqa: E402
from qa.records import Answer, Excerpt  # noqa: E402

SETS = (REPO / "eval" / "followups.jsonl", REPO / "eval" / "followups_heldout.jsonl")
SHIPPED = {"cues": conversation.cues, "merge": conversation._merge, "vector": service_module.query_vector,
           "interpret": service_module.interpret, "carried": conversation.CARRIED}
Pick = Callable[[QAService, dict[str, Any], Answer], Answer]


def reset() -> None:
    conversation.cues = SHIPPED["cues"]
    conversation._merge = SHIPPED["merge"]
    service_module.query_vector = SHIPPED["vector"]
    service_module.interpret = SHIPPED["interpret"]
    conversation.CARRIED = SHIPPED["carried"]
    conversation.DISPLACED = SHIPPED["carried"] ** 2


def all_terms(service: QAService) -> None:
    """Carry every term of the earlier question, verbs too (no nominal rule)."""
    def cues(doc: Any, own_terms: int) -> Any:
        found = SHIPPED["cues"](doc, own_terms)
        return replace(found, nominal=frozenset(stem(w) for w in words(doc.text)))
    conversation.cues = cues


def budget(service: QAService) -> None:
    """Cap the carried terms' IDF-weighted mass at CARRIED × the question's own."""
    def merge(turn: Any, found: Any, topic: Any) -> Any:
        merged = SHIPPED["merge"](turn, found, topic)
        n, idf = len(turn.terms), service.loaded.retriever.idf
        terms, weights = merged.question.terms, merged.weights
        own = sum(idf(t) for t in terms[:n])
        carried = sum(idf(t) * w for t, w in zip(terms[n:], weights[n:]))
        if own > 0 and carried > conversation.CARRIED * own:
            scale = conversation.CARRIED * own / carried
            merged = replace(merged, weights=weights[:n] + tuple(w * scale for w in weights[n:]))
        return merged
    conversation._merge = merge


def own_vector(service: QAService) -> None:
    """Query with the follow-up's own vector only."""
    service_module.query_vector = lambda own, chain, leans=(): own


def interpreted_vector(service: QAService) -> None:
    """Query with the vector of the interpreted_as text."""
    state: dict[str, Any] = {}

    def interpret(question: Any, history: Any, parse: Any) -> Any:
        state["read"] = SHIPPED["interpret"](question, history, parse)
        return state["read"]

    def vector(own: Any, chain: Any, leans: Any = ()) -> Any:
        read = state.get("read")
        if chain and read is not None and read.interpreted_as:
            return service.queries.encode_query([read.interpreted_as])[0]
        return SHIPPED["vector"](own, chain, leans)
    service_module.interpret = interpret
    service_module.query_vector = vector


def weight(value: float) -> Callable[[QAService], None]:
    def patch(service: QAService) -> None:
        conversation.CARRIED = value
        conversation.DISPLACED = value * value
    return patch


def _overlap(a: Excerpt, b: Excerpt) -> bool:
    return a.source.document == b.source.document and a.source.start < b.source.end and b.source.start < a.source.end


def _earlier_top(service: QAService, item: dict[str, Any]) -> Excerpt | None:
    history = item["history"]
    earlier = service.ask(history[-1], 5, history=history[:-1])
    return earlier.excerpts[0] if earlier.excerpts and not earlier.no_answer else None


def demote(service: QAService, item: dict[str, Any], answer: Answer) -> Answer:
    """Skip a top excerpt that overlaps the earlier question's top excerpt."""
    top = _earlier_top(service, item)
    if top is not None and len(answer.excerpts) > 1 and _overlap(answer.excerpts[0], top):
        return replace(answer, excerpts=answer.excerpts[1:])
    return answer


def near(service: QAService, item: dict[str, Any], answer: Answer, reach: int = 600) -> Answer:
    """Prefer, among the top five, an excerpt within ``reach`` characters of the earlier
    question's top excerpt (not that excerpt itself)."""
    top = _earlier_top(service, item)
    if top is None:
        return answer
    close = [e for e in answer.excerpts[:5] if e.source.document == top.source.document
             and abs(e.source.start - top.source.start) <= reach and e.text != top.text]
    if not close:
        return answer
    return replace(answer, excerpts=(close[0], *[e for e in answer.excerpts if e is not close[0]]))


def measure(service: QAService, items: list[dict[str, Any]], history: bool, pick: Pick | None) -> str:
    hits = followups = unchanged = controls = declined = unanswerable = 0
    for item in items:
        answer = service.ask(item["question"], 5, history=item["history"] if history else ())
        if item.get("standalone"):
            if history:
                alone = service.ask(item["question"], 5)
                controls += 1
                unchanged += (answer.excerpts == alone.excerpts and answer.no_answer == alone.no_answer
                              and answer.interpreted_as is None)
            continue
        if pick is not None:
            answer = pick(service, item, answer)
        if item.get("answerable", True) is False:
            unanswerable += 1
            declined += answer.no_answer
        else:
            followups += 1
            hits += top_hit(answer, item)
    kept = f"{unchanged}/{controls}" if history else "–"
    return f"{hits}/{followups} = {hits / followups:.3f} | {declined}/{unanswerable} | {kept}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--index", type=Path, default=REPO / "index")
    args = parser.parse_args()
    settings = Settings(index_dir=args.index)
    service = QAService(args.index, make_embedder(settings.model, settings.backend, settings.model_threads()))
    service.load()
    sets = [load_questions(path) for path in SETS]
    designs: list[tuple[str, list[Callable[[QAService], None]], bool, Pick | None]] = [
        ("no history", [], False, None),
        ("shipped: an earlier question's nouns for a pronoun turn, all its terms for an ellipsis, "
         "×0.5 a turn, vector blend", [], True, None),
        ("all earlier terms carried (no nominal rule)", [all_terms], True, None),
        ("shipped + carried IDF mass capped at 0.5 × the question's own", [budget], True, None),
        ("shipped, query vector of the question alone", [own_vector], True, None),
        ("shipped, query vector of the interpreted_as text", [interpreted_vector], True, None),
        ("shipped, weight 0.25 a turn", [weight(0.25)], True, None),
        ("shipped, weight 0.35 a turn", [weight(0.35)], True, None),
        ("shipped, weight 0.7 a turn", [weight(0.7)], True, None),
        ("shipped, weight 1.0 (no down-weighting)", [weight(1.0)], True, None),
        ("shipped, then skip a top excerpt overlapping the earlier question's", [], True, demote),
        ("shipped, then prefer an excerpt within 600 characters of the earlier question's", [], True, near),
    ]
    print("| design | followups.jsonl: follow-ups hit@1 | unanswerable declined | controls unchanged "
          "| followups_heldout.jsonl: hit@1 | declined | unchanged |")
    print("|---|---|---|---|---|---|---|")
    for name, patches, history, pick in designs:
        reset()
        for patch in patches:
            patch(service)
        print(f"| {name} | " + " | ".join(measure(service, items, history, pick) for items in sets) + " |",
              flush=True)
    reset()


if __name__ == "__main__":
    main()
