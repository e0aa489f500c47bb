"""Word vectors: every content word of the collection embedded on its own, for soft matching.

A question says "supplied" where the text says "provided", "sped up" for "accelerated",
"riverbank" for "shore". Exact and stemmed matching miss these; the embedding
model, given one word at a time, places such words close together. Each distinct content
word of the collection is embedded once, at index time. A question word the collection
never uses is looked up among the most common English words (``wordfreq``'s list, embedded
once per model and cached beside the ONNX export: ``general_words``), and only failing that
embedded when asked. ``soft_presence`` then tells, for each question word and candidate
sentence, how close the sentence's nearest word comes (cosine).
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from qa.embedding.encoder import Embedder
from qa.language.lexical import content_words

if TYPE_CHECKING:
    from qa.index.derived import Ragged


class WordVectors:
    """A vocabulary and one unit vector per word."""

    def __init__(self, vocabulary: list[str], vectors: np.ndarray, general: WordVectors | None = None) -> None:
        self.vocabulary = vocabulary
        self.vectors = vectors
        self.ids = {w: i for i, w in enumerate(vocabulary)}
        self.general = general  # common English words, for question words the collection lacks

    def unknown(self, question_words: list[str] | tuple[str, ...]) -> list[str]:
        """The words that have no stored vector (neither the collection's nor common English)."""
        general = self.general
        return [w for w in question_words
                if w not in self.ids and (general is None or w not in general.ids)]

    def of(self, question_words: list[str], embedder: Embedder,
           given: dict[str, np.ndarray] | None = None) -> np.ndarray:
        """Vectors of question words: stored ones, then those in ``given`` (embedded with the
        question, in one run of the model), and any others embedded now."""
        out = np.zeros((len(question_words), self.vectors.shape[1] if len(self.vectors) else embedder.dimension),
                       dtype=np.float32)
        missing = []
        general = self.general
        given = given or {}
        for i, w in enumerate(question_words):
            if w in self.ids:
                out[i] = self.vectors[self.ids[w]]
            elif general is not None and w in general.ids:
                out[i] = general.vectors[general.ids[w]]
            elif w in given:
                out[i] = given[w]
            else:
                missing.append(i)
        if missing:
            out[missing] = embedder.encode_query([question_words[i] for i in missing])
        return out


GENERAL_WORDS = 30000  # the most common English words of wordfreq's list


def general_words(embedder: Embedder, cache_dir: Path, count: int = GENERAL_WORDS) -> WordVectors:
    """The ``count`` most common English words and their vectors, embedded once and cached in
    ``cache_dir`` (a word list and a float16 ``.npy`` file, read without pickle)."""
    from wordfreq import top_n_list

    vocabulary = [w for w in dict.fromkeys(top_n_list("en", count)) if content_words(w) == [w]]
    key = hashlib.sha256("\n".join(vocabulary).encode()).hexdigest()[:12]
    vectors_file = cache_dir / f"words-{count}-{key}.npy"
    if vectors_file.exists():
        try:
            vectors = np.load(vectors_file, allow_pickle=False).astype(np.float32)
            if vectors.shape[0] == len(vocabulary):
                return WordVectors(vocabulary, vectors)
        except (OSError, ValueError):
            pass  # a damaged cache file is simply made again
    vectors = embedder.encode(vocabulary)
    cache_dir.mkdir(parents=True, exist_ok=True)
    tmp = vectors_file.with_suffix(".tmp.npy")
    np.save(tmp, vectors.astype(np.float16), allow_pickle=False)
    os.replace(tmp, vectors_file)
    return WordVectors(vocabulary, vectors)


def soft_presence(term_vectors: np.ndarray, vectors: np.ndarray, table: Ragged, rows: np.ndarray) -> np.ndarray:
    """(rows, terms): the best cosine between each term and a word of each of ``rows``
    of ``table`` (word ids per sentence); 0 for a sentence without words.

    Each distinct word is compared with the terms once; a sentence takes the maximum over
    its own words.

    >>> from qa.index.derived import Ragged
    >>> vectors = np.array([[1.0, 0.0], [0.0, 1.0], [0.6, 0.8]], dtype=np.float32)
    >>> table = Ragged(np.array([0, 2, 2, 3]), np.array([0, 1, 2], dtype=np.int32))
    >>> soft_presence(np.array([[1.0, 0.0]], dtype=np.float32), vectors, table, np.array([0, 1, 2])).ravel().tolist()
    [1.0, 0.0, 0.6000000238418579]
    """
    out = np.zeros((len(rows), len(term_vectors)), dtype=np.float32)
    if not len(term_vectors) or not len(rows):
        return out
    values, _ = table.gather(rows)
    if not len(values):
        return out
    lengths = table.ptr[np.asarray(rows) + 1] - table.ptr[rows]
    seen = np.bincount(values)
    distinct = np.flatnonzero(seen)
    local = np.empty(len(seen), dtype=np.intp)
    local[distinct] = np.arange(len(distinct))
    sims = (vectors[distinct] @ term_vectors.T)[local[values]]  # (values, terms)
    nonempty = lengths > 0
    out[nonempty] = np.maximum.reduceat(sims, (np.cumsum(lengths) - lengths)[nonempty], axis=0)
    return out
