"""Benchmark: adding one ~50 KB document to an indexed collection of ≥ 1,000 documents
costs about what indexing that document alone costs.

    python benchmarks/incremental.py                 # 1,000 documents, 3 repeats
    python benchmarks/incremental.py --docs 2000 --repeats 5

It writes a deterministic synthetic corpus (small documents of varied sentences) to a
temporary directory, indexes it once with the real packaged model, then measures in the
same run, with the same loaded model:

* (a) adding one ~50 KB document to that index (an incremental ``build_index``), and
* (b) indexing that document alone into an empty index,

each repeated (the document is removed again between repeats of (a), untimed) and reported
as medians, with the ratio (a) / (b). It also reports a no-op run ("index is up to date")
and changing one small document, which show the per-build cost that grows with the
collection (loading the previous build, copying its records and vectors, writing them).
"""

from __future__ import annotations

import argparse
import random
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from qa.embedding.encoder import SentenceTransformerEmbedder
from qa.index.build import BuildReport, build_index

SUBJECTS = ["The river", "The committee", "A survey", "The old harbour", "The northern valley", "Our team",
            "The ministry", "The glacier", "A local farmer", "The railway company", "The museum",
            "The central bank", "The research station", "The village council", "The fishing fleet"]
VERBS = ["recorded", "reported", "doubled", "reduced", "examined", "described", "predicted", "financed",
         "protected", "measured", "questioned", "restored", "expanded", "abandoned", "celebrated"]
OBJECTS = ["the annual flood", "the grain harvest", "the water level", "the coastal road", "the copper trade",
           "the winter migration", "the new bridge", "the population census", "the forest fires",
           "the salt marshes", "the tax on imports", "the school reform", "the mountain pass",
           "the textile mills", "the river delta"]
PLACES = ["in the lowlands", "near the border", "along the coast", "in the capital", "across the plateau",
          "in three provinces", "south of the lake", "on the islands", "in the old town", "upstream"]
CLAUSES = ["after a long debate", "despite heavy rain", "for the first time", "with little warning",
           "as the report had feared", "under pressure from traders", "within two seasons",
           "while prices kept rising", "before the election", "according to local records"]


def sentence(rng: random.Random) -> str:
    year = rng.randint(1850, 2023)
    return (f"{rng.choice(SUBJECTS)} {rng.choice(VERBS)} {rng.choice(OBJECTS)} {rng.choice(PLACES)} "
            f"in {year} {rng.choice(CLAUSES)}.")


def document(rng: random.Random, target_chars: int, title: str) -> str:
    """A Markdown document of about ``target_chars`` characters: headings and paragraphs."""
    parts = [f"# {title}\n"]
    size = len(parts[0])
    section = 0
    while size < target_chars:
        if section == 0 or rng.random() < 0.15:
            section += 1
            heading = f"\n## {section}. {rng.choice(OBJECTS).capitalize()} {rng.choice(PLACES)}\n"
            parts.append(heading)
            size += len(heading)
        paragraph = "\n" + " ".join(sentence(rng) for _ in range(rng.randint(2, 5))) + "\n"
        parts.append(paragraph)
        size += len(paragraph)
    return "".join(parts)


def write_corpus(corpus: Path, docs: int, doc_chars: int, seed: int) -> None:
    rng = random.Random(seed)
    corpus.mkdir(parents=True)
    for i in range(docs):
        (corpus / f"doc-{i:05d}.md").write_text(document(rng, doc_chars, f"Report {i}"), encoding="utf-8")


