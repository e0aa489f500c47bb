"""The ``qa`` command: index, ask, serve, eval.

Heavy imports (torch, faiss, FastAPI) happen inside the commands, so ``qa --help`` is fast.
Errors print one line and exit non-zero: 1 for a domain error, 2 for bad usage.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
import textwrap
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from qa import __version__
from qa.errors import QAError

MAX_LISTED = 10  # document names listed per line of the index summary

EPILOG = """\
examples:
  qa index                       build or update ./index from ./corpus
  qa index --strict              … and exit 1 if any file had to be skipped
  qa ask "When was the dam completed?"
  qa ask --json -k 3 "What is structural power?"
  qa ask --file questions.txt --json    one /ask JSON object per line
  qa serve --port 8000           chat page on http://127.0.0.1:8000/
  qa eval questions.jsonl        hit@1, recall@5, no-answer accuracy …

environment: QA_CORPUS_DIR, QA_INDEX_DIR, QA_MODEL (see README)
"""


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``qa`` console script."""
    parser = _parser()
    args = parser.parse_args(argv)
    if not getattr(args, "command", None):
        parser.print_help()
        return 2
    try:
        code: int = args.run(args)
        return code
    except QAError as exc:
        print(f"qa: error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("qa: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # `qa ask … | head` closed the pipe: stop quietly
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0


def _global_options(parser: argparse.ArgumentParser, default: object) -> None:
    """--corpus, --index and --model, taken before the command (``qa --corpus DIR index``)
    or after it (``qa index --corpus DIR``)."""
    parser.add_argument("--corpus", type=Path, default=default,
                        help="corpus directory (default ./corpus, or QA_CORPUS_DIR)")
    parser.add_argument("--index", type=Path, default=default,
                        help="index directory (default ./index, or QA_INDEX_DIR)")
    parser.add_argument("--model", default=default, help="embedding model name or local directory (or QA_MODEL)")


def _parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    # after the command; SUPPRESS keeps a value given before the command when none is given after
    _global_options(common, argparse.SUPPRESS)

    parser = argparse.ArgumentParser(
        prog="qa",
        description="Answers questions with verbatim, cited excerpts from a document collection.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"qa {__version__}")
    _global_options(parser, None)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    p = sub.add_parser("index", parents=[common], help="build or update the index",
                       description="Index new and changed documents; reuse the vectors of unchanged ones.")
    p.add_argument("--full", action="store_true", help="re-read and re-embed every document")
    p.add_argument("--strict", action="store_true", help="exit 1 if any file was skipped")
    p.add_argument("--no-wait", action="store_true",
                   help="fail at once instead of waiting when another build is running")
    p.add_argument("--ray", metavar="ADDRESS", default=None,
                   help="read, chunk and embed on a Ray cluster (auto, HOST:PORT, ray://…; or QA_RAY_ADDRESS)")
    p.add_argument("--ray-workers", type=int, default=None, metavar="N",
                   help="embedding actors on the cluster (default: one per cluster CPU)")
    p.set_defaults(run=cmd_index)

    p = sub.add_parser("ask", parents=[common], help="answer a question, or a file of questions",
                       description="Print the best excerpts for a question with their citations.")
    p.add_argument("question", nargs="?", help="the question (or use --file)")
    p.add_argument("--document", action="append", metavar="ID", dest="documents",
                   help="answer only from this document (repeat for several; ids as `qa` lists them)")
    p.add_argument("--kind", action="append", metavar="KIND", dest="kinds",
                   help="answer only from documents of this kind (metadata `kind`; repeatable)")
    p.add_argument("--file", type=Path, metavar="FILE",
                   help="answer every line of FILE ('-' for standard input; blank lines are skipped)")
    p.add_argument("--history", action="append", metavar="QUESTION", default=[],
                   help="an earlier question of the conversation, for a follow-up (repeat, oldest first)")
    p.add_argument("--conversation", action="store_true",
                   help="with --file: the lines are one conversation, each read with the lines before it")
    p.add_argument("-k", "--top-k", type=int, default=3, help="number of excerpts (1-20, default 3)")
    p.add_argument("--json", action="store_true", help="print the /ask API response as JSON")
    p.set_defaults(run=cmd_ask)

    p = sub.add_parser("serve", parents=[common], help="start the web server (builds the index if missing)",
                       description="Serve the chat page and the API; build the index first if there is none.")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8000)
    p.add_argument("--workers", type=int, default=None,
                   help="server processes sharing the index (default 1, or QA_WORKERS); more use more cores")
    p.add_argument("--ray", metavar="ADDRESS", default=None,
                   help="serve as Ray Serve replicas on a Ray cluster (auto, HOST:PORT, ray://…; or QA_RAY_ADDRESS)")
    p.add_argument("--replicas", type=int, default=2, metavar="N", help="Ray Serve replicas (default 2)")
    p.set_defaults(run=cmd_serve)

    p = sub.add_parser(
        "eval", parents=[common], help="score question sets in-process, or fit the scoring model",
        description="The metrics of shared/eval/score.py, computed without a server. With --fit, fit the "
                    "scoring model on the question sets with k-fold cross-validation and write it.",
        epilog="examples:\n  qa eval questions.jsonl --report report/\n"
               "  qa eval --fit dev.jsonl dev2.jsonl        # writes qa/answer/scoring.json",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("questions", type=Path, nargs="+", help="JSONL question sets")
    p.add_argument("-k", "--top-k", type=int, default=5)
    p.add_argument("--json", action="store_true", help="print the metrics as one JSON line")
    p.add_argument("--show-misses", action="store_true")
    p.add_argument("--no-history", action="store_true",
                   help="ask every question without its history (to compare follow-ups read alone)")
    p.add_argument("--report", type=Path, metavar="DIR",
                   help="write a reliability diagram, a per-type table and the metrics into DIR")
    p.add_argument("--fit", action="store_true",
                   help="fit the scoring model (ranker, confidence, no-answer line) with cross-validation")
    p.add_argument("--folds", type=int, default=5, help="cross-validation folds for --fit (default 5)")
    p.add_argument("--out", type=Path, help="where --fit writes the model (default: the packaged model file)")
    p.set_defaults(run=cmd_eval)

    p = sub.add_parser("mcp", parents=[common], help="serve the Model Context Protocol over stdio (for AI agents)",
                       description="Answer an MCP client (an AI agent) over stdio: tools ask, list_documents and "
                                   "get_document.")
    p.set_defaults(run=cmd_mcp)
    return parser


def _settings(args: argparse.Namespace) -> Any:
    from qa.config import Settings

    overrides = {
        key: value
        for key, value in (("corpus_dir", args.corpus), ("index_dir", args.index), ("model", args.model))
        if value is not None
    }
    return Settings(**overrides)


def _embedder(settings: Any) -> Any:
    import os

    from qa.embedding.encoder import make_embedder

    if settings.cache_dir:
        os.environ["QA_CACHE_DIR"] = str(settings.cache_dir)
    return make_embedder(settings.model, settings.backend)


def cmd_index(args: argparse.Namespace) -> int:
    from qa.index.build import build_index

    settings = _settings(args)
    embedder, read = _embedder(settings), None
    address = args.ray or settings.ray_address
    if address:
        from qa.index.cluster import ClusterEmbedder, cluster_workers, connect, read_on_cluster

        connect(address)
        embedder = ClusterEmbedder(embedder, settings.model, settings.backend, cluster_workers(args.ray_workers))
        read = read_on_cluster
    report = build_index(
        settings.corpus_dir, settings.index_dir, embedder,
        full=args.full, wait=not args.no_wait, progress=sys.stderr.isatty(), ann_threshold=settings.ann_threshold,
        read=read,
    )
    print(report.summary())
    for label, names in (("added", report.added), ("changed", report.changed), ("removed", report.removed),
                         ("metadata updated", report.retitled)):
        shown = ", ".join(names[:MAX_LISTED]) + (f" … (+{len(names) - MAX_LISTED})" if len(names) > MAX_LISTED else "")
        if names:
            print(f"  {label}: {shown}")
    for doc_id, skip in sorted(report.skipped.items()):
        print(f"  skipped {doc_id}: {skip.reason}")
    if report.cleaned:
        print(f"  removed {len(report.cleaned)} unfinished build(s) left by an interrupted run")
    if args.strict and report.skipped:
        print(f"qa: error: {len(report.skipped)} file(s) skipped (--strict)", file=sys.stderr)
        return 1
    return 0


def _service(settings: Any, model: Any = None) -> Any:
    from qa.answer.scoring import load_model
    from qa.answer.service import QAService

    service = QAService(settings.index_dir, _embedder(settings), model or load_model(settings.scoring_model))
    service.load()
    return service


def cmd_ask(args: argparse.Namespace) -> int:
    if (args.question is None) == (args.file is None):
        print("qa: give a question or --file FILE (not both)", file=sys.stderr)
        return 2
    if args.file is not None:
        return _ask_batch(args)
    service = _service(_settings(args))
    service.embedder.warm_up()  # load the model before the clock starts
    if args.history:
        service.parser.warm_up()  # … and the parser that reads a follow-up
    answer = service.ask(args.question, args.top_k, args.documents, args.kinds, args.history)
    if args.json:
        from qa.http.schemas import answer_response  # pydantic only: FastAPI stays unloaded

        print(answer_response(answer).model_dump_json(indent=2))
        return 0
    _print_answer(answer)
    return 0


def _ask_batch(args: argparse.Namespace) -> int:
    """``qa ask --file``: one answer per non-blank line; a failed question is reported (and,
    with ``--json``, given as ``{"question", "detail"}`` in its place) and the rest go on."""
    from tqdm import tqdm

    from qa.http.schemas import answer_response

    try:
        text = sys.stdin.read() if str(args.file) == "-" else args.file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise QAError(f"cannot read the questions in {args.file}: {exc}") from exc
    from qa.answer.service import MAX_HISTORY

    questions = [line.strip() for line in text.splitlines() if line.strip()]
    service = _service(_settings(args))
    service.embedder.warm_up()
    if args.history or args.conversation:
        service.parser.warm_up()
    failed = 0
    for n, question in enumerate(tqdm(questions, desc="asking", unit=" questions", file=sys.stderr,
                                      disable=not sys.stderr.isatty()), 1):
        earlier = questions[max(0, n - 1 - MAX_HISTORY) : n - 1] if args.conversation else args.history
        try:
            answer = service.ask(question, args.top_k, args.documents, args.kinds, earlier)
        except QAError as exc:
            failed += 1
            print(f"qa: question {n} ({question[:60]!r}): {exc}", file=sys.stderr)
            if args.json:
                print(json.dumps({"question": question, "detail": str(exc)}, ensure_ascii=False), flush=True)
            continue
        if args.json:
            print(answer_response(answer).model_dump_json(), flush=True)
        else:
            print(f"{'' if n == 1 else chr(10)}Q{n}: {question}")
            _print_answer(answer)
    if failed:
        print(f"qa: {failed} of {len(questions)} questions failed", file=sys.stderr)
    return 1 if failed else 0


def _print_answer(answer: Any) -> None:
    if answer.interpreted_as:
        print(f"Answered as: {answer.interpreted_as}")
    if answer.no_answer:
        print("The sources don't answer this." + (" Nearest passages:" if answer.excerpts else ""))
    for n, excerpt in enumerate(answer.excerpts, 1):
        src = excerpt.source
        where = ", ".join(x for x in (src.title, src.section, f"p. {src.page}" if src.page else None) if x)
        quote = " ".join(excerpt.text.split())
        print(f"\n{n}. [{excerpt.score:.2f}] {where}")
        print(textwrap.fill(f"“{quote}”", width=100, initial_indent="   ", subsequent_indent="   "))
        start, end = excerpt.highlight
        if end - start < len(excerpt.text.strip()):
            span = " ".join(excerpt.text[start:end].split())
            print(textwrap.fill(f"answers: {span}", width=100, initial_indent="   ", subsequent_indent="     "))
        print(f"   — {src.document}, characters {src.start}–{src.end}")


def cmd_mcp(args: argparse.Namespace) -> int:
    from qa.answer.scoring import load_model
    from qa.answer.service import QAService
    from qa.mcp_server import serve_mcp

    settings = _settings(args)
    serve_mcp(QAService(settings.index_dir, _embedder(settings), load_model(settings.scoring_model)))
    return 0


def cmd_serve(args: argparse.Namespace) -> int:
    import uvicorn

    from qa.errors import IndexCorruptError, IndexMismatchError, IndexMissingError
    from qa.index.build import build_index
    from qa.index.builds import current_build
    from qa.index.manifest import check_compatible, read_manifest

    settings = _settings(args)
    if args.workers is not None:
        settings = settings.model_copy(update={"workers": args.workers})
    if settings.workers < 1:
        print("qa: --workers must be at least 1", file=sys.stderr)
        return 2
    embedder = _embedder(settings)
    try:
        check_compatible(read_manifest(current_build(settings.index_dir)), embedder.name, settings.index_dir)
    except (IndexMissingError, IndexMismatchError, IndexCorruptError) as exc:
        why = f"no index in {settings.index_dir} yet" if isinstance(exc, IndexMissingError) else exc.problem()
        print(f"qa: {why}; building it from {settings.corpus_dir} …", file=sys.stderr)
        report = build_index(settings.corpus_dir, settings.index_dir, embedder, progress=sys.stderr.isatty(),
                             ann_threshold=settings.ann_threshold)
        print(report.summary(), file=sys.stderr)
    print(f"qa: chat page on http://{args.host}:{args.port}/  (API docs at /docs)", file=sys.stderr)
    address = args.ray or settings.ray_address
    if address:
        from qa.answer.service import prepare_model
        from qa.http.ray_serve import serve_on_ray

        if args.replicas < 1:
            print("qa: --replicas must be at least 1", file=sys.stderr)
            return 2
        prepare_model(embedder)  # export and word cache made once here, not raced by the replicas
        serve_on_ray(settings, address, args.replicas, args.host, args.port)
        return 0
    if settings.workers == 1:
        from qa.answer.scoring import load_model
        from qa.answer.service import QAService
        from qa.http.app import create_app

        service = QAService(settings.index_dir, embedder, load_model(settings.scoring_model))
        uvicorn.run(create_app(settings, service), host=args.host, port=args.port, log_level="warning")
        return 0
    from qa.answer.service import prepare_model
    from qa.http.server import run_workers

    prepare_model(embedder)  # export and word cache made once here, not raced by the workers
    run_workers(settings, args.host, args.port)
    return 0


def cmd_eval(args: argparse.Namespace) -> int:
    from qa.evaluation.metrics import evaluate, load_questions

    settings = _settings(args)
    items = [item for path in args.questions for item in load_questions(path)]
    if args.fit:
        return _fit(args, settings, items)
    service = _service(settings)
    metrics, misses, answers = evaluate(service, items, top_k=args.top_k, history=not args.no_history)
    _print_metrics(args, metrics, misses)
    if args.report:
        from qa.evaluation.report import write_report

        title = " + ".join(p.name for p in args.questions)
        for path in write_report(args.report, items, answers, metrics, title):
            print(f"wrote {path}", file=sys.stderr)
    return 0


def _print_metrics(args: argparse.Namespace, metrics: dict[str, Any], misses: list[tuple[str, str]]) -> None:
    if args.show_misses:
        for qid, why in misses:
            print(f"miss {qid}: {why}", file=sys.stderr)
    if args.json:
        print(json.dumps(metrics))
    else:
        for key, value in metrics.items():
            print(f"{key:22} {value}")


def _fit(args: argparse.Namespace, settings: Any, items: list[dict[str, Any]]) -> int:
    import hashlib
    import time

    from qa.answer.scoring import DEFAULT_MODEL_FILE
    from qa.evaluation import fitting

    service = _service(settings, fitting.bootstrap_model())
    with _progress(len(items), "reading questions") as tick:
        samples = fitting.collect(service, items, progress=tick)
    cv = fitting.cross_validate(samples, k=args.folds)
    info = {
        "fitted_on": [{"file": p.name, "sha256": hashlib.sha256(p.read_bytes()).hexdigest()} for p in args.questions],
        "questions": len(items),
        "cross_validation": {"folds": args.folds, "pooled": cv["pooled"], "per_fold": cv["folds"]},
        "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
    model = fitting.fit(samples, info)
    fitted = fitting.measure(samples, model)
    info["on_fitted_questions"] = {m: fitted[m] for m in fitting.METRICS}
    out = args.out or DEFAULT_MODEL_FILE
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(model.to_json(), encoding="utf-8")
    print(f"{'metric':22} {'cross-validated':>16} {'(mean ± sd over folds)':>24} {'on fitted questions':>20}")
    for m in fitting.METRICS:
        spread = cv["folds"].get(m, {})
        band = f"{spread.get('mean', '')} ± {spread.get('sd', '')}" if spread else ""
        print(f"{m:22} {str(cv['pooled'][m]):>16} {band:>24} {str(fitted[m]):>20}")
    print(f"wrote {out}", file=sys.stderr)
    if args.report:
        from qa.evaluation.report import write_report

        held_out = [a for _, a in cv["answers"]]
        title = " + ".join(p.name for p in args.questions) + f" ({args.folds}-fold held-out)"
        for path in write_report(args.report, [s.item for s in samples], held_out, cv["pooled"], title):
            print(f"wrote {path}", file=sys.stderr)
    return 0


@contextlib.contextmanager
def _progress(total: int, label: str) -> Iterator[Callable[[int], None]]:
    """A tqdm bar on a terminal; a no-op elsewhere."""
    from tqdm import tqdm

    with tqdm(total=total, desc=label, disable=not sys.stderr.isatty(), file=sys.stderr) as bar:
        yield lambda n: bar.update(n - bar.n)


if __name__ == "__main__":
    sys.exit(main())
