"""Build or update the index: sources → chunks → vectors → a new build on disk.

Incremental by default: a document whose content hash is unchanged keeps its records and
vectors from the live build (it is not read or chunked again), new and changed ones are
read and embedded, and deleted ones are dropped. A different model, chunking or index
format forces a full rebuild. When nothing changed, no build is written.

Bad files never stop a build: each is skipped with its reason (recorded in the manifest).
A file that was indexed before and has become unreadable keeps its last indexed version.
Builds run one at a time under the index's lock; what a killed build left behind is
removed by the next one.
"""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from tqdm import tqdm

from qa.chunking import ChunkingParams, chunk_document
from qa.corpus import SourceFile, read_document, scan_corpus
from qa.embedding import Embedder
from qa.entities import LABEL_CODES, EntityTagger, SpacyTagger
from qa.errors import IndexCorruptError, IndexMismatchError, IndexMissingError, UnreadableDocumentError
from qa.metadata import document_meta, load_metadata
from qa.readers import SourceText
from qa.records import Chunked, Document
from qa.store import (
    BuildWriter,
    Manifest,
    StoredIndex,
    build_lock,
    load_index,
    remove_leftovers,
    vectors_of,
)
from qa.wordvectors import content_words

EMBED_CHUNK = 128  # texts per encode call: a question waiting for the model waits at most one chunk
KEPT = "kept the previously indexed version"


@dataclass
class BuildReport:
    """What a build did, for the CLI summary and the API."""

    added: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    retitled: list[str] = field(default_factory=list)  # unchanged text, new citation metadata
    skipped: dict[str, str] = field(default_factory=dict)
    full_reason: str | None = None
    up_to_date: bool = False
    build: str | None = None
    cleaned: list[str] = field(default_factory=list)  # leftovers of killed builds removed
    seconds: float = 0.0
    embed_seconds: float = 0.0  # of ``seconds``, the time spent in the model
    documents: int = 0
    sentences: int = 0
    passages: int = 0
    embedded_texts: int = 0

    def summary(self) -> str:
        """One line: ``3 documents, …: 1 added, 0 changed, … in 4.2 s``."""
        if self.up_to_date:
            return (
                f"index is up to date: {self.documents} documents, {len(self.skipped)} skipped "
                f"({self.seconds:.1f} s)"
            )
        mode = f" (full rebuild: {self.full_reason})" if self.full_reason else ""
        meta = f", {len(self.retitled)} metadata updated" if self.retitled else ""
        return (
            f"{self.documents} documents, {self.passages} passages, {self.sentences} sentences: "
            f"{len(self.added)} added, {len(self.changed)} changed, {len(self.removed)} removed, "
            f"{len(self.unchanged)} unchanged, {len(self.skipped)} skipped{meta} "
            f"in {self.seconds:.1f} s{mode}"
        )

    def as_dict(self) -> dict[str, Any]:
        """The report as JSON-able data."""
        return dict(self.__dict__)


@dataclass
class _Entry:
    """One document of the new build and where its vectors come from."""

    document: Document
    source_hints: dict[str, Any]  # what the file itself says: title, authors, date
    chunked: Chunked | None = None  # set when (re)embedded
    reused_row: int | None = None  # row in the previous build when reused


def build_index(
    corpus_dir: Path,
    index_dir: Path,
    embedder: Embedder,
    params: ChunkingParams | None = None,
    full: bool = False,
    wait: bool = True,
    progress: bool = False,
    tagger: EntityTagger | None = None,
) -> BuildReport:
    """Index ``corpus_dir`` into ``index_dir`` and make the result live.

    With ``wait`` a second build waits for a running one; otherwise it raises
    ``IndexBusyError``. ``progress`` prints embedding progress to stderr. ``tagger``
    finds the entities of new sentences (spaCy's English model by default).
    """
    params = params or ChunkingParams()
    tagger = tagger or SpacyTagger()
    started = time.perf_counter()
    report = BuildReport()
    with build_lock(index_dir, wait=wait):
        report.cleaned = remove_leftovers(index_dir)
        sources, report.skipped = scan_corpus(corpus_dir)
        metadata = load_metadata(corpus_dir)
        previous, report.full_reason = _previous_build(index_dir, embedder, tagger, params, full)
        entries = _plan(sources, metadata, previous, params, report)
        if previous is not None and _nothing_changed(report, previous):
            report.up_to_date = True
            report.build = previous.path.name
            report.documents = len(entries)
        else:
            embed_started = time.perf_counter()
            dimension, fresh = _embed(entries, embedder, previous, progress)
            report.embedded_texts = sum(len(v) for v in fresh.values())
            entities = _tag(entries, tagger)
            words = _vocabulary(entries, previous, embedder, dimension)
            report.embed_seconds = time.perf_counter() - embed_started
            writer = BuildWriter(index_dir)
            try:
                _write(writer, entries, previous, fresh, entities, words, (embedder.name, tagger.name, dimension),
                       params, report)
            except BaseException:
                writer.abort()
                raise
            report.build = writer.name
    report.seconds = time.perf_counter() - started
    return report


