"""Benchmark: indexing, cold `qa ask`, raw model encode, /ask latency and /ask under concurrent load.

    .venv/bin/python benchmarks/answer_speed.py [--starts 5] [--rounds 3] [--duration 10]
        [--workers N] [--load-client auto|wrk|python] [--json FILE]

In one run, on the bundled corpus, the packaged all-MiniLM-L6-v2 model and the questions of
shared/eval/dev.jsonl (or a built-in list), it measures:

1. ``qa index --full`` wall time in a fresh process (model load included), once;
2. cold ``qa ask "question"`` wall time, each in a fresh process, median of ``--cold-runs``
   (target ≤ 2 s);
3. raw encode of one question, p50/p95, in ``--starts`` fresh processes per backend, every
   question ``--rounds`` times: torch (``SentenceTransformerEmbedder().encode([q])``), ONNX
   (``make_embedder(model, "onnx").encode_query([q])``) and ONNX int8 (``"onnx-int8"``);
   this is the floor under any answer's latency;
4. /ask server time (``took_ms``) and client round trip, p50/p95, over ``--starts`` fresh
   ``qa serve`` processes, every question ``--rounds`` times, one at a time; and the ratios
   /ask p50 / encode p50 for each backend (target for torch ≤ 0.8);
5. /ask under load on the first of those servers: throughput (req/s), latency p50/p99 and
   errors with 1, 4 and 16 concurrent keep-alive clients for ``--duration`` seconds each,
   with ``wrk`` (installed with apt-get when missing and running as root) or, failing that,
   a Python client of threads; the ratio throughput@16 / throughput@1 (target ≥ 1.6) and
   throughput@16 itself (target ≥ 150 req/s).

The servers are started as users start them, ``qa serve --port P --corpus C --index I``,
plus ``--workers N`` only when this script is given ``--workers``. The server's backend is
qa's default or QA_BACKEND. Medians and p95 are also reported per start, so one slow process
start would show up rather than average away. It prints a table and the command that
reproduces it; ``--json FILE`` writes every figure.
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import json
import os
import re
import shlex
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
CORPUS = REPO / "corpus"
DEV = REPO.parent / "shared" / "eval" / "dev.jsonl"
MODEL = "all-MiniLM-L6-v2"
BACKENDS = ("torch", "onnx", "onnx-int8")
LEVELS = (1, 4, 16)
TOP_K = 5
TARGETS = {"cold_ask_s": 2.0, "ask_over_torch_encode": 0.8, "scaling_16_over_1": 1.6, "rps_at_16": 150.0}
QUESTIONS = [
    "Which Ukrainian president was ousted in 2014?",
    "What types of military hardware has Russia supplied to Iran?",
    "What does the paper mean by structural power?",
    "How much was the alleged deal for Iranian drones worth?",
    "Who painted the Mona Lisa?",
]
# Run in a fresh process per backend: argv = backend, rounds; stdin = the questions (JSON);
# prints the per-question encode times in ms (JSON).
ENCODE_SCRIPT = """
import json, sys, time
from qa.embedding.encoder import make_embedder
backend, rounds = sys.argv[1], int(sys.argv[2])
questions = json.loads(sys.stdin.read())
embedder = make_embedder({model!r}, backend)  # "torch" is SentenceTransformerEmbedder
embedder.warm_up()
encode = embedder.encode if backend == "torch" else embedder.encode_query
times = []
for _ in range(rounds):
    for q in questions:
        t = time.perf_counter(); encode([q]); times.append((time.perf_counter() - t) * 1000)
print(json.dumps(times))
"""
# wrk: POST the question bodies in turn (per thread), and print the figures as one JSON line.
WRK_LUA = """
local bodies = {{{bodies}}}
local n = 0
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
request = function()
  n = n % #bodies + 1
  return wrk.format("POST", "/ask", nil, bodies[n])
