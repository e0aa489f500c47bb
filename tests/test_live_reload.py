"""Live reload: a running server picks up rebuilt indexes while clients keep asking, with zero errors."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import httpx
from ports import running_server, until
from sourcefiles import make_pdf, write

from qa.answer.service import QAService
from qa.config import Settings
from qa.embedding.encoder import HashingEmbedder
from qa.http.app import create_app
from qa.index.build import build_index

CLIENTS = 4
REBUILDS = 6
MAX_SECONDS = 60
MAX_LATENCY = 5.0  # seconds; a question takes milliseconds with the fake embedder


def test_rebuilds_under_load_fail_no_request(corpus_dir: Path, index_dir: Path) -> None:
    embedder = HashingEmbedder()
    service = QAService(index_dir, embedder)
    settings = Settings(corpus_dir=corpus_dir, index_dir=index_dir, reload_interval=0.05)
    stop = threading.Event()
    counts = {"ok": 0}
    latencies: list[float] = []
    failures: list[str] = []
    lock = threading.Lock()
    questions = ["When was the Aswan High Dam completed?", "Which sea does the Danube reach?",
                 "What is the highest mountain?", "How large is the Amazon basin?"]

    def client(n: int) -> None:
        with httpx.Client(timeout=10) as http:
            i = n
            while not stop.is_set():
                question = questions[i % len(questions)]
                i += 1
                try:
                    sent = time.monotonic()
                    response = http.post(f"{base}/ask", json={"question": question, "top_k": 3})
                    latencies.append(time.monotonic() - sent)
                    body = response.json()
                    ok = response.status_code == 200 and isinstance(body.get("answers"), list)
                    if ok:
                        docs = {a["source"]["document"]: a for a in body["answers"]}
                        for answer in docs.values():  # every quote is still verbatim and cited
                            ok = ok and answer["text"] and answer["source"]["end"] > answer["source"]["start"]
                    with lock:
                        if ok:
                            counts["ok"] += 1
                        else:
                            failures.append(f"{response.status_code} {response.text[:200]}")
                except httpx.HTTPError as exc:
                    with lock:
                        failures.append(repr(exc))

    def ask_top(http: httpx.Client, question: str) -> str | None:
        answers = http.post(f"{base}/ask", json={"question": question, "top_k": 1}).json()["answers"]
        return answers[0]["source"]["document"] if answers else None

    with running_server(create_app(settings, service)) as base:
        threads = [threading.Thread(target=client, args=(n,)) for n in range(CLIENTS)]
        for thread in threads:
            thread.start()
        started = time.monotonic()
        try:
            with httpx.Client(timeout=10) as http:
                for round_ in range(REBUILDS):
                    assert time.monotonic() - started < MAX_SECONDS
                    if round_ % 2 == 0:
                        write(corpus_dir / "danube.txt", f"The Danube reaches the Black Sea (round {round_}).\n")
                        write(corpus_dir / "rivers.pdf", make_pdf())
                    else:
                        (corpus_dir / "danube.txt").unlink()
                        (corpus_dir / "rivers.pdf").unlink()
                    report = build_index(corpus_dir, index_dir, embedder)
                    assert not report.up_to_date and report.build
                    live = report.build
                    until(lambda live=live: http.get(f"{base}/health").json()["index"] == live, timeout=10)
                    top = ask_top(http, "Which sea does the Danube reach?")
                    assert (top == "danube.txt") == (round_ % 2 == 0)
                    asked = counts["ok"]  # let every client ask against this build too
                    until(lambda asked=asked: counts["ok"] >= asked + 2 * CLIENTS, timeout=10, every=0.01)
        finally:
            stop.set()
            for thread in threads:
                thread.join(timeout=30)
    assert failures == []
    assert counts["ok"] > 50
    assert max(latencies) < MAX_LATENCY, f"a request stalled for {max(latencies):.1f} s during a reload"
