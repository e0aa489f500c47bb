"""Benchmark: qa at scale, on ≥ 100,000 passages of real text that a Debian package ships.

    python benchmarks/scale.py                         # 100,000 passages (an hour or more on 2 cores)
    python benchmarks/scale.py --passages 3000         # a few minutes: to try it
    python benchmarks/scale.py --work /tmp/qa-scale --json scale.json

The collection is the Linux kernel documentation as Debian's ``linux-doc-6.1`` ships it
(Sphinx HTML under /usr/share/doc/linux-doc-6.1/html: 3,183 pages, 31.4 MB of text as qa
reads it, 169,286 passages); if more passages are asked for than it holds, Debian's
``python3-doc`` (the Python 3.11 manual: 526 pages, 44,239 passages) is added. Each package is
installed with ``apt-get`` (as root) when its folder is missing. Nothing of it is committed:
the corpus is copied into ``--work`` (a temporary folder by default, removed at the end).

Setup (untimed): the package's pages (search, general index and module index pages, and
``_sources``/``_static``/``_images``, left out) are shuffled with ``--seed`` and copied into
the corpus one by one; each is read and chunked with qa's own reader and chunker, and copying
stops once those passages reach ``--passages``. The next page is kept back for step 5. The
same pass samples the sentences and passages for step 1 and the headings and sentences that
questions are made from (templates such as "What is {heading}?", nothing written about the
content).

Then, in one run, each step in a fresh process with ``QA_BACKEND=onnx`` and FAISS held to
one OpenMP thread:

1. raw batch encode throughput, ``make_embedder("all-MiniLM-L6-v2", "onnx").encode(texts)``
   (what the indexer calls), on ``--encode-texts`` of the collection's sentences, and on a
   quarter as many of its passage texts (title + section + sentences, as the indexer embeds
   them), model loaded and warmed up first; measured before the build and again right after
   it (a machine whose speed drifted shows as two numbers), the ratios of step 2 use the mean;
2. ``qa index --full``: wall time, texts/s ((sentences + passages) / wall, from the manifest),
   its ratio to step 1's sentence rate and to the pure-encode time of the same mix, and the
   build process's peak RSS (``wait4`` rusage);
3. ``QAService(...).load()`` time, after ``embedder.warm_up()`` and with the common-word
   vector cache in place;
4. ``qa serve``: time until ``GET /health`` answers 200, RSS of the server's process tree
   (VmRSS summed over /proc), and p50/p95 of the server-side ``took_ms`` of ``--questions``
   ``POST /ask`` (top_k 5) asked one at a time;
5. one more page copied into the corpus and ``qa index`` (incremental): wall time beside the
   full build's, and how long until the running server reports the new build on /health,
   and whether a question made from the new page is answered from it;
6. ANN recall@10 of the build's ``passages.faiss`` and ``sentences.faiss`` against exact
   inner-product search over the same vectors (200 stored vectors as queries, and the
   benchmark's questions encoded as queries); a flat index is exact (recall 1.0).

It prints a table, the command that reproduces it, and with ``--json FILE`` writes every
number.

``--add-again --work DIR`` measures step 5 again on the collection and index a finished run
left in ``DIR`` (with the code as it is now): the added page is taken out and the index
brought up to date (untimed), then, timed, the page is added back (``qa index``) and indexed
alone into an empty index (``qa index`` on a corpus holding only it), three times each, with
the medians and their ratio, and how the build's search graphs grew.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import re
import shlex
import shutil
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

MODEL = "all-MiniLM-L6-v2"
MARKER = ".qa-scale-work"  # marks a --work folder this benchmark made, so it may wipe it


@dataclass(frozen=True)
class Collection:
    package: str  # what apt-get installs
    root: Path  # the HTML folder it ships
    name: str  # folder inside the corpus


COLLECTIONS = (
    Collection("linux-doc-6.1", Path("/usr/share/doc/linux-doc-6.1/html"), "linux-doc-6.1"),
    Collection("python3-doc", Path("/usr/share/doc/python3.11/html"), "python3.11-doc"),
)
SKIP_DIRS = {"_sources", "_static", "_images", "_downloads"}
SKIP_PAGES = {"genindex.html", "search.html", "py-modindex.html", "genindex-all.html"}

# ---------------------------------------------------------------------------------------------
# code run in fresh processes (faiss held to one thread before the model is touched)

ENCODE_SCRIPT = """
import json, sys, time
from qa.threads import faiss_module
faiss_module()
from qa.embedding.encoder import make_embedder
texts = json.load(open(sys.argv[1], encoding="utf-8"))
t = time.perf_counter()
e = make_embedder("all-MiniLM-L6-v2", "onnx")
e.warm_up()
e.encode(texts["sentences"][:64])  # the indexing network, once, untimed
load = time.perf_counter() - t
out = {"model_load_s": load}
for key in ("sentences", "passages"):
    batch = texts[key]
    t = time.perf_counter()
    vectors = e.encode(batch)
    s = time.perf_counter() - t
    assert vectors.shape[0] == len(batch)
    out[key] = {"texts": len(batch), "seconds": s, "texts_per_s": len(batch) / s,
                "mean_chars": sum(map(len, batch)) / len(batch)}
