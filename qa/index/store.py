"""Loading the live build: manifest, records, tables, vectors and search graphs, checked
against each other.

Loading memory-maps the arrays (several server processes share one copy in the page cache)
and does no per-sentence Python work. Vectors are unit length, so FAISS inner product is
cosine similarity.
"""

from __future__ import annotations

import dataclasses
import json
import sqlite3
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from qa.errors import IndexCorruptError
from qa.index import ann
from qa.index.builds import current_build
from qa.index.derived import Derived, word_counts
from qa.index.documents import RECORDS_FILE, read_records
from qa.index.manifest import Manifest, check_compatible, read_manifest, rebuild_hint
from qa.index.tables import ARRAYS, EntityColumns, PassageTable, SentenceTable, load_array, read_derived, read_tables
from qa.records import Document


@dataclass
class StoredIndex:
    """A loaded build: manifest, records, derived arrays, vectors and search indexes."""

    path: Path
    manifest: Manifest
    documents: list[Document]
    doc_rows: dict[str, int]
    sentences: SentenceTable
    passages: PassageTable
    entities: EntityColumns
    vocabulary: list[str]
    derived: Derived
    sentence_vectors: np.ndarray
    passage_vectors: np.ndarray
    word_vectors: np.ndarray
    sentence_index: ann.Searcher
    passage_index: ann.Searcher


def load_index(index_dir: Path, model: str) -> StoredIndex:
    """Load the live build, checking that it was built with ``model``."""
    build = current_build(index_dir)
    manifest = read_manifest(build)
    check_compatible(manifest, model, index_dir)
    try:
        documents, vocabulary = read_records(build / RECORDS_FILE)
        tables = read_tables(build / ARRAYS)
        derived = read_derived(build / ARRAYS)
        if derived.word_counts is None:
            s = tables.sentences
            derived = dataclasses.replace(derived, word_counts=word_counts([d.text for d in documents], s.doc,
                                                                           s.start, s.end))
        vectors = {name: load_array(build / f"{name}.npy") for name in ("sentences", "passages", "words")}
        searchers = {name: ann.open_index(build, name, vectors[name], manifest.search.get(name, {}))
                     for name in ("sentences", "passages")}
    except (sqlite3.Error, RuntimeError, ValueError, OSError, KeyError, json.JSONDecodeError) as exc:
        raise IndexCorruptError(f"the index in {build} is damaged ({exc}); {rebuild_hint(index_dir)}") from exc
    n_sentences, n_passages = len(tables.sentences), len(tables.passages)
    if (len(vectors["sentences"]) != n_sentences or len(vectors["passages"]) != n_passages
            or len(vectors["words"]) != len(vocabulary) or len(derived.sentence_terms) != n_sentences
            or len(derived.passage_terms) != n_passages or not searchers["sentences"].covers(n_sentences)
            or not searchers["passages"].covers(n_passages)):
        raise IndexCorruptError(
            f"the index in {build} is inconsistent ({len(vectors['sentences'])} sentence vectors for "
            f"{n_sentences} sentences); {rebuild_hint(index_dir)}"
        )
    if vectors["sentences"].shape[1] != manifest.dimension:
        raise IndexCorruptError(f"the index in {build} has vectors of the wrong size; {rebuild_hint(index_dir)}")
    return StoredIndex(
        path=build,
        manifest=manifest,
        documents=documents,
        doc_rows={doc.id: i for i, doc in enumerate(documents)},
        sentences=tables.sentences,
        passages=tables.passages,
        entities=tables.entities,
        vocabulary=vocabulary,
        derived=derived,
        sentence_vectors=vectors["sentences"],
        passage_vectors=vectors["passages"],
        word_vectors=vectors["words"],
        sentence_index=searchers["sentences"],
        passage_index=searchers["passages"],
    )
