"""Word vectors: every content word of the collection embedded on its own, for soft matching.

A question says "supplied" where the text says "provided", "sped up" for "accelerated",
"air-defence" for "missile system". Exact and stemmed matching miss these; the embedding
model, given one word at a time, places such words close together. Each distinct content
word of the collection is embedded once; a question word the collection never uses is
embedded when asked. ``soft_presence`` then tells, for each question word and candidate
sentence, how close the sentence's nearest word comes (cosine).
"""

from __future__ import annotations

import numpy as np

from qa.embedding import Embedder
from qa.lexical import STOPWORDS, words


def content_words(text: str) -> list[str]:
    """Distinct lower-case content words of ``text``, in order.

    >>> content_words("The sanctions on Iran's oil and the sanctions")
    ['sanctions', 'iran', 'oil']
    """
    seen: dict[str, None] = {}
    for w in words(text):
        if w not in STOPWORDS and not w.isdigit():
            seen.setdefault(w, None)
    return list(seen)


class WordVectors:
    """A vocabulary and one unit vector per word."""

    def __init__(self, vocabulary: list[str], vectors: np.ndarray) -> None:
        self.vocabulary = vocabulary
        self.vectors = vectors
        self.ids = {w: i for i, w in enumerate(vocabulary)}

    @classmethod
    def build(cls, texts: list[str], embedder: Embedder) -> WordVectors:
        """Embed every distinct content word of ``texts``."""
        vocabulary = sorted({w for t in texts for w in content_words(t)})
        vectors = embedder.encode(vocabulary) if vocabulary else np.zeros((0, embedder.dimension), np.float32)
        return cls(vocabulary, vectors)

    def word_ids(self, text: str) -> np.ndarray:
        """Vocabulary ids of the content words of ``text`` (unknown words left out)."""
        return np.array([self.ids[w] for w in content_words(text) if w in self.ids], dtype=np.int64)

    def of(self, question_words: list[str], embedder: Embedder) -> np.ndarray:
        """Vectors of question words: from the vocabulary, or embedded now."""
        out = np.zeros((len(question_words), self.vectors.shape[1] if len(self.vectors) else embedder.dimension),
                       dtype=np.float32)
        missing = [i for i, w in enumerate(question_words) if w not in self.ids]
        for i, w in enumerate(question_words):
            if w in self.ids:
                out[i] = self.vectors[self.ids[w]]
        if missing:
            out[missing] = embedder.encode_query([question_words[i] for i in missing])
        return out


def soft_presence(term_vectors: np.ndarray, vectors: np.ndarray, sentence_ids: list[np.ndarray]) -> np.ndarray:
    """(sentences, terms): the best cosine between each term and a word of each sentence."""
    out = np.zeros((len(sentence_ids), len(term_vectors)), dtype=np.float32)
    if not len(term_vectors) or not sentence_ids:
        return out
    width = max((len(ids) for ids in sentence_ids), default=0)
    if not width:
        return out
    padded = np.full((len(sentence_ids), width), -1, dtype=np.int64)
    for i, ids in enumerate(sentence_ids):
        padded[i, : len(ids)] = ids
    union, local = np.unique(padded, return_inverse=True)
    local = local.reshape(padded.shape)
    has_pad = union[0] == -1
    words = union[1:] if has_pad else union
    sims = np.full((len(term_vectors), len(union)), -1.0, dtype=np.float32)
    sims[:, 1 if has_pad else 0 :] = term_vectors @ vectors[words].T  # (terms, distinct words)
    out[:] = sims[:, local].max(axis=2).T
    empty = padded[:, 0] < 0
    out[empty] = 0.0
    return out
