"""The Ray cluster tests (tests/cluster/) against a real Ray head on 127.0.0.1.

Ray binds its processes to the machine's interface address even when told 127.0.0.1, so
the cluster tests run in a private network namespace whose only interface is loopback
(``unshare -n``, as root): the head, the builds, the replicas and the HTTP requests all stay
on 127.0.0.1 there.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from qa import cli

TESTS = Path(__file__).resolve().parent


@pytest.mark.model
def test_the_cluster_tests_pass_on_a_real_ray_cluster() -> None:
    script = f'ip link set lo up && exec "{sys.executable}" -m pytest -q -p no:cacheprovider "{TESTS / "cluster"}"'
    env = {**os.environ, "QA_RAY_NETNS": "1", "RAY_USAGE_STATS_ENABLED": "0"}
    out = subprocess.run(["unshare", "-n", "sh", "-c", script], capture_output=True, text=True, env=env,
                         timeout=1800, cwd=TESTS.parent)
    print(out.stdout[-4000:], out.stderr[-2000:])
    assert out.returncode == 0, out.stdout[-6000:] + out.stderr[-3000:]
    assert "4 passed" in out.stdout


def test_ray_options_without_ray_say_how_to_install_it(monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
                                                       capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setitem(sys.modules, "ray", None)  # import ray → ImportError
    monkeypatch.setattr(cli, "_embedder", lambda settings: None)
    code = cli.main(["index", "--corpus", str(tmp_path), "--index", str(tmp_path / "ix"), "--ray", "auto"])
    assert code == 1
    assert "pip install 'qa[ray]'" in capsys.readouterr().err
