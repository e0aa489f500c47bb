"""The record tables of a build as NumPy columns: sentences, passages, entities, and what
retrieval derives from them (``qa.index.derived``), stored as ``.npy`` files and read back
memory-mapped (never unpickled).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

import numpy as np

from qa.index.derived import Bm25Matrix, Derived, Ragged
from qa.records import Chunked

ARRAYS = "arrays"  # the folder of a build that holds the tables


@dataclass(frozen=True)
class Labels:
    """Optional strings per row, stored as ids into a table of names (-1: none)."""

    ids: np.ndarray
    names: tuple[str, ...]

    def __getitem__(self, row: int) -> str | None:
        i = int(self.ids[row])
        return self.names[i] if i >= 0 else None

    def __len__(self) -> int:
        return len(self.ids)

    def tolist(self) -> list[str | None]:
        """Every row's string."""
        return [self.names[i] if i >= 0 else None for i in self.ids.tolist()]


@dataclass(frozen=True)
class Pages:
    """Optional page numbers per row (0: none)."""

    numbers: np.ndarray

    def __getitem__(self, row: int) -> int | None:
        n = int(self.numbers[row])
        return n or None

    def __len__(self) -> int:
        return len(self.numbers)


@dataclass(frozen=True)
class SentenceTable:
    """Sentence records as columns; row i is vector i of ``sentences.npy``."""

    doc: np.ndarray
    start: np.ndarray
    end: np.ndarray
    section: Labels
    page: Pages
    role: np.ndarray  # BODY, FURNITURE or FRONT (qa.records)

    def __len__(self) -> int:
        return len(self.doc)


@dataclass(frozen=True)
class PassageTable:
    """Passage records as columns; row i is vector i of ``passages.npy``. A passage holds
    the sentence rows ``first`` to ``last`` (inclusive)."""

    doc: np.ndarray
    start: np.ndarray
    end: np.ndarray
    first: np.ndarray
    last: np.ndarray
    section: Labels
    page: Pages

    def __len__(self) -> int:
        return len(self.doc)


@dataclass(frozen=True)
class EntityColumns:
    """Entity spans as parallel columns sorted by sentence; those of sentence ``i`` are rows
    ``ptr[i]:ptr[i + 1]``. Offsets are into the document text; ``label`` codes index
    ``qa.language.entities.LABELS``."""

    sentence: np.ndarray
    start: np.ndarray
    end: np.ndarray
    label: np.ndarray
    ptr: np.ndarray

    def of(self, sentence: int) -> range:
        """The entity rows of one sentence row."""
        return range(int(self.ptr[sentence]), int(self.ptr[sentence + 1]))


def entity_columns(sentence: np.ndarray, start: np.ndarray, end: np.ndarray, label: np.ndarray,
                   n_sentences: int) -> EntityColumns:
    """Entity columns (already sorted by sentence) with their per-sentence pointer."""
    sentence = np.asarray(sentence, dtype=np.int64)
    return EntityColumns(sentence, np.asarray(start, dtype=np.int64), np.asarray(end, dtype=np.int64),
                         np.asarray(label, dtype=np.int8),
                         np.searchsorted(sentence, np.arange(n_sentences + 1), side="left").astype(np.int64))


@dataclass(frozen=True)
class Tables:
    """The records of a build besides the documents."""

    sentences: SentenceTable
    passages: PassageTable
    entities: EntityColumns
    sections: tuple[str, ...]  # the names both tables' ``section`` ids index


def load_array(path: Path) -> np.ndarray:
    """One stored array, memory-mapped read-only (never unpickled), as a plain ndarray view
    (``np.memmap``'s own indexing is several times slower per element)."""
    return np.load(path, mmap_mode="r", allow_pickle=False).view(np.ndarray)


def save_array(path: Path, array: np.ndarray) -> None:
    np.save(path, np.ascontiguousarray(array), allow_pickle=False)


_SENTENCE_COLUMNS = ("doc", "start", "end", "section", "page", "role")
_PASSAGE_COLUMNS = ("doc", "start", "end", "first", "last", "section", "page")
_ENTITY_COLUMNS = ("sentence", "start", "end", "label")


def write_tables(folder: Path, tables: Tables) -> None:
    """Store the sentence, passage and entity tables as ``.npy`` columns."""
    folder.mkdir(exist_ok=True)
    for prefix, table, columns in (("sentences", tables.sentences, _SENTENCE_COLUMNS),
                                   ("passages", tables.passages, _PASSAGE_COLUMNS),
                                   ("entities", tables.entities, _ENTITY_COLUMNS)):
        for column in columns:
            value = getattr(table, column)
            value = value.ids if isinstance(value, Labels) else value.numbers if isinstance(value, Pages) else value
            save_array(folder / f"{prefix}.{column}.npy", value)
    (folder / "sections.json").write_text(json.dumps(list(tables.sections), ensure_ascii=False), encoding="utf-8")


