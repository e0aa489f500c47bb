"""The highlight: the part of the best sentence that answers, tighter than the sentence.

A sentence that answers a question usually restates part of the question and adds the
answer. Three rules, tried in order, find the added part:

1. **Typed answers.** "Who …", "In what year …", "How many …", "Which city …" ask for a
   person, a date, a number, a place (``qa.answer.questions``). An entity of that kind (found at
   index time, ``qa.language.entities``) that the question does not already name is the answer; of
   several, the one in the clause sharing most (IDF-weighted) words with the question,
   then the nearest to them ("… the dam was completed in **1970** …").
2. **Cue phrases.** What follows "such as", "including", "particularly in", "due to",
   "because of" … up to the end of its phrase, when it is mostly words the question does
   not have ("… exports crops, such as **cotton and sugar cane**, to Europe").
3. **New words.** Otherwise the phrase that adds most to the question: the clause pieces
   between the words the sentence shares with the question, without leading function words,
   the one holding most new content words ("… shaped by **seasonal flooding** rather
   than …"); failing that, the sentence without a leading connective or trailing reference.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping, Sequence
from collections.abc import Set as AbstractSet
from functools import lru_cache

from qa.answer.questions import Question
from qa.language.lexical import STOPWORDS, name_variants, stem, words

MIN_HIGHLIGHT_CHARS = 2
_ANY_BREAK = re.compile(r"\s*(?:[,;:()\[\]]|\s[—–-]\s|—|–)\s*")
_CUE = re.compile(
    r"\b(?:such as|including|namely|especially|primarily due to|mainly due to|due to|because of|because|"
    r"particularly(?: (?:in|on|for|with))?(?: (?:the )?areas? of)?|notably|for example|e\.g\.)\s+",
    re.IGNORECASE,
)
# A cue's phrase ends at a hard break, or at a comma not followed by a list item.
_PHRASE_END = re.compile(r"\s*(?:[;:()\[\]]|\s[—–-]\s|—|–)|,\s+(?!and\b|or\b|as well as\b)")
# Pieces of a clause: split at punctuation and at words that open a new phrase.
_PIECE_BREAK = re.compile(
    r"\s*(?:[,;:()\[\]\"“”]|\s[—–-]\s|—|–)\s*|\s+(?=(?:which|who|whom|whose|that|while|whereas|although|"
    r"though|because|since|after|before|when|where|rather than|despite|but|and thus|thereby)\b)",
    re.IGNORECASE,
)
_LEADING_FUNCTION = re.compile(
    r"^(?:(?:and|or|but|the|a|an|of|to|in|on|at|by|for|with|from|as|is|are|was|were|be|been|being|has|"
    r"have|had|its|their|his|her|this|that|these|those|such|which|who|whom|whose|it|they|also|both|"
    r"including|such as|namely|particularly|especially|rather than|despite|because|since|while|into|"
    r"through|via|against|between|among|within|without|about|over|under|will|would|could|can|may|might|"
    r"should|must)\s+)+",
    re.IGNORECASE,
)
# Questions answered by a clause (a reason, a manner), not by a noun phrase.
_ASKS_HOW_OR_WHY = re.compile(r"\b(?:why|how)\b|\bwhat\s+(?:\w+\s+)?(?:reasons?|causes?|grounds)\b",
                              re.IGNORECASE)
_CONNECTIVE = re.compile(
    r"^(?:However|Moreover|Additionally|Furthermore|Consequently|Thus|Therefore|Nevertheless|"
    r"Meanwhile|Similarly|Conversely|Simultaneously|Subsequently|Overall|Notably|Yet|Still|Indeed|"
    r"Finally|First|Second|Third|Hence|Instead|Also|In addition|In contrast|For example|"
    r"For instance),\s+"
)
_REFERENCE = re.compile(r"\s*\([^()]*\b(?:1[89]|20)\d\d[a-z]?\b[^()]*\)\.?\s*$")
_TOKEN = re.compile(r"[A-Za-z0-9$€£][\w$'’.-]*[\w$%]|[A-Za-z0-9$€£%]")
_MONTH = (r"(?:January|February|March|April|May|June|July|August|September|October|November|"
          r"December|Jan|Feb|Mar|Apr|Jun|Jul|Aug|Sep|Sept|Oct|Nov|Dec)\.?")
# Dates and years the entity tagger may label as plain numbers ("2023/03/01").
_DATE = re.compile(
    rf"\b{_MONTH}\s+\d{{1,2}}(?:-\d{{1,2}})?,?\s+\d{{4}}\b|\b\d{{1,2}}\s+{_MONTH}\s+\d{{4}}\b|"
    rf"\b\d{{4}}[/-]\d{{1,2}}[/-]\d{{1,2}}\b|\b\d{{1,2}}[/.]\d{{1,2}}[/.]\d{{4}}\b|\b{_MONTH}\s+\d{{4}}\b"
)
_YEAR = re.compile(r"\b(?:1[0-9]|20)\d\d(?:s\b)?\b")
_BRACKETED = re.compile(r"\([^()]*\)")
_LEADING_ARTICLE = re.compile(r"(?:the|a|an)\s+", re.IGNORECASE)
_TRAILING_ARTICLE = re.compile(r"\s+(?:the|a|an)\s*$")

Span = tuple[int, int]


def answer_span(
    sentence: str,
    question: Question,
    entities: Sequence[tuple[int, int, str]] = (),
    weights: Mapping[str, float] | None = None,
) -> Span:
    """``(start, end)`` inside ``sentence`` of the span to highlight.

    ``entities`` are the sentence's entities as ``(start, end, label)`` offsets into it;
    ``weights`` gives each question term its weight (IDF): a rare word the sentence shares
    with the question says more about where the answer sits than a common one.
    """
    asked = set(question.terms) | {a for group in question.aliases for a in group}
    anchors = _anchors(sentence, asked, weights)
    found = typed_spans(sentence, question, entities)
    names = _new_to_question(sentence, [(a, b) for a, b, label in entities if label in NAME_LABELS],
                             _named(question))
    if found:
        listed = names if question.kind in ("agent", "organisation", "place", "person", "work", "event") else []
        return _as_list(sentence, _nearest(sentence, found, anchors), found, listed)
    cue = _cue_span(sentence, asked) if anchors else None
    if cue and question.kind is None:
        return cue
    found = name_spans(sentence, question, entities)
    if found:
        focus = _anchors(sentence, set(question.focus), weights) or anchors
        return _as_list(sentence, _nearest(sentence, found, focus), found, names)
    if anchors:
        phrases = [] if _ASKS_HOW_OR_WHY.search(question.text) else [
            (a, b) for a, b, label in entities if label == "PHRASE"]
        span = cue or _phrase_span(sentence, phrases, asked, anchors) or _new_words_span(sentence, asked)
        if span:
            return span
    return _trimmed(sentence)


def _named(question: Question) -> frozenset[str]:
    """What the question already names: its terms and their other names ("Peruvian" → "Peru";
    not a country's capital: "Lima" answers a question about "Peru")."""
    return _named_terms(tuple(question.terms))


@lru_cache(maxsize=1024)
def _named_terms(terms: tuple[str, ...]) -> frozenset[str]:
    return frozenset(terms) | {v for t in terms for v in name_variants(t)}


def typed_spans(sentence: str, question: Question, entities: Sequence[tuple[int, int, str]]) -> list[Span]:
    """Spans in ``sentence`` of the kind of answer ``question`` asks for that the question
    does not already name; asides in parentheses left out.

    >>> from qa.answer.questions import analyse
    >>> s = "Amundsen returned in 1912 (Smith, 2019), after 1906."
    >>> ents = [(21, 25, "DATE"), (34, 38, "DATE"), (47, 51, "DATE")]
    >>> [s[a:b] for a, b in typed_spans(s, analyse("In what year did Amundsen return after 1906?"), ents)]
    ['1912']
    """
    labels = question.labels
    if not labels:
        return []
    spans = [(a, b) for a, b, label in entities if label in labels]
    if question.kind in ("date", "year", "duration"):
        spans += [m.span() for m in _DATE.finditer(sentence)]
        spans += [m.span() for m in _YEAR.finditer(sentence)]
    if not spans:
        return []
    asked = _named(question)
    bracketed = [m.span() for m in _BRACKETED.finditer(sentence)]
    out: list[Span] = []
    for start, end in sorted(set(spans)):
        start, end = _trim_entity(sentence, start, end)
        if end - start < 1 or any(a <= start < b for a, b in bracketed):
            continue
        named = [stem(w) for w in words(sentence[start:end]) if w not in STOPWORDS]
        if named and all(t in asked for t in named):
            continue  # the question already says it
        if question.kind == "number" and _YEAR.fullmatch(sentence[start:end]):
            continue  # a year is not an amount
        if any(a <= start and end <= b and (a, b) != (start, end) for a, b in out):
            continue
        out = [(a, b) for a, b in out if not (start <= a and b <= end)] + [(start, end)]
    return sorted(out)


NAME_LABELS = frozenset({"PERSON", "NORP", "FAC", "ORG", "GPE", "LOC", "PRODUCT", "EVENT", "WORK_OF_ART", "LAW",
                         "LANGUAGE"})
_CAPITALISED = re.compile(r"(?<![\w.])(?:[A-Z][\w'’-]*[A-Za-z0-9]|[A-Z]{2,})(?:\s+(?:of\s+|the\s+)?"
                          r"(?:[A-Z][\w'’-]*[A-Za-z0-9]|[A-Z]{2,}|\d+))*")


def name_spans(sentence: str, question: Question, entities: Sequence[tuple[int, int, str]]) -> list[Span]:
    """Names the question does not already have, when it asks for a named thing ("Which
    agreement …", "Who …") and no entity of the exact kind was found: entities of any name
    label, else runs of capitalised words after the sentence's first word.

    >>> from qa.answer.questions import analyse
    >>> s = "Their framework bypasses SWIFT restrictions."
    >>> [s[a:b] for a, b in name_spans(s, analyse("Which restrictions does the framework bypass?"), [])]
    ['SWIFT']
    """
    if question.kind is None:
        if not question.focus or not _anchors(sentence, set(question.focus), None):
            return []  # a name is the answer only next to what the question asks for
    elif question.kind not in ("person", "agent", "organisation", "place", "work", "event", "nationality",
                               "language"):
        return []
    asked = _named(question)
    for spans in ([(a, b) for a, b, label in entities if label in NAME_LABELS],
                  [m.span() for m in _CAPITALISED.finditer(sentence) if m.start() > 0]):
        out = _new_to_question(sentence, spans, asked)
        if out:
            return out
    return []


_LIST_JOIN = re.compile(r"\s*,\s*(?:and\s+|or\s+)?|\s+(?:and|or|as well as)\s+")


def _as_list(sentence: str, chosen: Span, found: list[Span], also: list[Span] = ()) -> Span:  # type: ignore[assignment]
    """``chosen`` widened over the spans (of ``found``, or names in ``also``) listed with it:
    "NATO, the OECD and the WHO".

    >>> s = "It joined the OECD, NATO, and the World Health Organization in turn."
    >>> spans = [(14, 18), (20, 24), (34, 59)]
    >>> a, b = _as_list(s, (20, 24), spans)
    >>> s[a:b]
    'OECD, NATO, and the World Health Organization'
    """
    overlapping = [s for s in also if any(a < s[1] and s[0] < b for a, b in found)]
    ordered = sorted(set(found) | (set(also) - set(overlapping)))
    at = ordered.index(chosen)
    lo = hi = at
    while lo > 0 and _LIST_JOIN.fullmatch(_between(sentence, ordered[lo - 1], ordered[lo])):
        lo -= 1
    while hi + 1 < len(ordered) and _LIST_JOIN.fullmatch(_between(sentence, ordered[hi], ordered[hi + 1])):
        hi += 1
    return ordered[lo][0], ordered[hi][1]


def _between(sentence: str, left: Span, right: Span) -> str:
    gap = sentence[left[1] : right[0]]
    return _TRAILING_ARTICLE.sub(" ", gap) if gap.strip() else gap


def _new_to_question(sentence: str, spans: list[Span], asked: AbstractSet[str]) -> list[Span]:
    bracketed = [m.span() for m in _BRACKETED.finditer(sentence)]
    out = []
    for start, end in sorted(set(spans)):
        start, end = _trim_entity(sentence, start, end)
        if end - start < 1 or any(a <= start < b for a, b in bracketed):
            continue
        named = [stem(w) for w in words(sentence[start:end]) if w not in STOPWORDS]
        if named and not any(t in asked for t in named):
            out.append((start, end))
    return out


def _trim_entity(sentence: str, start: int, end: int) -> Span:
    """An entity without a leading article or trailing punctuation: "the United States," →
    "United States"."""
    text = sentence[start:end]
    lead = _LEADING_ARTICLE.match(text)
    if lead and lead.end() < len(text):
        start += lead.end()
    text = sentence[start:end]
    end -= len(text) - len(text.rstrip(" ,;:.'’\n"))
    return start, end


def _anchors(sentence: str, asked: set[str], weights: Mapping[str, float] | None) -> dict[int, float]:
    """Offsets of the words the sentence shares with the question, with their weights."""
    anchors: dict[int, float] = {}
    for m in _TOKEN.finditer(sentence):
        term = stem(_plain(m.group()))
        if term in asked:
            anchors[m.start()] = weights.get(term, 1.0) if weights else 1.0
    return anchors


def clause_weight(sentence: str, offsets: Sequence[int], weights: Mapping[str, float]) -> float:
    """The largest summed weight of the question terms in a clause of ``sentence`` holding
    one of ``offsets``.

    >>> clause_weight("Amundsen sailed in 1910; he returned in 1912.", [40], {"return": 2.0, "sail": 1.0})
    2.0
    """
    best = 0.0
    for a, b in _split(sentence, 0, len(sentence), _ANY_BREAK):
        if any(a <= offset < b for offset in offsets):
            seen = {stem(_plain(m.group())) for m in _TOKEN.finditer(sentence, a, b)}
            best = max(best, float(sum(w for t, w in weights.items() if t in seen)))
    return best


def _nearest(sentence: str, found: list[Span], anchors: dict[int, float]) -> Span:
    """Of typed spans, the one in the clause sharing most question words, then the nearest."""
    if not anchors:
        return found[0]
    phrases = list(_split(sentence, 0, len(sentence), _ANY_BREAK))

    def closeness(span: Span) -> tuple[float, int]:
        phrase = next(((a, b) for a, b in phrases if a <= span[0] < b), (0, len(sentence)))
        shared = sum(w for a, w in anchors.items() if phrase[0] <= a < phrase[1])
        return -shared, min(abs(span[0] - a) for a in anchors)

    return min(found, key=closeness)


@lru_cache(maxsize=65536)
def _plain(token: str) -> str:
    found = words(token)
    return found[0] if found else token.lower()


def _split(text: str, start: int, end: int, pattern: re.Pattern[str]) -> Iterator[Span]:
    at = start
    for match in pattern.finditer(text, start, end):
        if match.start() > at and text[at : match.start()].strip():
            yield at, match.start()
        at = match.end()
    if at < end and text[at:end].strip():
        yield at, end


def _new_content(text: str, asked: set[str]) -> tuple[int, int]:
    """(content words not in the question, content words) of ``text``."""
    content = [stem(w) for w in words(text) if w not in STOPWORDS]
    return sum(1 for t in content if t not in asked), len(content)


def _cue_span(sentence: str, asked: set[str]) -> Span | None:
    """The phrase after a cue such as "such as", if it adds what the question lacks.

    >>> s = "Egypt has exported agricultural goods, such as cotton and sugar cane, to Europe."
    >>> a, b = _cue_span(s, {"egypt", "agricultur", "europ"})
    >>> s[a:b]
    'cotton and sugar cane'
    """
    for cue in _CUE.finditer(sentence):
        start = cue.end()
        stop = _PHRASE_END.search(sentence, start)
        end = stop.start() if stop else len(sentence)
        end = start + len(sentence[start:end].rstrip(" .,;"))
        new, total = _new_content(sentence[start:end], asked)
        if new and new >= total / 2 and end - start >= MIN_HIGHLIGHT_CHARS:
            return start, end
    return None


def _phrase_span(sentence: str, phrases: list[Span], asked: set[str], anchors: dict[int, float]) -> Span | None:
    """The noun phrase (or list of them) that adds most to the question, near its words.

    >>> s = "Regional dynamics have engendered a cybernetic logic in relations."
    >>> a, b = _phrase_span(s, [(0, 17), (34, 52), (56, 65)], {"region", "dynam", "relat"}, {0: 1.0, 9: 1.0, 56: 1.0})
    >>> s[a:b]
    'a cybernetic logic'
    """
    if not phrases:
        return None
    ordered = sorted(set(phrases))
    candidates = set(ordered)
    for chosen in ordered:
        candidates.add(_as_list(sentence, chosen, ordered))
    best: tuple[float, Span] | None = None
    for a, b in candidates:
        new, total = _new_content(sentence[a:b], asked)
        if not new:
            continue
        near = min(len(sentence[min(a, at) : max(a, at)].split()) for at in anchors)
        score = new - 0.7 * (total - new) - 0.25 * min(near, 10) - 0.1 * max(0, len(sentence[a:b].split()) - 8)
        if best is None or score > best[0]:
            best = (score, (a, b))
    return best[1] if best else None


def _new_words_span(sentence: str, asked: set[str]) -> Span | None:
    """The clause piece that adds most content words the question does not have.

    >>> s = "The valley has long been shaped by seasonal flooding rather than human engineering."
    >>> a, b = _new_words_span(s, {"valley", "human", "engin", "shape", "long"})
    >>> s[a:b]
    'seasonal flooding'
    """
    best: tuple[float, Span] | None = None
    for start, end in _split(sentence, 0, len(sentence), _PIECE_BREAK):
        for a, b in _unasked_runs(sentence, start, end, asked):
            piece = sentence[a:b]
            lead = _LEADING_FUNCTION.match(piece)
            if lead:
                a += lead.end()
            piece = sentence[a:b].rstrip(" .,;:")
            b = a + len(piece)
            new, _ = _new_content(piece, asked)
            if not new or b - a < MIN_HIGHLIGHT_CHARS:
                continue
            score = new - 0.1 * max(0, len(piece.split()) - 8)
            if best is None or score > best[0]:
                best = (score, (a, b))
    if best is None or best[1] == (0, len(sentence.rstrip(" ."))):
        return None
    return best[1]


def _unasked_runs(sentence: str, start: int, end: int, asked: set[str]) -> Iterator[Span]:
    """Runs of words inside ``start:end`` between the words the question has."""
    run_start: int | None = None
    run_end = start
    for m in _TOKEN.finditer(sentence, start, end):
        if stem(_plain(m.group())) in asked:
            if run_start is not None:
                yield run_start, run_end
            run_start = None
        else:
            if run_start is None:
                run_start = m.start()
            run_end = m.end()
    if run_start is not None:
        yield run_start, run_end


def _trimmed(sentence: str) -> Span:
    """The sentence without a leading connective and a trailing parenthetical reference.

    >>> s = "However, relations improved (Hatami & Zargar, 2018, p. 46)."
    >>> a, b = _trimmed(s)
    >>> s[a:b]
    'relations improved'
    """
    start, end = 0, len(sentence)
    lead = _CONNECTIVE.match(sentence)
    if lead and lead.end() < end:
        start = lead.end()
    ref = _REFERENCE.search(sentence, start)
    if ref and ref.start() > start:
        end = ref.start()
    if end - start < MIN_HIGHLIGHT_CHARS:
        return 0, len(sentence)
    return start, end
