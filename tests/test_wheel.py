"""The package as users install it: a wheel built from the checkout, installed into a fresh
venv and run from another directory, serves the chat page, its static files and answers
from an HTML source (templates, static files and the scoring model ship inside the wheel).

The fresh venv borrows the test environment's dependencies through a ``.pth`` line rather
than downloading them again; qa itself comes only from the wheel, as the test checks.
"""

from __future__ import annotations

import re
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import httpx
import pytest
from ports import free_port, until
from sourcefiles import HTML_PAGE, write

REPO = Path(__file__).resolve().parent.parent


def run(*args: object, cwd: Path | None = None) -> str:
    out = subprocess.run([str(a) for a in args], capture_output=True, text=True, cwd=cwd, timeout=600)
    assert out.returncode == 0, f"{args}: {out.stdout}\n{out.stderr}"
    return out.stdout


@pytest.mark.model
def test_a_built_wheel_installs_into_a_fresh_venv_and_serves(tmp_path: Path) -> None:
    run(sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", tmp_path / "dist", REPO)
    (wheel,) = (tmp_path / "dist").glob("qa-*.whl")
    shipped = set(zipfile.ZipFile(wheel).namelist())
    for name in ("qa/http/templates/chat.html", "qa/http/static/app.css", "qa/http/static/chat.js",
                 "qa/answer/scoring.json"):
        assert name in shipped, name

    venv = tmp_path / "venv"
    run(getattr(sys, "_base_executable", sys.executable), "-m", "venv", venv)
    python = venv / "bin" / "python"
    site = Path(run(python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])").strip())
    paths = dict.fromkeys([sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]])
    (site / "_test_dependencies.pth").write_text("\n".join(paths) + "\n", encoding="utf-8")
    run(python, "-m", "pip", "install", "-q", "--no-deps", "--no-index", wheel)

    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    assert run(python, "-c", "import qa; print(qa.__file__)", cwd=elsewhere).strip().startswith(str(site))
    corpus, index = tmp_path / "corpus", tmp_path / "index"
    write(corpus / "glaciers.html", HTML_PAGE)
    port = free_port()
    server = subprocess.Popen([venv / "bin" / "qa", "serve", "--corpus", corpus, "--index", index, "--port", str(port)],
                              cwd=elsewhere, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    base = f"http://127.0.0.1:{port}"
    try:
        def healthy() -> bool:
            assert server.poll() is None, server.stdout.read() if server.stdout else ""
            try:
                return httpx.get(f"{base}/health", timeout=5).status_code == 200
            except httpx.HTTPError:
                return False

        until(healthy, timeout=300, every=0.5)
        page = httpx.get(f"{base}/", timeout=30)
        assert page.status_code == 200 and "Ask the sources" in page.text
        css = re.search(r'href="(/static/app\.css[^"]*)"', page.text)
        assert css, page.text[:500]
        style = httpx.get(base + css.group(1), timeout=30)
        assert style.status_code == 200 and style.headers["content-type"].startswith("text/css")
        answer = httpx.post(f"{base}/ask", json={"question": "What makes glacier ice melt faster?"}, timeout=60).json()
        assert not answer["no_answer"] and answer["answers"][0]["source"]["document"] == "glaciers.html"
        assert "absorbs more sunlight" in answer["answers"][0]["text"]
    finally:
        server.terminate()
        server.wait(timeout=30)
