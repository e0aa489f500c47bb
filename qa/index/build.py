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
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from tqdm import tqdm

from qa.chunking.passages import ChunkingParams, chunk_document
from qa.embedding.encoder import Embedder
from qa.errors import IndexCorruptError, IndexMismatchError, IndexMissingError, UnreadableDocumentError
from qa.index.ann import ANN_THRESHOLD, Previous
from qa.index.builds import BuildWriter, build_lock, remove_leftovers
from qa.index.derived import Derived, Ragged, Vocabulary, bm25_matrix, contexts, document_tokens, holders
from qa.index.manifest import Manifest
from qa.index.store import StoredIndex, load_index
from qa.index.tables import TableBuilder
from qa.language.entities import LABEL_CODES, EntityTagger, SpacyTagger
from qa.records import Chunked, Document, Skip, SkipCode
from qa.sources.metadata import document_meta, load_metadata
from qa.sources.readers import SourceText
from qa.sources.scan import SourceFile, read_document, scan_corpus

EMBED_CHUNK = 128  # texts per encode call: a question waiting for the model waits at most one chunk


@dataclass
class BuildReport:
    """What a build did, for the CLI summary and the API."""

    added: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    retitled: list[str] = field(default_factory=list)  # unchanged text, new citation metadata
    skipped: dict[str, Skip] = field(default_factory=dict)
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
        """The report as JSON-able data (each skip as its reason)."""
        return {**self.__dict__, "skipped": {doc_id: skip.reason for doc_id, skip in self.skipped.items()}}


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
    ann_threshold: int = ANN_THRESHOLD,
    read: SourceReader | None = None,
) -> BuildReport:
    """Index ``corpus_dir`` into ``index_dir`` and make the result live.

    With ``wait`` a second build waits for a running one; otherwise it raises
    ``IndexBusyError``. ``progress`` prints embedding progress to stderr. ``tagger``
    finds the entities of new sentences (spaCy's English model by default). From
    ``ann_threshold`` vectors on, the build gets approximate search indexes (``qa.index.ann``).
    ``read`` reads and chunks the new and changed sources (``read_sources`` here, or fanned
    out over a cluster: ``qa.index.cluster``); ``embedder`` may be such a fan-out too.
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
        entries = _plan(sources, metadata, previous, params, report, read or read_sources)
        if previous is not None and _nothing_changed(report, previous):
            report.up_to_date = True
            report.build = previous.path.name
            report.documents = len(entries)
        else:
            embed_started = time.perf_counter()
            dimension, fresh = _embed(entries, embedder, previous, progress)
            report.embedded_texts = sum(len(v) for v in fresh.values())
            entities = _tag(entries, tagger)
            report.embed_seconds = time.perf_counter() - embed_started
            writer = BuildWriter(index_dir)
            try:
                _write(writer, entries, previous, fresh, entities, embedder, (embedder.name, tagger.name, dimension),
                       params, report, ann_threshold)
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
    read: SourceReader,
) -> list[_Entry]:
    """Decide, per source, whether to reuse, (re)read or skip it; fills ``report``."""
    old_docs = {doc.id: (row, doc) for row, doc in enumerate(previous.documents)} if previous else {}
    old_info = previous.manifest.documents if previous else {}
    entries: list[_Entry] = []
    distinct = _distinct(sources, old_docs, report.skipped)
    unchanged = {s.id for s in distinct if s.id in old_docs and old_docs[s.id][1].sha256 == s.sha256}
    to_read = [s for s in distinct if s.id not in unchanged]
    read_now = dict(zip((s.id for s in to_read), read(to_read, metadata, params)))
    for source in distinct:
        old = old_docs.get(source.id)
        if source.id in unchanged:
            assert old is not None
            entries.append(_reuse(old, old_info.get(source.id, {}), metadata.get(source.id, {}), report))
            report.unchanged.append(source.id)
            continue
        result = read_now[source.id]
        if isinstance(result, Skip):
            report.skipped[source.id] = result
            continue
        entries.append(result)
        (report.changed if old else report.added).append(source.id)
    # Previously indexed files that cannot be read now keep their indexed version.
    kept_ids = {e.document.id for e in entries}
    for doc_id, skip in list(report.skipped.items()):
        if doc_id in old_docs and doc_id not in kept_ids and skip.code is not SkipCode.DUPLICATE:
            old = old_docs[doc_id]
            entries.append(_reuse(old, old_info.get(doc_id, {}), metadata.get(doc_id, {}), report))
            report.skipped[doc_id] = skip.keeping()
    entries.sort(key=lambda e: e.document.id)
    kept_ids = {e.document.id for e in entries}
    report.removed = [doc_id for doc_id in old_docs if doc_id not in kept_ids]
    return entries


def _distinct(sources: list[SourceFile], old_docs: dict[str, tuple[int, Document]],
              skipped: dict[str, Skip]) -> list[SourceFile]:
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
                skipped[other.id] = Skip(SkipCode.DUPLICATE, f"same content as {chosen.id}")
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


SourceReader = Callable[[list[SourceFile], dict[str, dict[str, Any]], ChunkingParams], list["_Entry | Skip"]]


def read_sources(sources: list[SourceFile], metadata: dict[str, dict[str, Any]],
                 params: ChunkingParams) -> list[_Entry | Skip]:
    """Read and chunk each source, in order: its entry, or why it is skipped."""
    return [_read(source, metadata, params) for source in sources]


def _read(source: SourceFile, metadata: dict, params: ChunkingParams) -> _Entry | Skip:
    try:
        document, read = read_document(source, metadata)
    except UnreadableDocumentError as exc:
        return Skip(SkipCode(exc.code), str(exc).removeprefix(f"{source.id}: "))
    chunked = chunk_document(document, params)
    if not chunked.sentences:
        return Skip(SkipCode.NO_TEXT, "no sentences found in the text")
    hints = {"title": read.title, "authors": list(read.authors), "date": read.date,
             **({"ocr_pages": list(read.ocr_pages)} if read.ocr_pages else {})}
    return _Entry(document, hints, chunked=chunked)


def _nothing_changed(report: BuildReport, previous: StoredIndex) -> bool:
    return not (report.added or report.changed or report.removed or report.retitled) and (
        report.skipped == previous.manifest.skips()
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
    chunk = getattr(embedder, "chunk", EMBED_CHUNK)  # texts per call: more for an embedder that fans out
    with tqdm(total=len(texts), desc="embedding", unit=" texts", disable=not progress, file=sys.stderr) as bar:
        for at in range(0, len(texts), chunk):
            parts.append(embedder.encode(texts[at : at + chunk]))
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


@dataclass
class _Rows:
    """The rows of a new build, gathered document by document, then joined."""

    tables: TableBuilder
    sentence_terms: list[Ragged] = field(default_factory=list)
    passage_terms: list[Ragged] = field(default_factory=list)
    sentence_words: list[Ragged] = field(default_factory=list)
    leans_back: list[np.ndarray] = field(default_factory=list)
    word_counts: list[np.ndarray] = field(default_factory=list)
    sentence_vectors: list[np.ndarray] = field(default_factory=list)
    passage_vectors: list[np.ndarray] = field(default_factory=list)
    sentence_origin: list[np.ndarray] = field(default_factory=list)  # previous build's row, -1 if new
    passage_origin: list[np.ndarray] = field(default_factory=list)

    @property
    def n_sentences(self) -> int:
        return self.tables.n_sentences

    @property
    def n_passages(self) -> int:
        return self.tables.n_passages


def _write(
    writer: BuildWriter,
    entries: list[_Entry],
    previous: StoredIndex | None,
    fresh: dict[str, np.ndarray],
    entities: dict[str, list[tuple[int, int, int, int]]],
    embedder: Embedder,
    models: tuple[str, str, int],
    params: ChunkingParams,
    report: BuildReport,
    ann_threshold: int,
) -> Manifest:
    """Join the rows of every document (new ones tokenised, unchanged ones sliced from the
    previous build), derive what retrieval needs, and commit the build."""
    model, tagger, dimension = models
    rows = _Rows(TableBuilder(previous.passages.section.names if previous else ()))
    term_vocab = Vocabulary(previous.derived.terms if previous else [])
    word_vocab = Vocabulary(previous.vocabulary if previous else [])
    documents: dict[str, dict] = {}
    for row, entry in enumerate(entries):
        doc = entry.document
        writer.add_document(row, doc)
        s_base, p_base = rows.n_sentences, rows.n_passages
        if entry.chunked is not None:
            _add_new(rows, row, entry, fresh[doc.id], entities[doc.id], term_vocab, word_vocab)
        else:
            assert previous is not None and entry.reused_row is not None
            _add_reused(rows, row, previous, entry.reused_row)
        documents[doc.id] = {
            "sha256": doc.sha256,
            "title": doc.meta.title,
            "sentences": rows.n_sentences - s_base,
            "passages": rows.n_passages - p_base,
            "source": entry.source_hints,
        }
    terms, (sentence_terms, passage_terms) = term_vocab.merge(rows.sentence_terms, rows.passage_terms)
    vocabulary, (sentence_words,) = word_vocab.merge(rows.sentence_words)
    tables = rows.tables.joined()
    context_rows, sentence_context = contexts(tables.sentences.doc, tables.sentences.section.ids, tables.sections,
                                              [e.document.meta.title for e in entries], terms)
    passage_bm25, passage_df = bm25_matrix(passage_terms, len(terms))
    sentence_bm25, _ = bm25_matrix(sentence_terms, len(terms))
    derived = Derived(
        terms=terms,
        sentence_terms=sentence_terms,
        passage_terms=passage_terms,
        sentence_words=sentence_words,
        contexts=context_rows,
        sentence_context=sentence_context,
        leans_back=np.concatenate(rows.leans_back) if rows.leans_back else np.zeros(0, dtype=bool),
        word_counts=np.concatenate(rows.word_counts) if rows.word_counts else np.zeros(0, dtype=np.int32),
        holders=holders(tables.passages.first, tables.passages.last, len(tables.sentences)),
        passage_df=passage_df.astype(np.int32),
        passage_bm25=passage_bm25,
        sentence_bm25=sentence_bm25,
    )
    report.documents, report.sentences, report.passages = len(entries), rows.n_sentences, rows.n_passages
    manifest = Manifest(
        model=model,
        dimension=dimension,
        chunking=params.as_dict(),
        tagger=tagger,
        documents=documents,
        skipped={doc_id: skip.as_dict() for doc_id, skip in report.skipped.items()},
        counts={"documents": len(entries), "sentences": rows.n_sentences, "passages": rows.n_passages},
        created=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    )
    empty = np.zeros((0, dimension), dtype=np.float32)
    vectors = {
        "sentences": np.concatenate(rows.sentence_vectors) if rows.sentence_vectors else empty,
        "passages": np.concatenate(rows.passage_vectors) if rows.passage_vectors else empty,
        "words": _word_vectors(vocabulary, previous, embedder, dimension),
    }
    grow = None
    if previous is not None:
        origin = {"sentences": rows.sentence_origin, "passages": rows.passage_origin}
        grow = {name: Previous(previous.path, previous.manifest.search.get(name, {}),
                               np.concatenate(parts) if parts else np.zeros(0, dtype=np.int64))
                for name, parts in origin.items()}
    return writer.commit(manifest, tables, derived, vectors, vocabulary, ann_threshold, grow)


def _add_new(rows: _Rows, row: int, entry: _Entry, vectors: np.ndarray, entities: list[tuple[int, int, int, int]],
             term_vocab: Vocabulary, word_vocab: Vocabulary) -> None:
    """Rows of a new or changed document, tokenised now."""
    assert entry.chunked is not None
    sentences, passages = entry.chunked.sentences, entry.chunked.passages
    rows.tables.add_chunked(row, entry.chunked, entities)
    tokens = document_tokens(entry.document.text, [(s.start, s.end) for s in sentences],
                             [(p.start, p.end) for p in passages])
    rows.sentence_terms.append(term_vocab.add(tokens.sentence_terms))
    rows.passage_terms.append(term_vocab.add(tokens.passage_terms))
    rows.sentence_words.append(word_vocab.add(tokens.sentence_words))
    rows.leans_back.append(tokens.leans_back)
    rows.word_counts.append(tokens.word_counts)
    rows.sentence_vectors.append(vectors[: len(sentences)])
    rows.passage_vectors.append(vectors[len(sentences) :])
    rows.sentence_origin.append(np.full(len(sentences), -1, dtype=np.int64))
    rows.passage_origin.append(np.full(len(passages), -1, dtype=np.int64))


def _add_reused(rows: _Rows, row: int, previous: StoredIndex, old_row: int) -> None:
    """Rows of an unchanged document, sliced from the previous build (its ids are those of
    the previous build's vocabularies and section names, which the new ones extend)."""
    (s_lo, s_hi), (p_lo, p_hi) = rows.tables.add_previous(
        row, previous.sentences, previous.passages, previous.entities, old_row)
    old_d = previous.derived
    rows.sentence_terms.append(old_d.sentence_terms.slice(s_lo, s_hi))
    rows.passage_terms.append(old_d.passage_terms.slice(p_lo, p_hi))
    rows.sentence_words.append(old_d.sentence_words.slice(s_lo, s_hi))
    rows.leans_back.append(old_d.leans_back[s_lo:s_hi])
    rows.word_counts.append(old_d.word_counts[s_lo:s_hi])
    rows.sentence_vectors.append(previous.sentence_vectors[s_lo:s_hi])
    rows.passage_vectors.append(previous.passage_vectors[p_lo:p_hi])
    rows.sentence_origin.append(np.arange(s_lo, s_hi, dtype=np.int64))
    rows.passage_origin.append(np.arange(p_lo, p_hi, dtype=np.int64))


def _word_vectors(vocabulary: list[str], previous: StoredIndex | None, embedder: Embedder,
                  dimension: int) -> np.ndarray:
    """A vector per vocabulary word: the previous build's where it had the word, else
    embedded now. (Titles are left out of the vocabulary, so that a metadata edit embeds
    nothing; a passage's vector keeps the title it was embedded with.)"""
    vectors = np.zeros((len(vocabulary), dimension), dtype=np.float32)
    known = {w: i for i, w in enumerate(previous.vocabulary)} if previous else {}
    old = previous.word_vectors if previous else None
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
    return vectors
