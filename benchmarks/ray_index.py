"""Benchmark: ``qa index --ray`` with 1 and 2 embedding workers against the local build, on the
same few thousand documents, in one run.

    python benchmarks/ray_index.py                     # 2,000 documents (about 15 minutes on 2 cores)
    python benchmarks/ray_index.py --docs 300          # a couple of minutes: to try it
    python benchmarks/ray_index.py --json ray.json

The documents are the opening of Linux kernel documentation pages (Debian's ``linux-doc-6.1``,
installed with apt-get when missing, as ``benchmarks/scale.py`` does): each page read with
qa's HTML reader, its first ``--chars`` characters cut back to a sentence end, written as a
``.txt`` file into a temporary corpus. Nothing of it is committed.

Ray binds to the machine's address even when told 127.0.0.1, so the benchmark re-runs itself
inside a loopback-only network namespace (``unshare -n``, as root) and starts a Ray head there
(``ray start --head --num-cpus 2``, stopped at the end). Then, each in a fresh process and in
turn, ``--repeats`` times: ``qa index --full`` (local: ONNX Runtime with the cores' threads),
``qa index --full --ray ADDRESS --ray-workers 1`` and ``… --ray-workers 2`` (one ONNX thread per
worker), each into its own index. It reports the median wall time of each, texts per second
(sentences + passages embedded, from the manifest, over the wall time) and the ratio to the
local build, and checks that the three builds hold the same records.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from scale import COLLECTIONS, REPO, ensure_package, machine, pages, timed_qa  # noqa: E402

SENTENCE_END = re.compile(r"[.!?](?=\s)")


def make_corpus(corpus: Path, docs: int, chars: int, seed: int) -> dict[str, int]:
    """``docs`` text files, each the opening ``chars`` characters of one documentation page."""
    from qa.sources.readers import read_source

    collection = COLLECTIONS[0]
    ensure_package(collection)
    corpus.mkdir(parents=True)
    made = total = 0
    for page in pages(collection, seed):
        text = read_source(page).text[: chars + 200]
        ends = [m.end() for m in SENTENCE_END.finditer(text) if m.end() <= chars]
        if len(ends) < 3:
            continue
        opening = text[: ends[-1]].strip() + "\n"
        (corpus / f"page-{made:05d}.txt").write_text(opening, encoding="utf-8")
        made += 1
        total += len(opening)
        if made == docs:
            break
    return {"documents": made, "characters": total}


def build(label: str, args: list[str], index: Path, logs: Path) -> dict[str, Any]:
    shutil.rmtree(index, ignore_errors=True)
    wall, rss, out = timed_qa(["index", "--full", "--index", str(index), *args], logs / f"{label}.log")
    build_dir = index / (index / "CURRENT").read_text().strip()
    manifest = json.loads((build_dir / "manifest.json").read_text())
    texts = manifest["counts"]["sentences"] + manifest["counts"]["passages"]
    return {"wall_s": wall, "texts": texts, "rss_mb": rss / 1024, "summary": out.splitlines()[0]}


def same_records(indexes: list[Path]) -> bool:
    """Whether the builds hold the same documents, sentence and passage rows."""
    import numpy as np

    from qa.index.store import load_index

    loaded = [load_index(i, "all-MiniLM-L6-v2") for i in indexes]
    first = loaded[0]
    return all(
        [d.id for d in x.documents] == [d.id for d in first.documents]
        and np.array_equal(x.sentences.start, first.sentences.start)
        and np.array_equal(x.passages.start, first.passages.start)
        and np.allclose(x.sentence_vectors, first.sentence_vectors, atol=1e-4)
        for x in loaded[1:]
    )


def inside(args: argparse.Namespace) -> dict[str, Any]:
    work = Path(tempfile.mkdtemp(prefix="qa-ray-"))
    logs = work / "logs"
    logs.mkdir()
    ray = Path(sys.executable).parent / "ray"
    env = {**os.environ, "RAY_USAGE_STATS_ENABLED": "0"}
    try:
        corpus = work / "corpus"
        collection = make_corpus(corpus, args.docs, args.chars, args.seed)
        port = 6391
        subprocess.run([ray, "start", "--head", "--node-ip-address=127.0.0.1", f"--port={port}", "--num-cpus=2",
                        "--include-dashboard=false", "--disable-usage-stats"], check=True, env=env,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        address = f"127.0.0.1:{port}"
        runs: dict[str, list[dict[str, Any]]] = {"local": [], "ray, 1 worker": [], "ray, 2 workers": []}
        extra = {"local": [], "ray, 1 worker": ["--ray", address, "--ray-workers", "1"],
                 "ray, 2 workers": ["--ray", address, "--ray-workers", "2"]}
        for repeat in range(args.repeats):
            for label in runs:
                index = work / f"index-{repeat}-{label.replace(' ', '').replace(',', '-')}"
                runs[label].append(build(label, ["--corpus", str(corpus), *extra[label]], index, logs))
                print(f"{label}: {runs[label][-1]['wall_s']:.1f} s", file=sys.stderr)
        indexes = sorted(work.glob("index-*"))
        result: dict[str, Any] = {"collection": collection, "repeats": args.repeats, "machine": machine(),
                                  "same_records": same_records(indexes)}
        local = statistics.median(r["wall_s"] for r in runs["local"])
        for label, found in runs.items():
            wall = statistics.median(r["wall_s"] for r in found)
            result[label] = {"wall_s": wall, "texts": found[0]["texts"], "texts_per_s": found[0]["texts"] / wall,
                             "vs_local": local / wall, "walls": [r["wall_s"] for r in found]}
        return result
    finally:
        subprocess.run([ray, "stop", "--force"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        shutil.rmtree(work, ignore_errors=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--docs", type=int, default=2000)
    parser.add_argument("--chars", type=int, default=600, help="characters of each page's opening")
    parser.add_argument("--repeats", type=int, default=1)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    if os.environ.get("QA_RAY_NETNS") != "1":
        script = f'ip link set lo up && exec "{sys.executable}" "{Path(__file__).resolve()}" ' + " ".join(
            f'"{a}"' for a in sys.argv[1:])
        return subprocess.run(["unshare", "-n", "sh", "-c", script], env={**os.environ, "QA_RAY_NETNS": "1"},
                              cwd=REPO).returncode
    result = inside(args)
    print(f"{result['collection']['documents']} documents, {result['collection']['characters']:,} characters; "
          f"median of {args.repeats} run(s), each build in a fresh process")
    print(f"{'build':16} {'wall s':>8} {'texts':>7} {'texts/s':>8} {'× local':>8}")
    for label in ("local", "ray, 1 worker", "ray, 2 workers"):
        r = result[label]
        print(f"{label:16} {r['wall_s']:8.1f} {r['texts']:7d} {r['texts_per_s']:8.1f} {r['vs_local']:8.2f}")
    print(f"same records in all builds: {result['same_records']}")
    print("reproduce: python benchmarks/ray_index.py " + " ".join(sys.argv[1:]))
    if args.json:
        args.json.write_text(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