print(json.dumps(out))
"""

LOAD_SCRIPT = """
import json, sys, time
from pathlib import Path
from qa.threads import faiss_module
faiss_module()
from qa.embedding.encoder import make_embedder
from qa.answer.service import QAService
from qa.index.wordvectors import general_words
e = make_embedder("all-MiniLM-L6-v2", "onnx")
s = QAService(Path(sys.argv[1]), e)
e.warm_up()
general_words(e, e.words_cache())  # the common-word cache exists after this (made once per machine)
t = time.perf_counter()
s.load()
load = time.perf_counter() - t
index = s.loaded.index
print(json.dumps({"load_s": load, "passages": len(index.passages), "sentences": len(index.sentences)}))
"""

RECALL_SCRIPT = """
import json, sys
import numpy as np
from qa.threads import faiss_module
faiss = faiss_module()
build, questions_file = sys.argv[1], sys.argv[2]
k, n_queries, seed = int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
questions = json.load(open(questions_file, encoding="utf-8"))
qvec = None
if questions:
    from qa.embedding.encoder import make_embedder
    e = make_embedder("all-MiniLM-L6-v2", "onnx")
    qvec = np.ascontiguousarray(e.encode_query(questions), dtype=np.float32)
rng = np.random.default_rng(seed)
out = {}
def recall(found, found_scores, truth, truth_scores):
    # the share of the exact top 10 found, and the same counting a result whose score
    # reaches the exact tenth score as found (ties at the tenth place are not misses)
    ids = [len(set(f[f >= 0].tolist()) & set(t[t >= 0].tolist())) / max(1, int((t >= 0).sum()))
           for f, t in zip(found, truth)]
    tied = found_scores >= truth_scores[:, -1:] - 1e-5
    return float(np.mean(ids)), float(np.mean(tied))
search = json.load(open(f"{build}/manifest.json", encoding="utf-8")).get("search", {})
def measure(name):
    xb = np.load(f"{build}/{name}.npy", allow_pickle=False)
    info = {"ntotal": int(len(xb)), **search.get(name, {})}
    if info.get("kind") != "hnsw":
        return {**info, "type": "IndexFlatIP", "exact": True, "recall_stored": 1.0, "recall_questions": 1.0}
    index = faiss.read_index(f"{build}/{name}.faiss")
    index.hnsw.efSearch = int(info["ef_search"])  # as qa.index.ann opens it
    info.update(type=type(faiss.downcast_index(index)).__name__, exact=False)
    exact = faiss.IndexFlatIP(xb.shape[1])
    exact.add(np.ascontiguousarray(xb, dtype=np.float32))
    picks = rng.choice(len(xb), size=min(n_queries, len(xb)), replace=False)
    for label, queries in (("stored", np.ascontiguousarray(xb[picks], dtype=np.float32)), ("questions", qvec)):
        if queries is not None and len(queries):
            truth_scores, truth = exact.search(queries, k)
            found_scores, found = index.search(queries, k)
            info[f"recall_{label}_ids"], info[f"recall_{label}"] = recall(found, found_scores, truth, truth_scores)
    return info
for name in ("passages", "sentences"):
    try:
        out[name] = measure(name)
    except Exception as exc:
        out[name] = {"type": "?", "ntotal": 0, "exact": False, "error": f"{type(exc).__name__}: {exc}"}