def timed(corpus: Path, index: Path, embedder: SentenceTransformerEmbedder) -> tuple[float, BuildReport]:
    started = time.perf_counter()
    report = build_index(corpus, index, embedder)
    return time.perf_counter() - started, report


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--docs", type=int, default=1000, help="documents in the collection (default 1000)")
    parser.add_argument("--doc-kb", type=float, default=1.0, help="size of each (default 1 KB)")
    parser.add_argument("--new-kb", type=float, default=50, help="size of the added document (default 50 KB)")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--seed", type=int, default=4)
    parser.add_argument("--workdir", type=Path, help="keep the files here instead of a temporary directory")
    args = parser.parse_args()

    work = args.workdir or Path(tempfile.mkdtemp(prefix="qa-bench-"))
    corpus, index = work / "corpus", work / "index"
    alone_corpus = work / "alone-corpus"
    if corpus.exists() or alone_corpus.exists():
        sys.exit(f"{work} already holds a benchmark; remove it or pick another --workdir")
    write_corpus(corpus, args.docs, int(args.doc_kb * 1000), args.seed)
    new_doc = document(random.Random(args.seed + 1), int(args.new_kb * 1000), "A Long Added Report")
    alone_corpus.mkdir()
    (alone_corpus / "added.md").write_text(new_doc, encoding="utf-8")

    embedder = SentenceTransformerEmbedder()
    embedder.warm_up()
    print(f"collection: {args.docs} documents of ~{args.doc_kb:g} KB in {corpus}")
    seconds, report = timed(corpus, index, embedder)
    print(f"initial build: {seconds:.1f} s  ({report.summary()})", flush=True)

    added, alone, noop, small, ratios = [], [], [], [], []
    rest_added, rest_alone = [], []  # time outside the model: what grows with the collection
    for repeat in range(args.repeats):
        (corpus / "added.md").write_text(new_doc, encoding="utf-8")
        seconds, report = timed(corpus, index, embedder)
        assert report.added == ["added.md"], report.summary()
        added.append(seconds)
        rest_added.append(seconds - report.embed_seconds)
        texts = report.embedded_texts
        (corpus / "added.md").unlink()
        build_index(corpus, index, embedder)  # untimed: back to the collection alone

        alone_index = work / f"alone-index-{repeat}"
        seconds, report = timed(alone_corpus, alone_index, embedder)
        assert report.added == ["added.md"] and report.embedded_texts == texts
        alone.append(seconds)
        rest_alone.append(seconds - report.embed_seconds)
        ratios.append(added[-1] / alone[-1])
        shutil.rmtree(alone_index)

        seconds, report = timed(corpus, index, embedder)
        assert report.up_to_date
        noop.append(seconds)
        small_doc = corpus / "doc-00000.md"
        small_doc.write_text(small_doc.read_text(encoding="utf-8") + f"\nEdited {repeat}.\n", encoding="utf-8")
        seconds, report = timed(corpus, index, embedder)
        assert report.changed == ["doc-00000.md"]
        small.append(seconds)
        print(f"repeat {repeat + 1}: add to collection {added[-1]:.2f} s ({rest_added[-1]:.2f} s outside the "
              f"model), alone {alone[-1]:.2f} s ({rest_alone[-1]:.2f} s outside the model), "
              f"no-op {noop[-1]:.2f} s, one small change {small[-1]:.2f} s", flush=True)

    a, b = statistics.median(added), statistics.median(alone)
    print()
    print(f"added document: {len(new_doc) / 1000:.1f} KB, {texts} texts embedded (sentences + passages)")
    print(f"(a) add it to the {args.docs}-document index: {a:.2f} s (median of {args.repeats})")
    print(f"(b) index it alone into an empty index:     {b:.2f} s (median of {args.repeats})")
    print(f"ratio (a)/(b): {a / b:.2f} (median of the per-repeat ratios: {statistics.median(ratios):.2f})")
    print(f"time outside the model: (a) {statistics.median(rest_added):.2f} s, "
          f"(b) {statistics.median(rest_alone):.2f} s")
    print(f"no-op run (index is up to date): {statistics.median(noop):.2f} s; "
          f"changing one small document: {statistics.median(small):.2f} s")
    print(f"reproduce: python benchmarks/incremental.py --docs {args.docs} --repeats {args.repeats}")
    if not args.workdir:
        shutil.rmtree(work)
    return 0


if __name__ == "__main__":
    sys.exit(main())
