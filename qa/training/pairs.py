"""Training pairs for a reader: synthetic questions over an index, each with the sentence it
came from and the sentences most like the answer that do not hold it.

For every synthetic question (``qa.training.questions``) of an indexed collection:

* the **positive** is the sentence it was made from, with the answer's span in it;
* the **hard negatives** are the other sentences of its passage and the sentences nearest to
  the question by the collection's own sentence vectors, leaving out every sentence that
  holds the answer's text (they may answer too);
* for a share of the questions (``unanswerable_share``) the positive is left out: the question
  asked of the collection with its answering sentence removed, which the reader must decline.

Pairs come grouped by question (``group``), in a fixed order for a given seed.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np

from qa.training.questions import Parse, SyntheticQuestion, generate

NEAREST = 6  # negatives from the nearest sentences by vector, per question
BATCH = 256  # questions encoded at a time


@dataclass(frozen=True)
class Pair:
    """A question and one candidate sentence of the collection."""

    group: int  # the question's number: the pairs of one question share it
    question: str
    sentence: int  # the candidate's sentence row in the index
    answers: bool
    span: tuple[int, int] | None  # the answer's offsets in the candidate, when it answers
    unanswerable: bool  # the question's answering sentence was left out


def sentence_texts(index: Any) -> list[str]:
    """The text of every sentence row of a loaded index."""
    s = index.sentences
    return [index.documents[int(d)].text[int(a):int(b)] for d, a, b in zip(s.doc, s.start, s.end)]


def passage_rows(index: Any) -> np.ndarray:
    """For every sentence row, the row of the first passage that holds it."""
    owner = np.full(len(index.sentences), -1, dtype=np.int64)
    p = index.passages
    for row in range(len(p) - 1, -1, -1):
        owner[int(p.first[row]):int(p.last[row]) + 1] = row
    return owner


def pairs(index: Any, embedder: Any, parse: Parse, unanswerable_share: float = 0.25, seed: int = 0,
          limit: int | None = None) -> Iterator[Pair]:
    """Positive and hard negative pairs for the synthetic questions of ``index``'s sentences."""
    texts = sentence_texts(index)
    owner = passage_rows(index)
    rng = random.Random(seed)
    made = list(generate(texts, parse))
    rng.shuffle(made)
    made = made[:limit] if limit is not None else made
    for at in range(0, len(made), BATCH):
        chunk = made[at:at + BATCH]
        vectors = embedder.encode_query([q.question for _, q in chunk])
        for k, ((row, question), vector) in enumerate(zip(chunk, vectors)):
            removed = rng.random() < unanswerable_share
            yield from _group(at + k, row, question, vector, index, texts, owner, removed)


def _group(group: int, row: int, q: SyntheticQuestion, vector: np.ndarray, index: Any, texts: list[str],
           owner: np.ndarray, removed: bool) -> Iterator[Pair]:
    if not removed:
        yield Pair(group, q.question, row, True, (q.start, q.end), False)
    for other in negatives(row, q.answer, vector, index, texts, owner):
        yield Pair(group, q.question, other, False, None, removed)


def negatives(row: int, answer: str, vector: np.ndarray, index: Any, texts: list[str], owner: np.ndarray,
              nearest: int = NEAREST) -> list[int]:
    """The sentences of ``row``'s passage and the ``nearest`` sentences to the question,
    except those that hold the answer's text."""
    p = index.passages
    passage = owner[row]
    same = range(int(p.first[passage]), int(p.last[passage]) + 1) if passage >= 0 else range(0)
    scores = index.sentence_vectors @ vector  # unit vectors: the inner product is the cosine
    order = np.argsort(-scores)[: nearest * 4]
    answer = answer.lower()
    out: list[int] = []
    for candidate in [*same, *(int(r) for r in order)]:
        if candidate != row and candidate not in out and answer not in texts[candidate].lower():
            out.append(candidate)
        if len(out) >= len(same) - 1 + nearest:
            break
    return out