def read_tables(folder: Path) -> Tables:
    """The tables ``write_tables`` stored, memory-mapped."""
    sections = tuple(json.loads((folder / "sections.json").read_text(encoding="utf-8")))

    def columns(prefix: str, names: tuple[str, ...]) -> dict[str, Any]:
        out: dict[str, Any] = {name: load_array(folder / f"{prefix}.{name}.npy") for name in names}
        if len({len(column) for column in out.values()}) > 1:
            raise ValueError(f"the {prefix} columns differ in length")
        if "section" in out:
            out["section"], out["page"] = Labels(out["section"], sections), Pages(out["page"])
        return out

    sentences = SentenceTable(**columns("sentences", _SENTENCE_COLUMNS))
    e = columns("entities", _ENTITY_COLUMNS)
    return Tables(sentences, PassageTable(**columns("passages", _PASSAGE_COLUMNS)),
                  entity_columns(e["sentence"], e["start"], e["end"], e["label"], len(sentences)), sections)


def write_derived(folder: Path, derived: Derived) -> None:
    """Store ``derived`` as ``.npy`` arrays and the term list as JSON."""
    folder.mkdir(exist_ok=True)
    for name in Derived.RAGGED:
        ragged: Ragged = getattr(derived, name)
        save_array(folder / f"{name}.ptr.npy", ragged.ptr)
        save_array(folder / f"{name}.values.npy", ragged.values)
    for name in Derived.ARRAYS:
        save_array(folder / f"{name}.npy", getattr(derived, name))
    for name in ("passage_bm25", "sentence_bm25"):
        matrix: Bm25Matrix = getattr(derived, name)
        for part in ("data", "indices", "indptr"):
            save_array(folder / f"{name}.{part}.npy", getattr(matrix, part))
    (folder / "terms.json").write_text(json.dumps(derived.terms, ensure_ascii=False), encoding="utf-8")


def read_derived(folder: Path) -> Derived:
    """What ``write_derived`` stored, memory-mapped."""
    values: dict[str, Any] = {"terms": json.loads((folder / "terms.json").read_text(encoding="utf-8"))}
    for name in Derived.RAGGED:
        values[name] = Ragged(load_array(folder / f"{name}.ptr.npy"), load_array(folder / f"{name}.values.npy"))
    for name in Derived.ARRAYS:
        if name == "word_counts" and not (folder / f"{name}.npy").exists():
            values[name] = None  # a build from before it was stored: load_index counts them
            continue
        values[name] = load_array(folder / f"{name}.npy")
    rows = {"passage_bm25": len(values["passage_terms"]), "sentence_bm25": len(values["sentence_terms"])}
    for name, n in rows.items():
        data, indices, indptr = (load_array(folder / f"{name}.{part}.npy") for part in ("data", "indices", "indptr"))
        values[name] = Bm25Matrix(data, indices, indptr, n)
    assert {f.name for f in fields(Derived)} == set(values)
    return Derived(**values)


