"""The HTTP contract a generated client relies on: Schemathesis against a live `qa serve`
(admin on, a scratch copy of a corpus), and a client generated from `/openapi.json`."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from ports import free_port, until

pytestmark = pytest.mark.model
HERE = Path(__file__).resolve().parent
BIN = Path(sys.executable).parent
TOKEN = "contract-test-token"


@pytest.fixture(scope="module")
def live_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """`qa serve` on loopback with the real model, admin on, over a scratch corpus."""
    root = tmp_path_factory.mktemp("contract")
    shutil.copytree(HERE / "fixtures" / "corpus", root / "corpus")
    port = free_port()
    env = {**os.environ, "QA_ADMIN_TOKEN": TOKEN, "QA_CORPUS_DIR": str(root / "corpus"),
           "QA_INDEX_DIR": str(root / "index"), "QA_RELOAD_INTERVAL": "0.5"}
    log = open(root / "serve.log", "w")
    proc = subprocess.Popen([str(BIN / "qa"), "serve", "--host", "127.0.0.1", "--port", str(port)],
                            env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    def up() -> bool:
        """qa serve answers /health"""
        if proc.poll() is not None:
            raise RuntimeError((root / "serve.log").read_text())
        try:
            with urllib.request.urlopen(url + "/health", timeout=2):
                return True
        except OSError:
            return False

    try:
        until(up, timeout=120, every=0.2)
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        log.close()


def test_schemathesis_finds_no_server_error_undocumented_status_or_schema_violation(
    live_server: str, tmp_path: Path
) -> None:
    out = subprocess.run(
        [str(BIN / "schemathesis"), "--config-file", str(HERE / "schemathesis.toml"), "run",
         f"{live_server}/openapi.json", "--checks", "all", "-H", f"Authorization: Bearer {TOKEN}",
         "--max-examples", "25", "--workers", "1", "--seed", "7", "--no-color"],
        capture_output=True, text=True, timeout=900, cwd=tmp_path,  # its cache stays out of the checkout
    )
    assert out.returncode == 0, out.stdout[-6000:] + out.stderr[-2000:]
    assert "unique failure" not in out.stdout


def test_every_documented_error_has_the_one_error_body(live_server: str) -> None:
    with urllib.request.urlopen(live_server + "/openapi.json") as resp:
        schema = json.loads(resp.read())
    assert "HTTPValidationError" not in json.dumps(schema)
    for path, operations in schema["paths"].items():
        for method, op in operations.items():
            for code, response in op["responses"].items():
                if code.startswith(("4", "5")):
                    body = response["content"]["application/json"]["schema"]["$ref"]
                    expected = "Health" if path == "/health" else "ErrorResponse"
                    assert body.endswith("/" + expected), (method, path, code)
                    assert response["description"]
    upload = schema["paths"]["/admin/documents"]["post"]
    assert {"400", "401", "403", "404", "409", "413", "415", "422", "503"} <= set(upload["responses"])
    assert "multipart/form-data" in upload["requestBody"]["content"]
    ask = schema["components"]["schemas"]["AskRequest"]["properties"]
    assert ask["top_k"]["minimum"] == 1 and ask["top_k"]["maximum"] == 20
    assert ask["question"]["maxLength"] == 1000


def test_a_generated_client_asks_and_gets_excerpts(live_server: str, tmp_path: Path) -> None:
    spec = tmp_path / "openapi.json"
    with urllib.request.urlopen(live_server + "/openapi.json") as resp:
        spec.write_bytes(resp.read())
    out = subprocess.run(
        [str(BIN / "openapi-python-client"), "generate", "--path", str(spec), "--output-path",
         str(tmp_path / "qa_client"), "--meta", "none"],
        capture_output=True, text=True, timeout=300, cwd=tmp_path,
    )
    assert (tmp_path / "qa_client" / "client.py").exists(), out.stdout + out.stderr
    script = f"""
import sys
sys.path.insert(0, {str(tmp_path)!r})
from qa_client import Client
from qa_client.api.questions import ask_ask_post
from qa_client.models import AskRequest, AskResponse, ErrorResponse
client = Client(base_url={live_server!r})
answer = ask_ask_post.sync(client=client, body=AskRequest(question="How tall is Mount Everest?", top_k=2))
assert isinstance(answer, AskResponse), answer
assert answer.answers and "8,849" in answer.answers[0].text, answer
source = answer.answers[0].source
assert source.document == "beta.txt" and source.end > source.start
error = ask_ask_post.sync(client=client, body=AskRequest(question=" ", top_k=2))
assert isinstance(error, ErrorResponse) and "blank" in error.detail, error
print("ok")
"""
    run = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert run.returncode == 0 and run.stdout.strip() == "ok", run.stdout + run.stderr