end
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'WRK_JSON {{"requests": %d, "duration_us": %d, "p50_us": %d, "p99_us": %d, "max_us": %d, '
    .. '"connect": %d, "read": %d, "write": %d, "status": %d, "timeout": %d}}\\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99), latency.max,
    e.connect, e.read, e.write, e.status, e.timeout))
end
"""


# ---------------------------------------------------------------- small helpers

def pct(values: list[float], q: float) -> float:
    """The ``q`` quantile of ``values`` (nearest rank), rounded to 0.01."""
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))], 2)


def summary(values: list[float]) -> dict[str, float]:
    return {"p50": pct(values, 0.5), "p95": pct(values, 0.95)}


def ratio(a: float, b: float) -> float | None:
    return round(a / b, 2) if b else None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def questions() -> list[str]:
    if DEV.exists():
        return [json.loads(line)["question"] for line in DEV.read_text().splitlines() if line.strip()]
    return QUESTIONS


def ask_body(question: str) -> str:
    return json.dumps({"question": question, "top_k": TOP_K})


def qa_command() -> list[str]:
    """``qa`` as users run it: the console script beside this Python, else ``python -m qa.cli``."""
    script = Path(sys.executable).parent / "qa"
    return [str(script)] if script.exists() else [sys.executable, "-m", "qa.cli"]


def qa_run(*args: str) -> float:
    """Run ``qa ARGS`` in a fresh process; its wall time in seconds."""
    start = time.perf_counter()
    subprocess.run([*qa_command(), *args], check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - start


def serve_has_workers_flag() -> bool:
    out = subprocess.run([*qa_command(), "serve", "--help"], capture_output=True, text=True, check=True)
    return "--workers" in out.stdout


# ---------------------------------------------------------------- measurements

def measure_encode(backend: str, qs: list[str], rounds: int) -> list[float]:
    """Raw encode times (ms) of each question, ``rounds`` times, in one fresh process."""
    out = subprocess.run([sys.executable, "-c", ENCODE_SCRIPT.format(model=MODEL), backend, str(rounds)],
                         input=json.dumps(qs), capture_output=True, text=True, check=True)
    return [float(t) for t in json.loads(out.stdout)]


@contextlib.contextmanager
def serving(index_dir: Path, workers: int | None) -> Iterator[int]:
    """A fresh ``qa serve`` on a free port, until it answers /health; yields the port."""
    port = free_port()
    cmd = [*qa_command(), "serve", "--port", str(port), "--corpus", str(CORPUS), "--index", str(index_dir)]
    if workers is not None:
        cmd += ["--workers", str(workers)]
    with tempfile.TemporaryFile("w+") as log:
        proc = subprocess.Popen(cmd, stdout=log, stderr=log, start_new_session=True)
        try:
            deadline = time.time() + 180
            while True:
                try:
                    with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=2) as r:
                        if r.status == 200:
                            break
                except OSError:
                    if time.time() > deadline or proc.poll() is not None:
                        log.seek(0)
                        raise RuntimeError(f"server did not start: {shlex.join(cmd)}\n{log.read()[-2000:]}") from None
                    time.sleep(0.3)
            yield port
        finally:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGTERM)  # the group: uvicorn's workers too
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()


def measure_ask(port: int, qs: list[str], rounds: int) -> tuple[list[float], list[float]]:
    """Server ``took_ms`` and client round trip (ms) of each question, one at a time."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    server, client = [], []
    try:
        for _ in range(rounds):
            for q in qs:
                start = time.perf_counter()
                conn.request("POST", "/ask", ask_body(q), {"Content-Type": "application/json"})
                resp = conn.getresponse()
                body = resp.read()
                client.append((time.perf_counter() - start) * 1000)
                if resp.status != 200:
                    raise RuntimeError(f"/ask answered {resp.status}: {body[:300]!r}")
                server.append(float(json.loads(body)["took_ms"]))
    finally:
        conn.close()
    return server, client


