"""Browser fixtures: a real uvicorn server on a free port and Debian's Chromium via Playwright.

The tests skip when Chromium or Playwright is missing, unless ``QA_REQUIRE_BROWSER=1`` (set by
``.ci/run``), which turns the skip into a failure. Screenshots go to ``test-artifacts/``.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from qa.answer.service import QAService
from qa.config import Settings
from qa.embedding.encoder import HashingEmbedder
from qa.http.app import create_app
from qa.index.build import build_index

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
REPO = FIXTURES.parent.parent
ARTIFACTS = REPO / "test-artifacts"
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox", "--headless=new", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run",
]
VIEWPORT = {"width": 1100, "height": 800}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Every test in this folder drives the browser."""
    here = Path(__file__).parent
    for item in items:
        if item.path.is_relative_to(here):
            item.add_marker(pytest.mark.browser)


def _unavailable(reason: str) -> None:
    if os.environ.get("QA_REQUIRE_BROWSER") == "1":
        pytest.fail(f"browser tests are required (QA_REQUIRE_BROWSER=1), but {reason}", pytrace=False)
    pytest.skip(reason)


# -- the server ------------------------------------------------------------------------------


@contextlib.contextmanager
def live_server(service: QAService, index_dir: Path) -> Iterator[str]:
    """Serve the app for ``service`` with uvicorn in a thread; yields its base URL."""
    import uvicorn

    app = create_app(Settings(index_dir=index_dir, reload_interval=3600), service)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="on"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 60
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the test server did not start")
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(10)
        sock.close()


@pytest.fixture(scope="session")
def web_corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The fixture corpus plus the hostile ``evil.txt`` (markup and template syntax)."""
    target = tmp_path_factory.mktemp("web") / "corpus"
    shutil.copytree(FIXTURES / "corpus", target)
    shutil.copy(FIXTURES / "xss" / "evil.txt", target / "evil.txt")
    metadata = (target / "metadata.toml").read_text(encoding="utf-8")
    extra = (FIXTURES / "xss" / "metadata.toml").read_text(encoding="utf-8")
    (target / "metadata.toml").write_text(metadata + "\n" + extra, encoding="utf-8")
    return target


@pytest.fixture(scope="session")
def base_url(web_corpus: Path) -> Iterator[str]:
    """A live server on the web corpus with the fake embedder."""
    index_dir = web_corpus.parent / "index"
    embedder = HashingEmbedder()
    build_index(web_corpus, index_dir, embedder)
    with live_server(QAService(index_dir, embedder), index_dir) as url:
        yield url


@pytest.fixture(scope="session")
def real_base_url(real_index: Path, real_embedder: Any) -> Iterator[str]:
    """A live server on the bundled corpus with the real model."""
    with live_server(QAService(real_index, real_embedder), real_index) as url:
        yield url


# -- the browser -----------------------------------------------------------------------------


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    """Debian's Chromium, headless, driven by Playwright."""
    if not CHROMIUM.exists():
        _unavailable(f"{CHROMIUM} is missing (apt-get install -y chromium)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _unavailable("playwright is not installed (pip install playwright)")
    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@dataclass
class Watch:
    """What a page reported: console errors, uncaught exceptions and dialogs."""

    errors: list[str] = field(default_factory=list)
    dialogs: list[str] = field(default_factory=list)

    def attach(self, page: Any) -> None:
        page.on("console", lambda msg: self.errors.append(f"console: {msg.text}") if msg.type == "error" else None)
        page.on("pageerror", lambda exc: self.errors.append(f"pageerror: {exc}"))

        def dialog(d: Any) -> None:
            self.dialogs.append(d.message)
            d.dismiss()

        page.on("dialog", dialog)


@pytest.fixture
def watch() -> Watch:
    return Watch()


def _context(browser: Any, watch: Watch, **options: Any) -> Any:
    context = browser.new_context(**({"viewport": VIEWPORT} | options))
    context.on("page", watch.attach)
    return context


def _watched_page(browser: Any, watch: Watch, **options: Any) -> Iterator[Any]:
    """A page in a fresh context; the test fails on console errors or dialogs."""
    context = _context(browser, watch, **options)
    yield context.new_page()
    context.close()
    assert watch.errors == [], watch.errors
    assert watch.dialogs == [], watch.dialogs


@pytest.fixture
def page(browser: Any, watch: Watch) -> Iterator[Any]:
    """A fresh page (fresh storage) with JavaScript; fails the test on console errors or dialogs."""
    yield from _watched_page(browser, watch)


@pytest.fixture
def nojs_page(browser: Any, watch: Watch) -> Iterator[Any]:
    """A fresh page with JavaScript disabled."""
    yield from _watched_page(browser, watch, java_script_enabled=False)


@pytest.fixture
def new_page(browser: Any, watch: Watch) -> Iterator[Any]:
    """A factory of pages with other context options (colour scheme, viewport, permissions)."""
    contexts: list[Any] = []

    def make(**options: Any) -> Any:
        context = _context(browser, watch, **options)
        contexts.append(context)
        return context.new_page()

    yield make
    for context in contexts:
        context.close()
    assert watch.errors == [], watch.errors
    assert watch.dialogs == [], watch.dialogs


@pytest.fixture
def shot() -> Any:
    """``shot(page, name)`` saves a screenshot to ``test-artifacts/<name>.png``."""

    def save(page: Any, name: str, full_page: bool = False) -> Path:
        path = ARTIFACTS / f"{name}.png"
        page.screenshot(path=str(path), full_page=full_page)
        return path

    return save