print(json.dumps(out))
"""


# ---------------------------------------------------------------------------------------------
# setup: the collection, the corpus, the samples


def ensure_package(collection: Collection) -> None:
    """Install the Debian package when its HTML folder is missing."""
    if collection.root.is_dir():
        return
    if shutil.which("apt-get") is None:
        sys.exit(f"scale.py: {collection.root} is missing and there is no apt-get to install {collection.package}")
    print(f"setup: apt-get install {collection.package} …", file=sys.stderr)
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    cmd = ["apt-get", "install", "-y", "-q", "--no-install-recommends", collection.package]
    if subprocess.run(cmd, env=env, stdout=subprocess.DEVNULL).returncode != 0:
        subprocess.run(["apt-get", "update", "-q"], env=env, stdout=subprocess.DEVNULL, check=True)
        subprocess.run(cmd, env=env, stdout=subprocess.DEVNULL, check=True)
    if not collection.root.is_dir():
        sys.exit(f"scale.py: {collection.package} installed but {collection.root} is missing")


def pages(collection: Collection, seed: int) -> list[Path]:
    """The package's content pages, shuffled deterministically."""
    found = sorted(
        p for p in collection.root.rglob("*.html")
        if p.is_file() and p.name not in SKIP_PAGES
        and not SKIP_DIRS.intersection(p.relative_to(collection.root).parts)
    )
    random.Random(f"{seed}:{collection.name}").shuffle(found)
    return found


class Reservoir:
    """A fixed-size uniform random sample of a stream (deterministic with its own seed)."""

    def __init__(self, size: int, rng: random.Random) -> None:
        self.size, self.rng, self.items, self.seen = size, rng, [], 0

    def add(self, item: Any) -> None:
        self.seen += 1
        if len(self.items) < self.size:
            self.items.append(item)
        else:
            j = self.rng.randrange(self.seen)
            if j < self.size:
                self.items[j] = item


@dataclass
class Corpus:
    files: int = 0
    source_bytes: int = 0
    text_chars: int = 0
    passages: int = 0  # qa's chunker on each copied page, before indexing
    sentences: int = 0
    packages: list[str] = field(default_factory=list)
    extra: tuple[Path, str, list[str]] | None = None  # the page kept back: source, doc id, its sentences
    seconds: float = 0.0


HEADING_NUMBER = re.compile(r"^[\d.\s]+(?=\D)|[\s¶#:]+$")


def question_material(document: Any, chunked: Any) -> tuple[list[str], list[str]]:
    """Headings and body sentences of one document usable in questions."""
    from qa.chunking.passages import BODY

    headings = []
    for section in dict.fromkeys(s.section for s in chunked.sentences if s.section):
        h = HEADING_NUMBER.sub("", " ".join(section.split())).strip()
        if 2 <= len(h.split()) <= 10 and 8 <= len(h) <= 90 and re.search(r"[A-Za-z]{3}", h):
            headings.append(h)
    sentences = []
    for s in chunked.sentences:
        text = " ".join(document.text[s.start:s.end].split())
        if s.role == BODY and 8 <= len(text.split()) <= 30 and text.endswith(".") and re.match(r"[A-Z]", text):
            sentences.append(text)
    return headings, sentences


