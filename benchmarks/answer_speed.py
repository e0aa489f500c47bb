"""Benchmark: indexing time, /ask latency on a real server, and raw model encode speed.

    .venv/bin/python benchmarks/answer_speed.py [--starts 5] [--rounds 3] [--json FILE]

In one run, on the bundled corpus and the packaged all-MiniLM-L6-v2 model:

1. ``qa index --full`` in a fresh process (wall seconds, model load included), once;
2. for each of ``--starts`` fresh server processes (``qa serve``): every question of the
   dev set (or a built-in list) asked ``--rounds`` times, one at a time; the server-side
   ``took_ms`` and the client round trip are recorded;
3. in each of the same number of fresh processes: the raw ``model.encode([question])`` time
   of the same questions, which is the floor under any answer's latency.

Medians and p95 are reported per start and over all starts, so a slow process start (the
faiss/torch OpenMP contention on 2 cores) would show up rather than average away.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
DEV = REPO.parent / "shared" / "eval" / "dev.jsonl"
QUESTIONS = [
    "Which Ukrainian president was ousted in 2014?",
    "What types of military hardware has Russia supplied to Iran?",
    "What does the paper mean by structural power?",
    "How much was the alleged deal for Iranian drones worth?",
    "Who painted the Mona Lisa?",
]
ENCODE_SCRIPT = """
import json, sys, time
from qa.embedding import SentenceTransformerEmbedder
questions = json.loads(sys.stdin.read())
embedder = SentenceTransformerEmbedder()
embedder.warm_up()
times = []
for _ in range({rounds}):
    for q in questions:
        t = time.perf_counter(); embedder.encode([q]); times.append((time.perf_counter() - t) * 1000)
print(json.dumps(times))
"""


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))], 2)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def questions() -> list[str]:
    if DEV.exists():
        return [json.loads(line)["question"] for line in DEV.read_text().splitlines() if line.strip()]
    return QUESTIONS


def post(url: str, question: str) -> tuple[float, float]:
    req = urllib.request.Request(url, data=json.dumps({"question": question, "top_k": 5}).encode(),
                                 headers={"Content-Type": "application/json"})
    start = time.perf_counter()
    with urllib.request.urlopen(req, timeout=60) as resp:
        body = json.loads(resp.read())
    return float(body["took_ms"]), (time.perf_counter() - start) * 1000


def serve_and_measure(index_dir: Path, qs: list[str], rounds: int) -> tuple[list[float], list[float]]:
    port = free_port()
    env = dict(os.environ, QA_INDEX_DIR=str(index_dir), QA_CORPUS_DIR=str(REPO / "corpus"))
    proc = subprocess.Popen([sys.executable, "-m", "qa.cli", "serve", "--port", str(port)], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.time() + 180
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=2) as r:
                    if r.status == 200:
                        break
            except OSError:
                if time.time() > deadline or proc.poll() is not None:
                    raise RuntimeError("server did not start") from None
                time.sleep(0.3)
        server, client = [], []
        for _ in range(rounds):
            for q in qs:
                took, rtt = post(f"http://127.0.0.1:{port}/ask", q)
                server.append(took)
                client.append(rtt)
        return server, client
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--starts", type=int, default=5, help="fresh server processes (and encode processes)")
    ap.add_argument("--rounds", type=int, default=3, help="passes over the questions per process")
    ap.add_argument("--json", type=Path, help="also write the results here")
    args = ap.parse_args()
    qs = questions()

    with tempfile.TemporaryDirectory() as tmp:
        index_dir = Path(tmp) / "index"
        t = time.perf_counter()
        subprocess.run([sys.executable, "-m", "qa.cli", "index", "--full", "--corpus", str(REPO / "corpus"),
                        "--index", str(index_dir)], check=True, stdout=subprocess.DEVNULL)
        index_s = time.perf_counter() - t

        per_start = []
        all_server: list[float] = []
        all_client: list[float] = []
        all_encode: list[float] = []
        for start in range(args.starts):
            server, client = serve_and_measure(index_dir, qs, args.rounds)
            enc = subprocess.run([sys.executable, "-c", ENCODE_SCRIPT.format(rounds=args.rounds)],
                                 input=json.dumps(qs), capture_output=True, text=True, check=True)
            encode = json.loads(enc.stdout)
            per_start.append({"server_p50": pct(server, 0.5), "server_p95": pct(server, 0.95),
                              "client_p50": pct(client, 0.5), "encode_p50": pct(encode, 0.5)})
            all_server += server
            all_client += client
            all_encode += encode
            print(f"start {start + 1}: /ask server p50 {per_start[-1]['server_p50']} ms, "
                  f"p95 {per_start[-1]['server_p95']} ms; client p50 {per_start[-1]['client_p50']} ms; "
                  f"model.encode p50 {per_start[-1]['encode_p50']} ms", flush=True)

    result = {
        "questions": len(qs),
        "requests": len(all_server),
        "index_seconds": round(index_s, 1),
        "ask_server_p50_ms": pct(all_server, 0.5),
        "ask_server_p95_ms": pct(all_server, 0.95),
        "ask_client_p50_ms": pct(all_client, 0.5),
        "encode_p50_ms": pct(all_encode, 0.5),
        "encode_p95_ms": pct(all_encode, 0.95),
        "ask_over_encode_ratio": round(pct(all_server, 0.5) / pct(all_encode, 0.5), 2),
        "slowest_start_server_p50_ms": max(p["server_p50"] for p in per_start),
        "starts": per_start,
        "cpus": os.cpu_count(),
        "command": f"python benchmarks/answer_speed.py --starts {args.starts} --rounds {args.rounds}",
    }
    print(json.dumps({k: v for k, v in result.items() if k != "starts"}, indent=2))
    if args.json:
        args.json.write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
