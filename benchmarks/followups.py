"""Benchmark: what a follow-up question costs, as a chat asks it.

    .venv/bin/python benchmarks/followups.py [eval/followups.jsonl ...] [--index index] [--rounds 3]

For every conversation of the follow-up sets, in one process on the built index and the
default backend, it asks the earlier questions in turn (each with the ones before it, as the
chat page sends them) and then times the last question twice: with its history and alone.
Earlier turns were asked first, so their parses and vectors are the service's recent ones, as
in a real conversation. It prints the medians and p95 of the service's ``took_ms`` and their
ratio, over ``--rounds`` passes (interleaved: with, alone, with, alone …).
"""

from __future__ import annotations

import argparse
import statistics
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from qa.answer.service import RECENT_QUESTIONS, QAService, Recent  # noqa: E402
from qa.config import Settings  # noqa: E402
from qa.embedding.encoder import make_embedder  # noqa: E402
from qa.evaluation.metrics import load_questions  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("sets", nargs="*", type=Path,
                        default=[REPO / "eval" / "followups.jsonl", REPO / "eval" / "followups_heldout.jsonl"])
    parser.add_argument("--index", type=Path, default=REPO / "index")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    settings = Settings(index_dir=args.index)
    service = QAService(args.index, make_embedder(settings.model, settings.backend, settings.model_threads()))
    service.load()
    service.embedder.warm_up()
    service.parser.warm_up()
    items = [i for path in args.sets for i in load_questions(path) if i.get("history")]
    with_history: list[float] = []
    alone: list[float] = []
    for _ in range(args.rounds):
        for item in items:
            history = item["history"]
            # A new conversation: nothing of it parsed or encoded yet.
            service._parses = Recent(RECENT_QUESTIONS)
            service._question_vectors = Recent(RECENT_QUESTIONS)
            for n, earlier in enumerate(history):
                service.ask(earlier, 5, history=history[:n])
            with_history.append(service.ask(item["question"], 5, history=history).took_ms)
            alone.append(service.ask(item["question"], 5).took_ms)

    def pct(xs: list[float], q: float) -> float:
        return sorted(xs)[min(len(xs) - 1, int(q * len(xs)))]

    print(f"{len(items)} conversations × {args.rounds} rounds, backend {settings.backend or 'default'}")
    print(f"{'':16} {'p50 ms':>8} {'p95 ms':>8}")
    for name, xs in (("with history", with_history), ("alone", alone)):
        print(f"{name:16} {statistics.median(xs):8.2f} {pct(xs, 0.95):8.2f}")
    print(f"ratio of p50s     {statistics.median(with_history) / statistics.median(alone):.2f}")
    print("reproduce: .venv/bin/python benchmarks/followups.py " + " ".join(
        str(p.relative_to(REPO)) if p.is_relative_to(REPO) else str(p) for p in args.sets))


if __name__ == "__main__":
    main()
