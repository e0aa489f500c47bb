"""`qa serve --workers 2`: two real server processes on one port, sharing the index.

Connections are spread over both; a rebuilt index reaches both; the admin build record
is the same whichever process answers; stopping the server stops every worker."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from ports import free_port, until

pytestmark = pytest.mark.model
HERE = Path(__file__).resolve().parent
BIN = Path(sys.executable).parent
TOKEN = "workers-test-token"


def _get(url: str, token: str | None = None) -> dict[str, Any]:
    """One request on a fresh connection (so the kernel may pick either worker)."""
    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {token}"} if token else {})
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.loads(response.read())


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    root = tmp_path_factory.mktemp("workers")
    shutil.copytree(HERE / "fixtures" / "corpus", root / "corpus")
    port = free_port()
    env = {**os.environ, "QA_ADMIN_TOKEN": TOKEN, "QA_CORPUS_DIR": str(root / "corpus"),
           "QA_INDEX_DIR": str(root / "index"), "QA_RELOAD_INTERVAL": "0.3"}
    log = open(root / "serve.log", "w")
    proc = subprocess.Popen([str(BIN / "qa"), "serve", "--workers", "2", "--port", str(port)],
                            env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"

    def up() -> bool:
        if proc.poll() is not None:
            raise RuntimeError((root / "serve.log").read_text())
        try:
            return len({_get(url + "/health")["process"] for _ in range(12)}) == 2
        except OSError:
            return False

    try:
        until(up, timeout=180)
        yield {"url": url, "root": root, "env": env, "proc": proc}
    finally:
        if proc.poll() is None:
            proc.terminate()
            proc.wait(timeout=30)
        log.close()


def test_connections_reach_both_workers_and_both_answer(server: dict[str, Any]) -> None:
    url = server["url"]
    seen = {_get(url + "/health")["process"] for _ in range(40)}
    assert len(seen) == 2 and server["proc"].pid not in seen
    body = json.dumps({"question": "How long is the Nile?"}).encode()
    answered = set()
    for _ in range(20):
        request = urllib.request.Request(url + "/ask", data=body, headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=30) as response:
            answer = json.loads(response.read())
        assert answer["answers"] and answer["answers"][0]["source"]["document"]
        answered.add(_get(url + "/health")["process"])
    assert answered == seen


def test_a_rebuilt_index_reaches_every_worker(server: dict[str, Any]) -> None:
    url, root = server["url"], server["root"]
    before = _get(url + "/health")["index"]
    (root / "corpus" / "danube.txt").write_text(
        "The Danube flows through ten countries before it reaches the Black Sea.\n", encoding="utf-8")
    subprocess.run([str(BIN / "qa"), "index"], env=server["env"], check=True, capture_output=True)

    def every_worker_has_the_new_index() -> bool:
        states = {(h["process"], h["index"]) for h in (_get(url + "/health") for _ in range(16))}
        return len({p for p, _ in states}) == 2 and all(index != before for _, index in states)

    until(every_worker_has_the_new_index)


def test_admin_build_record_is_shared_by_the_workers(server: dict[str, Any]) -> None:
    url = server["url"]
    request = urllib.request.Request(url + "/admin/reindex?wait=true&full=true", method="POST",
                                     headers={"Authorization": f"Bearer {TOKEN}"})
    with urllib.request.urlopen(request, timeout=300) as response:
        finished = json.loads(response.read())["finished"]
    assert finished
    states = [_get(url + "/admin/reindex", TOKEN) for _ in range(16)]
    assert {s["finished"] for s in states} == {finished}
    assert all(s["state"] == "idle" and s["last"]["documents"] >= 1 for s in states)


def test_stopping_the_server_stops_every_worker(server: dict[str, Any]) -> None:
    url, proc = server["url"], server["proc"]
    workers = {_get(url + "/health")["process"] for _ in range(20)}
    assert len(workers) == 2
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=30) == 0

    def gone() -> bool:
        return not any(Path(f"/proc/{pid}").exists() for pid in workers)

    until(gone, timeout=30)