def find_wrk() -> tuple[str | None, str]:
    """wrk's path (installing Debian's package if missing and root) and a note on how."""
    if path := shutil.which("wrk"):
        return path, "wrk"
    if os.geteuid() != 0 or not shutil.which("apt-get"):
        return None, "wrk missing and not root: cannot apt-get install it"
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    install = ["apt-get", "install", "-y", "-q", "wrk"]
    quiet = {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL, "env": env}
    if subprocess.run(install, **quiet).returncode != 0:  # stale package lists: update once, retry
        subprocess.run(["apt-get", "update", "-q"], **quiet)
        subprocess.run(install, **quiet)
    path = shutil.which("wrk")
    return path, "wrk (installed with apt-get)" if path else "apt-get install wrk failed"


def load_wrk(wrk: str, port: int, bodies: list[str], clients: int, duration: float) -> dict[str, Any]:
    """One wrk run; its figures from the Lua ``done`` hook."""
    lua_bodies = ", ".join('"' + b.replace("\\", "\\\\").replace('"', '\\"') + '"' for b in bodies)
    with tempfile.NamedTemporaryFile("w", suffix=".lua") as script:
        script.write(WRK_LUA.format(bodies=lua_bodies))
        script.flush()
        cmd = [wrk, "-t", str(min(clients, 2)), "-c", str(clients), "-d", f"{duration:g}s", "--timeout", "30s",
               "--latency", "-s", script.name, f"http://127.0.0.1:{port}/ask"]
        out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    match = re.search(r"^WRK_JSON (\{.*\})$", out, re.MULTILINE)
    if not match:
        raise RuntimeError(f"no WRK_JSON line in wrk's output:\n{out}")
    w = json.loads(match.group(1))
    errors = {k: w[k] for k in ("connect", "read", "write", "status", "timeout") if w[k]}
    return {"requests": w["requests"], "seconds": w["duration_us"] / 1e6,
            "p50_ms": w["p50_us"] / 1000, "p99_ms": w["p99_us"] / 1000, "errors": sum(errors.values()),
            "error_kinds": errors}


