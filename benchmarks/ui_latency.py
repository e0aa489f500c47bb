"""How fast the chat page feels: time from pressing Enter to the first answer visible in Chromium.

Starts ``qa serve`` on the bundled corpus with the real model (building a temporary index
unless ``--index`` names one), opens the chat page in Debian's Chromium, asks each question,
and measures in the page, from the Enter keydown to the frame after the reply's cards were
added to the page. Also reports the page weight (HTML + CSS + JS, uncompressed).

    .venv/bin/python benchmarks/ui_latency.py [--index DIR] [--rounds 2] [--json]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox", "--headless=new", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run",
]
QUESTIONS = [
    "What types of military hardware has Russia supplied to Iran in spite of Western sanctions?",
    "What does the paper mean by 'structural power'?",
    "Which Ukrainian president was ousted in 2014?",
    "In what year did Putin return to the Russian presidency?",
    "Which international organisations has Russia backed Iran's membership in?",
    "What kind of world order are Iran and Russia working toward together?",
    "Which 20th-century memories complicated relations between Iran and Russia?",
    "What shared ideological position has strengthened political ties between Russia and Iran?",
    "What dual role does the United States play in Iran-Russia relations?",
    "Who painted the Mona Lisa?",
]
# Runs in the page: note the Enter keydown, resolve when a finished turn appears and has painted.
ARM = """() => {
  const log = document.getElementById("log");
  const before = log.querySelectorAll(".turn:not(.pending)").length;
  window.__t0 = null;
  document.getElementById("question").addEventListener("keydown", (e) => {
    if (e.key === "Enter") window.__t0 = performance.now();
  }, { capture: true, once: true });
  window.__shown = new Promise((resolve) => {
    const seen = new MutationObserver(() => {
      if (log.querySelectorAll(".turn:not(.pending)").length > before) {
        seen.disconnect();
        requestAnimationFrame(() => setTimeout(() => resolve(performance.now() - window.__t0)));
      }
    });
    seen.observe(log, { childList: true });
  });
}"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_ready(url: str, server: subprocess.Popen[bytes], timeout: float = 600) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit(f"qa serve exited with code {server.returncode}")
        try:
            with urllib.request.urlopen(url + "/health", timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.25)
    raise SystemExit(f"qa serve was not ready after {timeout:.0f} s")


def page_weight(url: str) -> dict[str, int]:
    """Bytes of the chat page and the CSS and JS it loads, uncompressed."""
    with urllib.request.urlopen(url + "/") as response:
        html = response.read()
    weights = {"html": len(html)}
    for asset in re.findall(rb'(?:href|src)="(/static/[^"]+\.(?:css|js))(?:\?v=\w+)?"', html):
        with urllib.request.urlopen(url + asset.decode()) as response:
            weights[asset.decode().rsplit("/", 1)[1]] = len(response.read())
    weights["total"] = sum(weights.values())
    return weights


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q / 100 * len(ordered) + 0.5) - 1))]


def measure(url: str, questions: list[str], rounds: int) -> tuple[list[float], list[float]]:
    """Enter → first answer visible (ms, in the page) and the server's own ``took_ms``."""
    from playwright.sync_api import sync_playwright

    shown: list[float] = []
    server: list[float] = []
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page()
        page.goto(url + "/")
        for i, question in enumerate([questions[0]] + questions * rounds):
            page.evaluate(ARM)
            page.fill("#question", question)
            page.press("#question", "Enter")
            elapsed = page.evaluate("window.__shown")
            took = page.locator("#log > .turn:not(.pending) .took").last.text_content() or ""
            if i == 0:
                continue  # warm-up: first connection, caches
            shown.append(float(elapsed))
            server.append(float(re.search(r"in (\d+) ms", took).group(1)))  # type: ignore[union-attr]
            if len(shown) % len(questions) == 0:
                page.evaluate("localStorage.clear()")
                page.reload()
        browser.close()
    return shown, server


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--index", type=Path, help="an index of the bundled corpus (default: build a temporary one)")
    parser.add_argument("--rounds", type=int, default=2, help="times to ask each question (default 2)")
    parser.add_argument("--json", action="store_true", help="print the results as one JSON line")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        index = args.index or Path(tmp) / "index"
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        env = os.environ | {"QA_RELOAD_INTERVAL": "3600"}
        command = [sys.executable, "-m", "qa.cli", "serve", "--corpus", str(REPO / "corpus"),
                   "--index", str(index), "--port", str(port)]
        server = subprocess.Popen(command, cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        try:
            wait_ready(url, server)
            weight = page_weight(url)
            shown, took = measure(url, QUESTIONS, args.rounds)
        finally:
            server.terminate()
            server.wait(30)

    result = {
        "questions": len(QUESTIONS), "samples": len(shown),
        "enter_to_answer_ms": {"median": round(statistics.median(shown), 1), "p95": round(percentile(shown, 95), 1),
                               "min": round(min(shown), 1), "max": round(max(shown), 1)},
        "server_took_ms_median": round(statistics.median(took), 1),
        "page_weight_bytes": weight,
        "cpu_count": os.cpu_count(),
    }
    if args.json:
        print(json.dumps(result))
    else:
        ms = result["enter_to_answer_ms"]
        print(f"Enter → first answer visible, {len(shown)} asks of {len(QUESTIONS)} questions "
              f"(real model, bundled corpus, Chromium headless, {os.cpu_count()} CPUs):")
        print(f"  median {ms['median']} ms   p95 {ms['p95']} ms   min {ms['min']} ms   max {ms['max']} ms")
        print(f"  of which the server's answer (took_ms), median: {result['server_took_ms_median']} ms")
        print(f"page weight: {weight['total']:,} bytes uncompressed "
              f"({', '.join(f'{k} {v:,}' for k, v in weight.items() if k != 'total')})")
    print("reproduce: .venv/bin/python benchmarks/ui_latency.py", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