def _previous_build(
    index_dir: Path, embedder: Embedder, tagger: EntityTagger, params: ChunkingParams, full: bool
) -> tuple[StoredIndex | None, str | None]:
    """The live build to reuse vectors from, or None with the reason for a full rebuild."""
    if full:
        return None, "--full"
    try:
        previous = load_index(index_dir, embedder.name)
    except IndexMissingError:
        return None, None
    except (IndexMismatchError, IndexCorruptError) as exc:
        return None, exc.problem()
    if previous.manifest.chunking != params.as_dict():
        return None, "chunking parameters changed"
    if previous.manifest.tagger != tagger.name:
        return None, "entity tagger changed"
    return previous, None


def _plan(
    sources: list[SourceFile],
    metadata: dict[str, dict[str, Any]],
    previous: StoredIndex | None,
    params: ChunkingParams,
    report: BuildReport,
) -> list[_Entry]:
    """Decide, per source, whether to reuse, (re)read or skip it; fills ``report``."""
    old_docs = {doc.id: (row, doc) for row, doc in enumerate(previous.documents)} if previous else {}
    old_info = previous.manifest.documents if previous else {}
    entries: list[_Entry] = []
    for source in _distinct(sources, old_docs, report.skipped):
        old = old_docs.get(source.id)
        if old and old[1].sha256 == source.sha256:
            entries.append(_reuse(old, old_info.get(source.id, {}), metadata.get(source.id, {}), report))
            report.unchanged.append(source.id)
            continue
        entry = _read(source, metadata, params, report)
        if entry is not None:
            entries.append(entry)
            (report.changed if old else report.added).append(source.id)
    # Previously indexed files that cannot be read now keep their indexed version.
    kept_ids = {e.document.id for e in entries}
    for doc_id, reason in list(report.skipped.items()):
        if doc_id in old_docs and doc_id not in kept_ids and not reason.startswith("same content as"):
            old = old_docs[doc_id]
            entries.append(_reuse(old, old_info.get(doc_id, {}), metadata.get(doc_id, {}), report))
            report.skipped[doc_id] = f"{reason}; {KEPT}"
    entries.sort(key=lambda e: e.document.id)
    kept_ids = {e.document.id for e in entries}
    report.removed = [doc_id for doc_id in old_docs if doc_id not in kept_ids]
    return entries


def _distinct(sources: list[SourceFile], old_docs: dict[str, tuple[int, Document]],
              skipped: dict[str, str]) -> list[SourceFile]:
    """One source per content hash; the others are skipped as duplicates.

    The copy that is already indexed with that content is kept, else the first by name.
    """
    by_hash: dict[str, list[SourceFile]] = {}
    for source in sources:
        by_hash.setdefault(source.sha256, []).append(source)
    keep: list[SourceFile] = []
    for group in by_hash.values():
        indexed = [s for s in group if s.id in old_docs and old_docs[s.id][1].sha256 == s.sha256]
        chosen = (indexed or group)[0]
        keep.append(chosen)
        for other in group:
            if other is not chosen:
                skipped[other.id] = f"same content as {chosen.id}"
    return sorted(keep, key=lambda s: s.id)


def _reuse(old: tuple[int, Document], info: dict[str, Any], entry: dict[str, Any], report: BuildReport) -> _Entry:
    """An unchanged document with its citation metadata brought up to date."""
    row, doc = old
    hints = info.get("source", {})
    file_says = SourceText(text="", title=hints.get("title"), authors=tuple(hints.get("authors", ())),
                           date=hints.get("date"))
    meta = document_meta(doc.id, file_says, entry)
    if meta != doc.meta:
        report.retitled.append(doc.id)
        doc = Document(doc.id, doc.text, meta, doc.sha256, doc.page_starts)
    return _Entry(doc, hints, reused_row=row)


def _read(source: SourceFile, metadata: dict, params: ChunkingParams, report: BuildReport) -> _Entry | None:
    try:
        document, read = read_document(source, metadata)
    except UnreadableDocumentError as exc:
        report.skipped[source.id] = str(exc).removeprefix(f"{source.id}: ")
        return None
    chunked = chunk_document(document, params)
    if not chunked.sentences:
        report.skipped[source.id] = "no sentences found in the text"
        return None
    hints = {"title": read.title, "authors": list(read.authors), "date": read.date}
    return _Entry(document, hints, chunked=chunked)


