"""The highlight: the part of the best sentence that answers, tighter than the sentence.

A sentence that answers a question usually restates part of it and adds the answer. The
sentence is cut into clauses (at commas, semicolons, colons, dashes and parentheses); the
highlight is the run of clauses around the one that adds the most new content while
staying attached to what the question asks about. When nothing sensible remains, the
whole sentence is highlighted.
"""

from __future__ import annotations

import re

from qa.lexical import query_terms, terms

_CLAUSE_BREAK = re.compile(r"\s*(?:[,;:()]|\s[—–-]\s|—)\s*")
MIN_HIGHLIGHT_CHARS = 12


def clauses(sentence: str) -> list[tuple[int, int]]:
    """Clause spans of a sentence, trimmed.

    >>> s = "Russia has provided military technologies, such as missile systems and radars, to Iran."
    >>> [s[a:b] for a, b in clauses(s)]
    ['Russia has provided military technologies', 'such as missile systems and radars', 'to Iran.']
    """
    spans, at = [], 0
    for match in _CLAUSE_BREAK.finditer(sentence):
        if match.start() > at:
            spans.append((at, match.start()))
        at = match.end()
    if at < len(sentence):
        spans.append((at, len(sentence)))
    return [(a, b) for a, b in spans if sentence[a:b].strip()]


def answer_span(sentence: str, question: str) -> tuple[int, int]:
    """``(start, end)`` inside ``sentence`` of the span to highlight."""
    whole = (0, len(sentence))
    parts = clauses(sentence)
    asked = set(query_terms(question))
    if len(parts) < 2 or not asked:
        return whole
    bags = [set(terms(sentence[a:b])) for a, b in parts]
    # Clauses that only restate the question are context; the rest may carry the answer.
    new = [len(bag - asked) for bag in bags]
    overlap = [len(bag & asked) for bag in bags]
    if sum(overlap) == 0:
        return whole
    keep = [i for i in range(len(parts)) if new[i] > 0 and not (overlap[i] > 0 and new[i] <= 1)]
    if not keep:
        return whole
    # One contiguous run: the clauses with new content, trimmed at both ends.
    first, last = keep[0], keep[-1]
    start, end = parts[first][0], parts[last][1]
    if end - start < MIN_HIGHLIGHT_CHARS or (start, end) == whole:
        return whole
    return start, end
