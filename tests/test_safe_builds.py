"""Safe rebuilds: a killed build leaves the live index intact; builds never run two at once."""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from sourcefiles import write

from qa import cli
from qa.answer.service import QAService
from qa.embedding.encoder import HashingEmbedder
from qa.errors import IndexBusyError
from qa.index.build import build_index
from qa.index.builds import CURRENT_FILE, current_build
from qa.index.store import load_index

TESTS = Path(__file__).resolve().parent
REPO = TESTS.parent
DANUBE = "The Danube flows through ten countries before it reaches the Black Sea.\n"


def start_build(corpus: Path, index: Path, where: str) -> subprocess.Popen[str]:
    """Start tests/slow_build.py and wait until it has paused at ``where`` (a line on its
    standard input lets it go on)."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO), str(TESTS)])}
    proc = subprocess.Popen(
        [sys.executable, str(TESTS / "slow_build.py"), str(corpus), str(index), where],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
    )
    assert proc.stdout is not None
    line = proc.stdout.readline()
    if line.strip() != "PAUSED":
        proc.kill()
        raise AssertionError(f"the build did not pause: {line!r} {proc.stderr.read() if proc.stderr else ''}")
    return proc


def answers_from(index_dir: Path) -> list[str]:
    service = QAService(index_dir, HashingEmbedder())
    service.load()
    return [d.id for d in service.documents()]


@pytest.mark.parametrize("where", ["embed", "commit"])
def test_kill_mid_build_leaves_previous_index(corpus_dir: Path, index_dir: Path, where: str) -> None:
    live = current_build(index_dir)
    write(corpus_dir / "danube.txt", DANUBE)
    proc = start_build(corpus_dir, index_dir, where)
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)

    # The previous index is still live, loads and answers.
    assert current_build(index_dir) == live
    assert answers_from(index_dir) == ["alpha.md", "beta.txt"]
    leftovers = [p for p in index_dir.glob("build-*") if p != live] + list(index_dir.glob(f".{CURRENT_FILE}.*"))
    if where == "commit":
        assert leftovers, "the killed build should have left its unfinished files behind"

    # The next build cleans up what the killed one left, and succeeds.
    report = build_index(corpus_dir, index_dir, HashingEmbedder())
    assert report.added == ["danube.txt"]
    assert sorted(report.cleaned) == sorted(p.name for p in leftovers if p.name.startswith("build-"))
    assert not any(p.exists() for p in leftovers)
    assert not list(index_dir.glob(f".{CURRENT_FILE}.*"))
    assert sorted(p.name for p in index_dir.glob("build-*")) == sorted([live.name, report.build or ""])
    assert answers_from(index_dir) == ["alpha.md", "beta.txt", "danube.txt"]


def test_second_build_fails_fast_with_no_wait(corpus_dir: Path, index_dir: Path,
                                              monkeypatch: pytest.MonkeyPatch,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    write(corpus_dir / "danube.txt", DANUBE)
    proc = start_build(corpus_dir, index_dir, "embed")
    try:
        with pytest.raises(IndexBusyError, match="another build .* is running"):
            build_index(corpus_dir, index_dir, HashingEmbedder(), wait=False)
        monkeypatch.setattr(cli, "_embedder", lambda settings: HashingEmbedder())
        code = cli.main(["index", "--no-wait", "--corpus", str(corpus_dir), "--index", str(index_dir)])
        assert code == 1
        assert "another build" in capsys.readouterr().err
    finally:
        proc.kill()
        proc.wait(timeout=30)
    assert answers_from(index_dir) == ["alpha.md", "beta.txt"]


class _Waiting(logging.Handler):
    """Sets ``event`` when a build logs that it is waiting for another one."""

    def __init__(self) -> None:
        super().__init__()
        self.event = threading.Event()

    def emit(self, record: logging.LogRecord) -> None:
        if "waiting for it to finish" in record.getMessage():
            self.event.set()


def test_second_build_waits_for_the_first(corpus_dir: Path, index_dir: Path) -> None:
    write(corpus_dir / "danube.txt", DANUBE)
    proc = start_build(corpus_dir, index_dir, "embed")  # paused inside the lock
    write(corpus_dir / "volga.txt", "The Volga is the longest river in Europe.\n")
    results: dict[str, object] = {}
    waiting = _Waiting()
    logging.getLogger("qa").addHandler(waiting)

    def second() -> None:
        results["report"] = build_index(corpus_dir, index_dir, HashingEmbedder())

    thread = threading.Thread(target=second)
    try:
        thread.start()
        assert waiting.event.wait(timeout=60), "the second build did not wait for the lock"
        assert thread.is_alive() and not results  # it waits while the first one holds the lock
        out, err = proc.communicate("go\n", timeout=60)  # let the first one finish
        thread.join(timeout=60)
    finally:
        logging.getLogger("qa").removeHandler(waiting)
        proc.kill()
    assert proc.returncode == 0, err
    assert "DONE" in out
    report = results["report"]
    # The first build added both new files it saw, or only danube; the second finishes the rest.
    assert "volga.txt" in report.added or "volga.txt" in report.unchanged  # type: ignore[attr-defined]
    index = load_index(index_dir, HashingEmbedder().name)
    assert [d.id for d in index.documents] == ["alpha.md", "beta.txt", "danube.txt", "volga.txt"]
    assert len(list(index_dir.glob("build-*"))) <= 2