def load_python(port: int, bodies: list[str], clients: int, duration: float) -> dict[str, Any]:
    """The fallback: ``clients`` threads, each a keep-alive http.client connection in a loop."""
    deadline = time.perf_counter() + duration
    latencies: list[float] = []
    errors: dict[str, int] = {}
    lock = threading.Lock()

    def client(offset: int) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        mine: list[float] = []
        n = offset
        while time.perf_counter() < deadline:
            n += 1
            start = time.perf_counter()
            try:
                conn.request("POST", "/ask", bodies[n % len(bodies)], {"Content-Type": "application/json"})
                resp = conn.getresponse()
                resp.read()
                kind = None if resp.status < 400 else "status"
            except (OSError, http.client.HTTPException) as exc:
                kind = type(exc).__name__
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
            with lock:
                if kind:
                    errors[kind] = errors.get(kind, 0) + 1
            if kind is None or kind == "status":
                mine.append((time.perf_counter() - start) * 1000)
        conn.close()
        with lock:
            latencies.extend(mine)

    begun = time.perf_counter()
    threads = [threading.Thread(target=client, args=(i * 7,)) for i in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    seconds = time.perf_counter() - begun
    return {"requests": len(latencies), "seconds": seconds,
            "p50_ms": pct(latencies, 0.5) if latencies else None,
            "p99_ms": pct(latencies, 0.99) if latencies else None,
            "errors": sum(errors.values()), "error_kinds": errors}


def measure_load(port: int, qs: list[str], duration: float, warmup: float, wrk: str | None) -> list[dict[str, Any]]:
    """Throughput, latency and errors at each concurrency level, after a discarded warm-up."""
    bodies = [ask_body(q) for q in qs]

    def run(clients: int, seconds: float) -> dict[str, Any]:
        if wrk:
            return load_wrk(wrk, port, bodies, clients, seconds)
        return load_python(port, bodies, clients, seconds)

    if warmup > 0:
        run(max(LEVELS), warmup)
    levels = []
    for clients in LEVELS:
        r = run(clients, duration)
        level = {"clients": clients, "rps": round(r["requests"] / r["seconds"], 1),
                 **{k: round(v, 2) if isinstance(v, float) else v for k, v in r.items() if k != "seconds"}}
        levels.append(level)
        print(f"  load {clients:>2} clients: {level['rps']} req/s, p50 {level['p50_ms']} ms, "
              f"p99 {level['p99_ms']} ms, errors {level['errors']}", flush=True)
    return levels


# ---------------------------------------------------------------- report

def reproduce_command() -> str:
    env = [f"{k}={shlex.quote(v)}" for k, v in sorted(os.environ.items()) if k == "PYTHONPATH" or k.startswith("QA_")]
    return " ".join([*env, shlex.join([sys.executable, str(Path(sys.argv[0]).resolve()), *sys.argv[1:]])])


def verdict(value: float | None, target: float, at_most: bool) -> str:
    if value is None:
        return "n/a"
    return "ok" if (value <= target if at_most else value >= target) else "MISS"


def print_table(r: dict[str, Any]) -> None:
    enc, ask, t = r["encode_ms"], r["ask_ms"], TARGETS
    rows = [
        ("qa index --full", f"{r['index_seconds']} s", "", ""),
        (f"cold `qa ask` (median of {len(r['cold_ask_runs_s'])})", f"{r['cold_ask_s']} s", f"≤ {t['cold_ask_s']} s",
         verdict(r["cold_ask_s"], t["cold_ask_s"], True)),
        *[(f"raw encode {b} p50 / p95", f"{enc[b]['p50']} / {enc[b]['p95']} ms", "", "") for b in BACKENDS],
        (f"/ask took_ms p50 / p95 (server {r['server_backend']})", f"{ask['p50']} / {ask['p95']} ms", "", ""),
        ("/ask client round trip p50", f"{r['ask_client_p50_ms']} ms", "", ""),
        ("slowest start's /ask p50", f"{r['slowest_start_ask_p50_ms']} ms", "", ""),
        *[(f"/ask p50 / {b} encode p50", str(r["ask_over_encode"][b]),
           f"≤ {t['ask_over_torch_encode']}" if b == "torch" else "",
           verdict(r["ask_over_encode"][b], t["ask_over_torch_encode"], True) if b == "torch" else "")
          for b in BACKENDS],
        ("throughput@16 / throughput@1", str(r["scaling_16_over_1"]), f"≥ {t['scaling_16_over_1']}",
         verdict(r["scaling_16_over_1"], t["scaling_16_over_1"], False)),
        ("throughput@16", f"{r['rps_at_16']} req/s", f"≥ {t['rps_at_16']:g} req/s",
         verdict(r["rps_at_16"], t["rps_at_16"], False)),
    ]
    width = max(len(row[0]) for row in rows)
    print(f"\n{r['questions']} questions × {r['rounds']} rounds × {r['starts']} starts; {r['cpus']} CPUs; "
          f"qa serve {r['workers_note']}; load client: {r['load_client']}")
    print(f"{'measure':<{width}}  {'value':>20}  {'target':>14}  ")
    for name, value, target, ok in rows:
        print(f"{name:<{width}}  {value:>20}  {target:>14}  {ok}")
    print(f"\n{'clients':>7}  {'req/s':>8}  {'p50 ms':>8}  {'p99 ms':>8}  {'errors':>6}  ({r['duration_s']:g} s each)")
    for lv in r["load"]:
        kinds = f"  {lv['error_kinds']}" if lv["error_kinds"] else ""
        print(f"{lv['clients']:>7}  {lv['rps']:>8}  {lv['p50_ms']!s:>8}  {lv['p99_ms']!s:>8}  {lv['errors']:>6}{kinds}")
    print(f"\nreproduce: {r['command']}")


# ---------------------------------------------------------------- main

def parse_args() -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--starts", type=int, default=5, help="fresh server processes (and encode processes per backend)")
    ap.add_argument("--rounds", type=int, default=3, help="passes over the questions per process")
    ap.add_argument("--duration", type=float, default=10, help="seconds of load per concurrency level")
    ap.add_argument("--warmup", type=float, default=1, help="seconds of discarded load before the levels")
    ap.add_argument("--cold-runs", type=int, default=3, help="fresh `qa ask` processes timed")
    ap.add_argument("--workers", type=int, help="pass --workers N to `qa serve` (only if given)")
    ap.add_argument("--load-client", choices=("auto", "wrk", "python"), default="auto",
                    help="auto: wrk if present or installable, else the Python client")
    ap.add_argument("--json", type=Path, help="also write every figure here")
    return ap.parse_args()


def main() -> None:
    args = parse_args()
    qs = questions()
    if args.workers is not None and not serve_has_workers_flag():
        sys.exit("answer_speed: `qa serve` has no --workers option yet; run without --workers")
    wrk, load_client = (None, "python (asked for)") if args.load_client == "python" else find_wrk()
    if wrk is None:
        if args.load_client == "wrk":
            sys.exit(f"answer_speed: {load_client}")
        load_client = f"python threads, http.client keep-alive ({load_client})"

    with tempfile.TemporaryDirectory() as tmp:
        index_dir = Path(tmp) / "index"
        index_s = qa_run("index", "--full", "--corpus", str(CORPUS), "--index", str(index_dir))
        print(f"qa index --full: {index_s:.1f} s", flush=True)
        cold = [qa_run("ask", qs[0], "--corpus", str(CORPUS), "--index", str(index_dir))
                for _ in range(args.cold_runs)]
        print(f"cold qa ask: {', '.join(f'{c:.2f}' for c in cold)} s", flush=True)

        per_start: list[dict[str, Any]] = []
        all_server: list[float] = []
        all_client: list[float] = []
        all_encode: dict[str, list[float]] = {b: [] for b in BACKENDS}
        load: list[dict[str, Any]] = []
        for start in range(args.starts):
            with serving(index_dir, args.workers) as port:
                server, client = measure_ask(port, qs, args.rounds)
                if start == 0:
                    load = measure_load(port, qs, args.duration, args.warmup, wrk)
            encode = {b: measure_encode(b, qs, args.rounds) for b in BACKENDS}
            per_start.append({"ask_p50_ms": pct(server, 0.5), "ask_p95_ms": pct(server, 0.95),
                              "client_p50_ms": pct(client, 0.5),
                              **{f"encode_{b}_p50_ms": pct(encode[b], 0.5) for b in BACKENDS}})
            all_server += server
            all_client += client
            for b in BACKENDS:
                all_encode[b] += encode[b]
            print(f"start {start + 1}: " + ", ".join(f"{k} {v}" for k, v in per_start[-1].items()), flush=True)

    enc = {b: summary(all_encode[b]) for b in BACKENDS}
    ask = summary(all_server)
    rps = {lv["clients"]: lv["rps"] for lv in load}
    result = {
        "questions": len(qs),
        "rounds": args.rounds,
        "starts": args.starts,
        "requests": len(all_server),
        "cpus": os.cpu_count(),
        "server_backend": os.environ.get("QA_BACKEND", "onnx"),
        "workers": args.workers,
        "workers_note": f"--workers {args.workers}" if args.workers is not None else "without --workers",
        "load_client": load_client,
        "duration_s": args.duration,
        "index_seconds": round(index_s, 1),
        "cold_ask_runs_s": [round(c, 2) for c in cold],
        "cold_ask_s": round(statistics.median(cold), 2),
        "encode_ms": enc,
        "ask_ms": ask,
        "ask_client_p50_ms": pct(all_client, 0.5),
        "slowest_start_ask_p50_ms": max(p["ask_p50_ms"] for p in per_start),
        "ask_over_encode": {b: ratio(ask["p50"], enc[b]["p50"]) for b in BACKENDS},
        "load": load,
        "scaling_16_over_1": ratio(rps[16], rps[1]),
        "rps_at_16": rps[16],
        "targets": TARGETS,
        "per_start": per_start,
        "command": reproduce_command(),
    }
    print_table(result)
    if args.json:
        args.json.write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