def build_corpus(corpus: Path, target: int, seed: int, n_encode: int) -> tuple[Corpus, dict[str, list[str]], list[str]]:
    """Copy pages until qa's chunker counts ``target`` passages; sample texts and question material."""
    from qa.chunking.passages import ChunkingParams, chunk_document
    from qa.errors import UnreadableDocumentError
    from qa.index.build import passage_text
    from qa.sources.scan import SourceFile, read_document

    started = time.perf_counter()
    params = ChunkingParams()
    rng = random.Random(seed)
    sent_sample = Reservoir(n_encode, random.Random(seed + 1))
    pass_sample = Reservoir(max(1, n_encode // 4), random.Random(seed + 2))
    heading_pool = Reservoir(2000, random.Random(seed + 3))
    sentence_pool = Reservoir(2000, random.Random(seed + 4))
    info = Corpus()
    last_report = 0
    for collection in COLLECTIONS:
        if info.passages >= target and info.extra is not None:
            break
        ensure_package(collection)
        info.packages.append(collection.package)
        for path in pages(collection, seed):
            rel = Path(collection.name) / path.relative_to(collection.root)
            size = path.stat().st_size
            try:
                document, _ = read_document(SourceFile(rel.as_posix(), path, "-", size), {})
            except UnreadableDocumentError:
                continue
            chunked = chunk_document(document, params)
            if not chunked.passages:
                continue
            headings, sentences = question_material(document, chunked)
            if info.passages >= target:  # the corpus is complete: this page is the one to add in step 5
                if sentences:
                    info.extra = (path, rel.as_posix(), sentences)
                    break
                continue
            dest = corpus / rel
            dest.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, dest)
            info.files += 1
            info.source_bytes += size
            info.text_chars += len(document.text)
            info.passages += len(chunked.passages)
            info.sentences += len(chunked.sentences)
            text = document.text
            for s in chunked.sentences:
                sent_sample.add(text[s.start:s.end])
            for p in chunked.passages:
                pass_sample.add(passage_text(text[p.start:p.end], p.section, document.meta.title))
            for h in headings:
                heading_pool.add(h)
            for s in sentences:
                sentence_pool.add(s)
            if info.passages - last_report >= 10000:
                last_report = info.passages
                print(f"setup: {info.files} pages, {info.passages} passages …", file=sys.stderr)
        if info.passages >= target and info.extra is not None:
            break
    if info.passages < target:
        print(f"setup: the collections hold only {info.passages} passages (asked for {target})", file=sys.stderr)
    info.seconds = time.perf_counter() - started
    texts = {"sentences": sent_sample.items, "passages": pass_sample.items}
    return info, texts, make_questions(heading_pool.items, sentence_pool.items, rng)


HEADING_TEMPLATES = ("What is {}?", "How does {} work?", "What does the documentation say about {}?",
                     "How do I use {}?", "Why is {} needed?")


def make_questions(headings: list[str], sentences: list[str], rng: random.Random, n: int = 1000) -> list[str]:
    """Generic questions: about two thirds from headings through templates, the rest from
    sentences turned into a yes/no question. Deterministic given ``rng``."""
    headings = sorted(set(headings))
    sentences = sorted(set(sentences))
    rng.shuffle(headings)
    rng.shuffle(sentences)
    out: list[str] = []
    while len(out) < n and (headings or sentences):
        if headings and (rng.random() < 0.67 or not sentences):
            out.append(rng.choice(HEADING_TEMPLATES).format(headings.pop()))
        elif sentences:
            s = sentences.pop().rstrip(".")
            out.append(f"Is it true that {s[0].lower() + s[1:]}?")
    return out


def sentence_question(sentence: str) -> str:
    s = sentence.rstrip(".")
    return f"Is it true that {s[0].lower() + s[1:]}?"


# ---------------------------------------------------------------------------------------------
# processes


def child_env() -> dict[str, str]:
    env = dict(os.environ)
    env["QA_BACKEND"] = "onnx"
    env["PYTHONPATH"] = os.pathsep.join([str(REPO), *filter(None, [env.get("PYTHONPATH")])])
    env.pop("QA_CORPUS_DIR", None)
    env.pop("QA_INDEX_DIR", None)
    if ANN_THRESHOLD is not None:
        env["QA_ANN_THRESHOLD"] = str(ANN_THRESHOLD)
    return env


ANN_THRESHOLD: int | None = None  # --ann-threshold, for every qa child process


def run_python(code: str, *args: str) -> dict[str, Any]:
    """Run ``code`` in a fresh interpreter; its last stdout line is JSON."""
    proc = subprocess.run([sys.executable, "-c", code, *args], env=child_env(), cwd=REPO,
                          capture_output=True, text=True)
    if proc.returncode != 0:
        sys.exit(f"scale.py: a measuring process failed:\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def timed_qa(args: list[str], log: Path) -> tuple[float, int, str]:
    """Run ``qa ARGS`` in a fresh process: wall seconds, peak RSS in KiB, stdout."""
    with log.open("w") as err:
        started = time.perf_counter()
        proc = subprocess.Popen([sys.executable, "-m", "qa.cli", *args], env=child_env(), cwd=REPO,
                                stdout=subprocess.PIPE, stderr=err, text=True)
        out = proc.stdout.read() if proc.stdout else ""
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - started
        proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        sys.exit(f"scale.py: qa {' '.join(args)} exited {proc.returncode}:\n{log.read_text()[-3000:]}")
    return wall, int(usage.ru_maxrss), out.strip()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def get_json(url: str, timeout: float = 5) -> tuple[int, dict[str, Any]]:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as exc:
        return exc.code, {}
    except (urllib.error.URLError, ConnectionError, TimeoutError, OSError):
        return 0, {}


def post_json(url: str, body: dict[str, Any], timeout: float = 60) -> tuple[int, dict[str, Any]]:
    request = urllib.request.Request(url, data=json.dumps(body).encode(), method="POST",
                                     headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as exc:
        return exc.code, {}


def tree_kib(pid: int, key: str = "VmRSS") -> int:
    """``key`` (VmRSS or VmHWM) in KiB summed over ``pid`` and all its descendants."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(ppid, []).append(int(entry.name))
    total, todo = 0, [pid]
    while todo:
        p = todo.pop()
        todo += children.get(p, [])
        try:
            for line in Path(f"/proc/{p}/status").read_text().splitlines():
                if line.startswith(key + ":"):
                    total += int(line.split()[1])
        except OSError:
            pass
    return total


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))]


def current_build(index: Path) -> Path:
    return index / (index / "CURRENT").read_text(encoding="utf-8").strip()


# ---------------------------------------------------------------------------------------------


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--passages", type=int, default=100_000,
                        help="stop copying pages once qa's chunker counts this many passages (default 100000)")
    parser.add_argument("--work", type=Path, help="folder for the corpus and index (default: a temporary one, removed)")
    parser.add_argument("--questions", type=int, default=100, help="questions asked of the server (default 100)")
    parser.add_argument("--encode-texts", type=int, default=2000,
                        help="sentences for the raw encode rate (default 2000)")
    parser.add_argument("--recall-queries", type=int, default=200,
                        help="stored vectors used as ANN queries (default 200)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--ann-threshold", type=int, default=None,
                        help="build approximate search indexes from this many vectors on (default: qa's own "
                             "threshold); lets a smaller run measure the approximate path")
    parser.add_argument("--json", type=Path, help="also write every number to this JSON file")
    parser.add_argument("--add-again", action="store_true",
                        help="only measure adding one page again, on the run left in --work (see above)")
    parser.add_argument("--repeats", type=int, default=3, help="repeats of --add-again (default 3)")
    args = parser.parse_args()
    if args.add_again:
        return add_again(args)
    global ANN_THRESHOLD
    ANN_THRESHOLD = args.ann_threshold

    command = ["benchmarks/scale.py", "--passages", str(args.passages), "--questions", str(args.questions),
               "--encode-texts", str(args.encode_texts), "--recall-queries", str(args.recall_queries),
               "--seed", str(args.seed)] + (["--ann-threshold", str(args.ann_threshold)] if args.ann_threshold else [])
    reproduce = f"cd {shlex.quote(str(REPO))} && PYTHONPATH=. {shlex.quote(sys.executable)} {shlex.join(command)}"

    if args.work is None:
        work, temporary = Path(tempfile.mkdtemp(prefix="qa-scale-")), True
    else:
        work, temporary = args.work.resolve(), False
        if work.exists() and any(work.iterdir()) and not (work / MARKER).exists():
            sys.exit(f"scale.py: {work} is not empty and was not made by this benchmark; give an empty or new folder")
        for sub in ("corpus", "index", "logs"):
            shutil.rmtree(work / sub, ignore_errors=True)
    work.mkdir(parents=True, exist_ok=True)
    (work / MARKER).touch()
    corpus, index, logs = work / "corpus", work / "index", work / "logs"
    corpus.mkdir()
    logs.mkdir()
    results: dict[str, Any] = {"command": reproduce, "args": {k: str(v) for k, v in vars(args).items()}}
    server: subprocess.Popen[bytes] | None = None
    try:
        results.update(run(args, work, corpus, index, logs, results))
        if not temporary:  # what --add-again reads
            (work / "results.json").write_text(json.dumps({k: v for k, v in results.items() if k != "_server"},
                                                          indent=2, default=str) + "\n", encoding="utf-8")
    finally:
        server = results.pop("_server", None)
        if server is not None and server.poll() is None:
            server.terminate()
            try:
                server.wait(timeout=30)
            except subprocess.TimeoutExpired:
                server.kill()
        if temporary:
            shutil.rmtree(work, ignore_errors=True)
    report(results)
    if args.json:
        args.json.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
        print(f"wrote {args.json}")
    return 0


def run(args: argparse.Namespace, work: Path, corpus: Path, index: Path, logs: Path,
        results: dict[str, Any]) -> dict[str, Any]:
    r: dict[str, Any] = {"machine": machine()}

    # setup -------------------------------------------------------------------------------
    info, texts, questions = build_corpus(corpus, args.passages, args.seed, args.encode_texts)
    if info.extra is None:
        sys.exit("scale.py: no page left over to add in step 5; ask for fewer passages")
    questions = questions[: args.questions]
    r["corpus"] = {"packages": info.packages, "files": info.files, "source_mb": info.source_bytes / 1e6,
                   "text_mb": info.text_chars / 1e6, "estimated_passages": info.passages,
                   "estimated_sentences": info.sentences, "setup_s": info.seconds}
    print(f"setup: {info.files} pages ({info.text_chars / 1e6:.1f} MB of text), {info.passages} passages by "
          f"qa's chunker, in {info.seconds:.0f} s", file=sys.stderr)
    (work / "encode-texts.json").write_text(json.dumps(texts), encoding="utf-8")
    (work / "questions.json").write_text(json.dumps(questions), encoding="utf-8")

    # 1. raw encode -----------------------------------------------------------------------
    print("1/6 raw encode …", file=sys.stderr)
    r["encode"] = run_python(ENCODE_SCRIPT, str(work / "encode-texts.json"))

    # 2. full build -----------------------------------------------------------------------
    print("2/6 qa index --full …", file=sys.stderr)
    wall, rss, out = timed_qa(["index", "--corpus", str(corpus), "--index", str(index), "--full"],
                              logs / "index-full.log")
    build = current_build(index)
    counts = json.loads((build / "manifest.json").read_text(encoding="utf-8"))["counts"]
    with sqlite3.connect(f"file:{build / 'records.sqlite'}?mode=ro", uri=True) as db:
        words = db.execute("SELECT count(*) FROM words").fetchone()[0]
    # the raw rate again right after the build: a machine whose speed drifted shows as two numbers
    print("1/6 raw encode, again after the build …", file=sys.stderr)
    r["encode_after"] = run_python(ENCODE_SCRIPT, str(work / "encode-texts.json"))
    texts_n = counts["sentences"] + counts["passages"]
    rate_s, rate_p = (statistics.mean(r[k][key]["texts_per_s"] for k in ("encode", "encode_after"))
                      for key in ("sentences", "passages"))
    pure = counts["sentences"] / rate_s + counts["passages"] / rate_p  # encode-only time of this mix
    r["build"] = {"wall_s": wall, "peak_rss_mb": rss / 1024, "counts": counts, "words": words,
                  "texts_per_s": texts_n / wall, "ratio_to_sentence_encode": texts_n / wall / rate_s,
                  "pure_encode_s": pure, "ratio_to_mix_encode": pure / wall,
                  "index_mb": sum(f.stat().st_size for f in build.rglob("*") if f.is_file()) / 1e6, "summary": out}

    # 3. load -----------------------------------------------------------------------------
    print("3/6 index load …", file=sys.stderr)
    r["load"] = run_python(LOAD_SCRIPT, str(index))

    # 6. recall (before the server, on the full build) -------------------------------------
    print("6/6 ANN recall@10 …", file=sys.stderr)
    r["recall"] = run_python(RECALL_SCRIPT, str(build), str(work / "questions.json"), "10",
                             str(args.recall_queries), str(args.seed))

    # 4. server ---------------------------------------------------------------------------
    print(f"4/6 qa serve, {len(questions)} questions …", file=sys.stderr)
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    started = time.perf_counter()
    server_log = (logs / "serve.log").open("w")
    server = subprocess.Popen([sys.executable, "-m", "qa.cli", "serve", "--corpus", str(corpus), "--index",
                               str(index), "--port", str(port)], env=child_env(), cwd=REPO,
                              stdout=server_log, stderr=subprocess.STDOUT)
    results["_server"] = server
    health: dict[str, Any] = {}
    while True:
        if server.poll() is not None:
            sys.exit(f"scale.py: qa serve exited {server.returncode}:\n{(logs / 'serve.log').read_text()[-3000:]}")
        status, health = get_json(url + "/health", timeout=2)
        if status == 200:
            break
        if time.perf_counter() - started > 1800:
            sys.exit("scale.py: qa serve not ready after 30 minutes")
        time.sleep(0.1)
    ready = time.perf_counter() - started
    rss_ready = tree_kib(server.pid)
    took, rtt, answered, failed = [], [], 0, 0
    for q in questions:
        t = time.perf_counter()
        status, body = post_json(url + "/ask", {"question": q, "top_k": 5})
        if status != 200:
            failed += 1
            continue
        rtt.append((time.perf_counter() - t) * 1000)
        took.append(float(body["took_ms"]))
        answered += not body.get("no_answer", False)
    if not took:
        sys.exit("scale.py: every /ask failed")
    r["serve"] = {"ready_s": ready, "rss_ready_mb": rss_ready / 1024, "rss_after_mb": tree_kib(server.pid) / 1024,
                  "peak_rss_mb": tree_kib(server.pid, "VmHWM") / 1024, "questions": len(questions),
                  "failed": failed, "answered": answered,
                  "took_ms_p50": pct(took, 0.5), "took_ms_p95": pct(took, 0.95), "took_ms_max": max(took),
                  "rtt_ms_p50": pct(rtt, 0.5), "rtt_ms_p95": pct(rtt, 0.95),
                  "health": {k: health.get(k) for k in ("documents", "passages", "sentences", "index")}}

    # 5. one more document ----------------------------------------------------------------
    print("5/6 adding one page …", file=sys.stderr)
    source, doc_id, sentences = info.extra
    dest = corpus / doc_id
    dest.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(source, dest)
    before = health.get("index")
    wall_add, rss_add, out_add = timed_qa(["index", "--corpus", str(corpus), "--index", str(index)],
                                         logs / "index-add.log")
    done = time.perf_counter()
    after = current_build(index).name
    picked = None
    while time.perf_counter() - done < 600:
        status, h = get_json(url + "/health", timeout=5)
        if status == 200 and h.get("index") == after and h.get("index") != before:
            picked = time.perf_counter() - done
            break
        time.sleep(0.1)
    question = sentence_question(random.Random(args.seed).choice(sentences))
    status, body = post_json(url + "/ask", {"question": question, "top_k": 5})
    found = [a["source"]["document"] for a in body.get("answers", [])] if status == 200 else []
    r["add"] = {"document": doc_id, "bytes": source.stat().st_size, "wall_s": wall_add,
                "ratio_to_full": wall_add / wall, "peak_rss_mb": rss_add / 1024, "summary": out_add,
                "server_picked_up_s": picked, "question": question,
                "answered_from_new": doc_id in found,
                "rank_of_new": found.index(doc_id) + 1 if doc_id in found else None}
    r["machine"]["load_average_end"] = os.getloadavg()
    return r


def add_again(args: argparse.Namespace) -> int:
    """``--add-again``: adding the run's extra page to its index against indexing it alone."""
    if args.work is None or not (args.work / MARKER).exists():
        sys.exit("scale.py: --add-again needs --work DIR of a finished run")
    work = args.work.resolve()
    corpus, index, logs = work / "corpus", work / "index", work / "logs"
    summary = json.loads((work / "results.json").read_text(encoding="utf-8"))
    doc_id = summary["add"]["document"]
    page, kept = corpus / doc_id, work / "extra-page"
    if page.exists():
        shutil.copyfile(page, kept)
    if not kept.exists():
        sys.exit(f"scale.py: neither {page} nor {kept} exists")
    alone_dir = work / "alone"
    added, alone, graphs = [], [], []
    for i in range(args.repeats):
        page.unlink(missing_ok=True)
        timed_qa(["index", "--corpus", str(corpus), "--index", str(index)], logs / "again-remove.log")
        shutil.copyfile(kept, page)
        print(f"add {i + 1}/{args.repeats} …", file=sys.stderr)
        wall, _, _ = timed_qa(["index", "--corpus", str(corpus), "--index", str(index)], logs / "again-add.log")
        added.append(wall)
        graphs.append(json.loads((current_build(index) / "manifest.json").read_text(encoding="utf-8"))["search"])
        shutil.rmtree(alone_dir, ignore_errors=True)
        (alone_dir / "corpus" / doc_id).parent.mkdir(parents=True)
        shutil.copyfile(kept, alone_dir / "corpus" / doc_id)
        wall, _, _ = timed_qa(["index", "--corpus", str(alone_dir / "corpus"), "--index", str(alone_dir / "index")],
                              logs / "again-alone.log")
        alone.append(wall)
    shutil.rmtree(alone_dir, ignore_errors=True)
    result = {"document": doc_id, "add_s": added, "alone_s": alone, "add_median_s": statistics.median(added),
              "alone_median_s": statistics.median(alone),
              "ratio": statistics.median(added) / statistics.median(alone), "search": graphs[-1],
              "command": f"cd {shlex.quote(str(REPO))} && {shlex.quote(sys.executable)} benchmarks/scale.py "
                         f"--add-again --work {shlex.quote(str(work))} --repeats {args.repeats}"}
    print(json.dumps(result, indent=2))
    if args.json:
        args.json.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    return 0


def machine() -> dict[str, Any]:
    cpu = ""
    try:
        cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                    if line.startswith("model name")), "")
    except OSError:
        pass
    return {"cpus": os.cpu_count(), "cpu": cpu, "python": platform.python_version(),
            "memory_gb": os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30,
            "load_average_start": os.getloadavg()}


def report(r: dict[str, Any]) -> None:
    if "build" not in r:
        return
    c, e, b, ld, s, a, rc = (r.get(k, {}) for k in ("corpus", "encode", "build", "load", "serve", "add", "recall"))
    counts = b["counts"]
    rows: list[tuple[str, str]] = [
        ("collection", f"{' + '.join(c['packages'])}: {c['files']:,} HTML pages, {c['source_mb']:.1f} MB, "
                       f"{c['text_mb']:.1f} MB of text"),
        ("indexed", f"{counts['documents']:,} documents, {counts['passages']:,} passages, "
                    f"{counts['sentences']:,} sentences, {b['words']:,} words (chunker estimate "
                    f"{c['estimated_passages']:,} passages)"),
        *[(f"1. raw encode, {key}", f"{e[key]['texts_per_s']:.1f} texts/s before the build, "
                                    f"{r['encode_after'][key]['texts_per_s']:.1f} after ({e[key]['texts']} texts, "
                                    f"mean {e[key]['mean_chars']:.0f} chars)") for key in ("sentences", "passages")],
        ("2. qa index --full", f"{b['wall_s']:.1f} s, {b['texts_per_s']:.1f} texts/s, "
                               f"peak RSS {b['peak_rss_mb']:.0f} MB, index {b['index_mb']:.0f} MB"),
        ("2. build / raw sentence encode (mean of both)", f"{b['ratio_to_sentence_encode']:.2f}"),
        ("2. pure encode of the same mix / build", f"{b['ratio_to_mix_encode']:.2f} "
                                                 f"({b['pure_encode_s']:.1f} s of {b['wall_s']:.1f} s)"),
        ("3. QAService.load()", f"{ld['load_s']:.2f} s"),
        ("4. qa serve ready", f"{s['ready_s']:.1f} s; RSS {s['rss_ready_mb']:.0f} MB ready, "
                              f"{s['rss_after_mb']:.0f} MB after questions (peak {s['peak_rss_mb']:.0f} MB)"),
        ("4. /ask took_ms", f"p50 {s['took_ms_p50']:.1f}, p95 {s['took_ms_p95']:.1f}, max {s['took_ms_max']:.1f} "
                            f"({s['questions'] - s['failed']} of {s['questions']} ok, {s['answered']} answered; "
                            f"round trip p50 {s['rtt_ms_p50']:.1f})"),
        ("5. qa index, one page added", f"{a['wall_s']:.1f} s vs {b['wall_s']:.1f} s full "
                                        f"({a['ratio_to_full']:.3f}); peak RSS {a['peak_rss_mb']:.0f} MB"),
        ("5. server picked it up", (f"{a['server_picked_up_s']:.1f} s after the build" if a['server_picked_up_s']
                                    is not None else "NOT within 600 s") + "; a question from it answered from it: "
                                   + (f"yes, rank {a['rank_of_new']}" if a["answered_from_new"] else "no")),
    ]
    for name in ("passages", "sentences"):
        x = rc[name]
        if "error" in x:
            rows.append((f"6. recall@10, {name}.faiss", f"not measured ({x['error']})"))
        elif x["exact"]:
            rows.append((f"6. recall@10, {name}.faiss", f"1.0 (exact: {x['type']}, {x['ntotal']:,} vectors)"))
        else:
            params = ", ".join(f"{k} {x[k]}" for k in ("links", "ef_search") if k in x)
            q = (f", questions {x['recall_questions']:.3f} ({x['recall_questions_ids']:.3f} by id)"
                 if "recall_questions" in x else "")
            rows.append((f"6. recall@10 (ties count), {name}.faiss",
                         f"stored vectors {x['recall_stored']:.3f}{q} ({x['type']}{', ' + params if params else ''}, "
                         f"{x['ntotal']:,} vectors)"))
    m = r["machine"]
    print()
    loads = " → ".join(f"{m[k][0]:.2f}" for k in ("load_average_start", "load_average_end") if k in m)
    print(f"qa at scale — {m['cpus']} CPUs ({m['cpu']}), {m['memory_gb']:.0f} GiB, Python {m['python']}; "
          f"load average {loads}")
    width = max(len(k) for k, _ in rows)
    print(f"| {'measure'.ljust(width)} | result |")
    print(f"|{'-' * (width + 2)}|--------|")
    for k, v in rows:
        print(f"| {k.ljust(width)} | {v} |")
    print()
    print("reproduce:")
    print("  " + r["command"])


if __name__ == "__main__":
    sys.exit(main())