def _nothing_changed(report: BuildReport, previous: StoredIndex) -> bool:
    return not (report.added or report.changed or report.removed or report.retitled) and (
        report.skipped == previous.manifest.skipped
    )


def passage_text(text: str, section: str | None, title: str | None = None) -> str:
    """What is embedded for a passage: its document's title, its section heading, then its
    sentences (the title and heading say what the sentences are about)."""
    return "\n".join(part for part in (title, section, text) if part)


def _embed(
    entries: list[_Entry], embedder: Embedder, previous: StoredIndex | None, progress: bool
) -> tuple[int, dict[str, np.ndarray]]:
    """Embed sentences and passages of new or changed documents.

    Texts go to the model in chunks, so that a server sharing the model with this build
    (an admin reindex) still answers questions between chunks.
    """
    texts: list[str] = []
    for e in entries:
        if e.chunked is None:
            continue
        text = e.document.text
        texts += [text[s.start : s.end] for s in e.chunked.sentences]
        texts += [passage_text(text[p.start : p.end], p.section, e.document.meta.title) for p in e.chunked.passages]
    if not texts:
        return (previous.manifest.dimension if previous else embedder.dimension), {}
    parts = []
    with tqdm(total=len(texts), desc="embedding", unit=" texts", disable=not progress, file=sys.stderr) as bar:
        for at in range(0, len(texts), EMBED_CHUNK):
            parts.append(embedder.encode(texts[at : at + EMBED_CHUNK]))
            bar.update(len(parts[-1]))
            time.sleep(0.001)  # let a question waiting for the model take it
    vectors = np.concatenate(parts)
    fresh: dict[str, np.ndarray] = {}
    at = 0
    for e in entries:
        if e.chunked is not None:
            n = len(e.chunked.sentences) + len(e.chunked.passages)
            fresh[e.document.id] = vectors[at : at + n]
            at += n
    return vectors.shape[1], fresh


def _vocabulary(
    entries: list[_Entry], previous: StoredIndex | None, embedder: Embedder, dimension: int
) -> tuple[list[str], np.ndarray]:
    """Every content word of the new build's sentences with its vector; words the previous
    build knew keep theirs, new ones are embedded. (Titles are left out, so that a metadata
    edit embeds nothing; a passage's vector keeps the title it was embedded with.)"""
    found: set[str] = set()
    for e in entries:
        text = e.document.text
        if e.chunked is not None:
            spans = [(s.start, s.end) for s in e.chunked.sentences]
        else:
            assert previous is not None and e.reused_row is not None
            lo, hi = _rows_of(previous.sentences.doc, e.reused_row)
            spans = [(int(previous.sentences.start[i]), int(previous.sentences.end[i])) for i in range(lo, hi)]
        for a, b in spans:
            found.update(content_words(text[a:b]))
    vocabulary = sorted(found)
    vectors = np.zeros((len(vocabulary), dimension), dtype=np.float32)
    known = {w: i for i, w in enumerate(previous.vocabulary)} if previous else {}
    old = vectors_of(previous.word_index) if previous else None
    new = []
    for i, w in enumerate(vocabulary):
        if w in known and old is not None:
            vectors[i] = old[known[w]]
        else:
            new.append(i)
    for at in range(0, len(new), EMBED_CHUNK * 4):
        part = new[at : at + EMBED_CHUNK * 4]
        vectors[part] = embedder.encode([vocabulary[i] for i in part])
        time.sleep(0.001)  # let a question waiting for the model take it
    return vocabulary, vectors


def _tag(entries: list[_Entry], tagger: EntityTagger) -> dict[str, list[tuple[int, int, int, int]]]:
    """Entities of the sentences of new or changed documents, per document id, as
    ``(sentence index in the document, start, end, label code)`` with document offsets."""
    texts: list[str] = []
    owners: list[tuple[str, int, int]] = []
    for e in entries:
        if e.chunked is None:
            continue
        for i, sentence in enumerate(e.chunked.sentences):
            texts.append(e.document.text[sentence.start : sentence.end])
            owners.append((e.document.id, i, sentence.start))
    found: dict[str, list[tuple[int, int, int, int]]] = {e.document.id: [] for e in entries if e.chunked}
    for (doc_id, i, offset), spans in zip(owners, tagger.tag(texts) if texts else []):
        found[doc_id] += [(i, offset + a, offset + b, LABEL_CODES[label]) for a, b, label in spans]
    return found