class TableBuilder:
    """The tables of a new build, gathered document by document, then joined.

    A new or changed document's rows come from its chunks; an unchanged document's rows are
    sliced from the previous build's tables, with their sentence numbers (passage bounds,
    entity owners) renumbered to where they now sit. Section ids extend the previous
    build's names, and ``joined`` keeps only the names some row still uses.
    """

    def __init__(self, old_sections: tuple[str, ...] = ()) -> None:
        self.section_ids: dict[str, int] = {name: i for i, name in enumerate(old_sections)}
        self._sentences: dict[str, list[np.ndarray]] = {k: [] for k in _SENTENCE_COLUMNS}
        self._passages: dict[str, list[np.ndarray]] = {k: [] for k in _PASSAGE_COLUMNS}
        self._entities: dict[str, list[np.ndarray]] = {k: [] for k in _ENTITY_COLUMNS}
        self.n_sentences = 0
        self.n_passages = 0

    def add_chunked(self, row: int, chunked: Chunked, entities: list[tuple[int, int, int, int]]) -> None:
        """Document ``row``'s rows from its chunks; ``entities`` are (sentence index in the
        document, start, end, label code)."""
        sentences, passages = chunked.sentences, chunked.passages
        base = self.n_sentences
        section = self._section
        _append(self._sentences, doc=np.full(len(sentences), row), start=[s.start for s in sentences],
                end=[s.end for s in sentences], section=[section(s.section) for s in sentences],
                page=[s.page or 0 for s in sentences], role=[s.role for s in sentences])
        _append(self._passages, doc=np.full(len(passages), row), start=[p.start for p in passages],
                end=[p.end for p in passages], first=[base + p.first for p in passages],
                last=[base + p.last for p in passages], section=[section(p.section) for p in passages],
                page=[p.page or 0 for p in passages])
        found = np.asarray(entities, dtype=np.int64).reshape(-1, 4)
        _append(self._entities, sentence=found[:, 0] + base, start=found[:, 1], end=found[:, 2], label=found[:, 3])
        self.n_sentences += len(sentences)
        self.n_passages += len(passages)

    def add_previous(self, row: int, sentences: SentenceTable, passages: PassageTable, entities: EntityColumns,
                     old_row: int) -> tuple[tuple[int, int], tuple[int, int]]:
        """Document ``row``'s rows copied from document ``old_row`` of the previous build's
        tables; returns the previous build's (sentence, passage) row ranges it took."""
        s_lo, s_hi = document_rows(sentences.doc, old_row)
        p_lo, p_hi = document_rows(passages.doc, old_row)
        shift = self.n_sentences - s_lo
        s, p = slice(s_lo, s_hi), slice(p_lo, p_hi)
        _append(self._sentences, doc=np.full(s_hi - s_lo, row), start=sentences.start[s], end=sentences.end[s],
                section=sentences.section.ids[s], page=sentences.page.numbers[s], role=sentences.role[s])
        _append(self._passages, doc=np.full(p_hi - p_lo, row), start=passages.start[p], end=passages.end[p],
                first=passages.first[p] + shift, last=passages.last[p] + shift, section=passages.section.ids[p],
                page=passages.page.numbers[p])
        e = slice(int(entities.ptr[s_lo]), int(entities.ptr[s_hi]))
        _append(self._entities, sentence=entities.sentence[e] + shift, start=entities.start[e],
                end=entities.end[e], label=entities.label[e])
        self.n_sentences += s_hi - s_lo
        self.n_passages += p_hi - p_lo
        return (s_lo, s_hi), (p_lo, p_hi)

    def joined(self) -> Tables:
        """The joined tables, with section names cut down to those some row uses."""
        s, p, e = self._sentences, self._passages, self._entities
        s_section, p_section = _joined(s, "section", np.int32), _joined(p, "section", np.int32)
        names = np.asarray(list(self.section_ids), dtype=object)
        used = np.unique(np.concatenate([s_section, p_section]))
        used = used[used >= 0]
        mapping = np.full(len(names) + 1, -1, dtype=np.int32)  # the last slot maps -1 to -1
        mapping[used] = np.arange(len(used), dtype=np.int32)
        sections = tuple(str(n) for n in names[used]) if len(used) else ()
        sentences = SentenceTable(
            doc=_joined(s, "doc", np.int32), start=_joined(s, "start", np.int64),
            end=_joined(s, "end", np.int64), section=Labels(mapping[s_section], sections),
            page=Pages(_joined(s, "page", np.int32)), role=_joined(s, "role", np.int8))
        passages = PassageTable(
            doc=_joined(p, "doc", np.int32), start=_joined(p, "start", np.int64),
            end=_joined(p, "end", np.int64), first=_joined(p, "first", np.int64),
            last=_joined(p, "last", np.int64), section=Labels(mapping[p_section], sections),
            page=Pages(_joined(p, "page", np.int32)))
        entities = entity_columns(_joined(e, "sentence", np.int64), _joined(e, "start", np.int64),
                                  _joined(e, "end", np.int64), _joined(e, "label", np.int8), len(sentences))
        return Tables(sentences, passages, entities, sections)

    def _section(self, name: str | None) -> int:
        return -1 if name is None else self.section_ids.setdefault(name, len(self.section_ids))


def document_rows(doc_column: np.ndarray, doc_row: int) -> tuple[int, int]:
    """The contiguous row range of one document in a column sorted by document."""
    lo = int(np.searchsorted(doc_column, doc_row, side="left"))
    hi = int(np.searchsorted(doc_column, doc_row, side="right"))
    return lo, hi


def _append(columns: dict[str, list[np.ndarray]], **values: Any) -> None:
    for key, value in values.items():
        columns[key].append(np.asarray(value))


def _joined(columns: dict[str, list[np.ndarray]], key: str, dtype: Any) -> np.ndarray:
    parts = columns[key]
    return np.concatenate(parts).astype(dtype) if parts else np.zeros(0, dtype=dtype)