def _write(
    writer: BuildWriter,
    entries: list[_Entry],
    previous: StoredIndex | None,
    fresh: dict[str, np.ndarray],
    entities: dict[str, list[tuple[int, int, int, int]]],
    words: tuple[list[str], np.ndarray],
    models: tuple[str, str, int],
    params: ChunkingParams,
    report: BuildReport,
) -> Manifest:
    model, tagger, dimension = models
    sentence_rows: list[tuple] = []
    passage_rows: list[tuple] = []
    entity_rows: list[tuple] = []
    sentence_vectors: list[np.ndarray] = []
    passage_vectors: list[np.ndarray] = []
    old_sv = vectors_of(previous.sentence_index) if previous else None
    old_pv = vectors_of(previous.passage_index) if previous else None
    documents: dict[str, dict] = {}
    for row, entry in enumerate(entries):
        doc = entry.document
        writer.add_document(row, doc)
        s_base, p_base = len(sentence_rows), len(passage_rows)
        if entry.chunked is not None:
            sentences, passages = entry.chunked.sentences, entry.chunked.passages
            sentence_rows += [
                (s_base + i, row, s.start, s.end, s.section, s.page, s.role) for i, s in enumerate(sentences)
            ]
            entity_rows += [(s_base + i, a, b, label) for i, a, b, label in entities[doc.id]]
            passage_rows += [
                (p_base + i, row, p.start, p.end, s_base + p.first, s_base + p.last, p.section, p.page)
                for i, p in enumerate(passages)
            ]
            vecs = fresh[doc.id]
            sentence_vectors.append(vecs[: len(sentences)])
            passage_vectors.append(vecs[len(sentences) :])
        else:
            assert previous is not None and old_sv is not None and old_pv is not None
            s_lo, s_hi = _rows_of(previous.sentences.doc, entry.reused_row)
            p_lo, p_hi = _rows_of(previous.passages.doc, entry.reused_row)
            old_s, old_p, old_e = previous.sentences, previous.passages, previous.entities
            assert old_p.first is not None and old_p.last is not None and old_s.role is not None
            shift = s_base - s_lo
            sentence_rows += [
                (s_base + i - s_lo, row, int(old_s.start[i]), int(old_s.end[i]), old_s.section[i], old_s.page[i],
                 int(old_s.role[i]))
                for i in range(s_lo, s_hi)
            ]
            e_lo, e_hi = int(old_e.ptr[s_lo]), int(old_e.ptr[s_hi])
            entity_rows += [
                (int(old_e.sentence[k]) + shift, int(old_e.start[k]), int(old_e.end[k]), int(old_e.label[k]))
                for k in range(e_lo, e_hi)
            ]
            passage_rows += [
                (p_base + i - p_lo, row, int(old_p.start[i]), int(old_p.end[i]), int(old_p.first[i]) + shift,
                 int(old_p.last[i]) + shift, old_p.section[i], old_p.page[i])
                for i in range(p_lo, p_hi)
            ]
            sentence_vectors.append(old_sv[s_lo:s_hi])
            passage_vectors.append(old_pv[p_lo:p_hi])
        documents[doc.id] = {
            "sha256": doc.sha256,
            "title": doc.meta.title,
            "sentences": len(sentence_rows) - s_base,
            "passages": len(passage_rows) - p_base,
            "source": entry.source_hints,
        }
    writer.add_rows("sentences", sentence_rows)
    writer.add_rows("passages", passage_rows)
    writer.add_rows("entities", entity_rows)
    report.documents, report.sentences, report.passages = len(entries), len(sentence_rows), len(passage_rows)
    manifest = Manifest(
        model=model,
        dimension=dimension,
        chunking=params.as_dict(),
        tagger=tagger,
        documents=documents,
        skipped=dict(report.skipped),
        counts={"documents": len(entries), "sentences": len(sentence_rows), "passages": len(passage_rows)},
        created=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    )
    empty = np.zeros((0, dimension), dtype=np.float32)
    writer.commit(
        manifest,
        np.concatenate(sentence_vectors) if sentence_vectors else empty,
        np.concatenate(passage_vectors) if passage_vectors else empty,
        *words,
    )
    return manifest


def _rows_of(doc_column: np.ndarray, doc_row: int | None) -> tuple[int, int]:
    """The contiguous row range of one document in a column sorted by document."""
    assert doc_row is not None
    lo = int(np.searchsorted(doc_column, doc_row, side="left"))
    hi = int(np.searchsorted(doc_column, doc_row, side="right"))
    return lo, hi
