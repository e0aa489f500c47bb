"""The highlight: the part of the best sentence that answers, tighter than the sentence.

A sentence that answers a question usually restates part of the question and adds the
answer. Three rules, tried in order, find the added part; a wrong tight highlight would
mislead, so each rule fires only on a clear signal:

1. **Typed answers.** "Who …", "In what year …", "On what date …", "How many …" ask for a
   name, a year, a date or a number. The entity of that type that the question does not
   already contain, in the clause sharing most words with the question, is the highlight
   ("… Putin's return to the presidency in **2012** …").
2. **Cue phrases.** When the question asks for kinds, areas, examples or reasons, what
   follows "such as", "including", "particularly in", "primarily due
   to" … up to the end of its phrase is the highlight ("Russia has provided military
   technologies, such as **missile systems and radars**, to Iran …").
3. Otherwise the sentence, without a leading connective ("However, ") and a trailing
   reference in parentheses.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping

from qa.lexical import STOPWORDS, query_terms, stem, words

MIN_HIGHLIGHT_CHARS = 4
_ANY_BREAK = re.compile(r"\s*(?:[,;:()\[\]]|\s[—–-]\s|—|–)\s*")
_CUE = re.compile(
    r"\b(?:such as|including|namely|especially|primarily due to|mainly due to|due to|because of|"
    r"particularly(?: (?:in|on|for|with))?(?: (?:the )?areas? of)?)\s+",
    re.IGNORECASE,
)
# A cue's phrase ends at a hard break, or at a comma not followed by a list item.
_PHRASE_END = re.compile(r"\s*(?:[;:()\[\]]|\s[—–-]\s|—|–)|,\s+(?!and\b|or\b|[A-Z0-9])")
_ASKS_FOR_EXAMPLES = re.compile(
    r"\b(?:what|which) (?:[\w-]+ ){0,2}(?:types?|kinds?|sorts?|fields?|areas?|sectors?|lines?|regions?|"
    r"examples?|forms?|obstacles?|barriers?|factors?|reasons?|grounds?|causes?)\b|\bwhy\b|\bwhere\b",
    re.IGNORECASE,
)
_CONNECTIVE = re.compile(
    r"^(?:However|Moreover|Additionally|Furthermore|Consequently|Thus|Therefore|Nevertheless|"
    r"Meanwhile|Similarly|Conversely|Simultaneously|Subsequently|Overall|Notably|Yet|Still),\s+"
)
_REFERENCE = re.compile(r"\s*\([^()]*\b(?:1[89]|20)\d\d[a-z]?\b[^()]*\)\.?\s*$")
_TOKEN = re.compile(r"[A-Za-z0-9$][\w$'’.-]*[\w$]|[A-Za-z0-9$]")
_MONTH = (r"(?:January|February|March|April|May|June|July|August|September|October|November|"
          r"December|Jan|Feb|Mar|Apr|Jun|Jul|Aug|Sep|Sept|Oct|Nov|Dec)\.?")
_DATE = re.compile(
    rf"\b{_MONTH}\s+\d{{1,2}}(?:-\d{{1,2}})?,?\s+\d{{4}}\b|\b\d{{1,2}}\s+{_MONTH}\s+\d{{4}}\b|"
    rf"\b\d{{4}}[/-]\d{{2}}[/-]\d{{2}}\b|\b{_MONTH}\s+\d{{4}}\b"
)
_YEAR = re.compile(r"\b(?:(?:the\s+)?(?:early|mid|late)[\s-]+)?(?:1[5-9]|20)\d\d(?:s\b)?\b")
_NUMBER = re.compile(
    r"[$€£]?\d[\d,.]*\d(?:\s*(?:%|percent|per cent|million|billion|trillion|thousand|hundred))?|[$€£]?\d"
)
_NAME = re.compile(r"\b[A-Z][a-z]+(?:[-\s](?:[A-Z][a-z]+|al|bin|de|van|von))*\s[A-Z][a-z]+(?:-[A-Z][a-z]+)?\b")
_TITLES = {"President", "Minister", "Prime", "Dr", "Mr", "Mrs", "Ms", "Professor", "Leader", "Supreme", "General"}
_BRACKETED = re.compile(r"\([^()]*\)")
_MONTH_WORDS = set(re.findall(r"[A-Z][a-z]+", _MONTH))
# Capitalised words that make a run of capitalised words a place, body or title, not a person.
_NOT_PERSON = set(
    """University Department Faculty Studies Relations International Council Organization
    Organisation Union Republic Ministry Security Nations United States Economic Cooperation
    Corridor Sea Gulf Ocean Asia Europe Africa America East West North South Central Middle
    Islamic Revolution War Civil World Review Affairs Center Centre Institute Strategy
    Strategic National Federation Soviet Peninsula Forces Agency Bank Fund Agreement Treaty
    Policy Party Times York New Journal News Press Association Committee Commission Office
    Government Administration Assembly Parliament Court Company Corporation Group Army Navy
    Research Foreign Supreme Leader Associate Professor Candidate Political Futures""".split()
)


def question_type(question: str) -> str | None:
    """What kind of answer a question asks for: person, date, year, number or None.

    >>> question_type("In what year did Putin return to the presidency?")
    'year'
    >>> question_type("Which Ukrainian president was ousted in 2014?")
    'person'
    """
    q = question.lower()
    if re.search(r"\b(?:what|which) (?:exact )?date\b|\bon what day\b", q):
        return "date"
    if re.search(r"\b(?:what|which) year\b|\bwhen\b|\bsince when\b", q):
        return "year"
    if re.search(r"\bhow (?:many|much)\b|\bwhat (?:percentage|share|number|amount)\b", q):
        return "number"
    if re.search(r"^\s*who\b|\b(?:which|what) (?:[\w'’-]+ ){0,3}(?:president|minister|leader|author|"
                 r"co-author|person|official|commander|scholar|analyst)s?\b", q):
        return "person"
    return None


def answer_span(sentence: str, question: str, weights: Mapping[str, float] | None = None) -> tuple[int, int]:
    """``(start, end)`` inside ``sentence`` of the span to highlight.

    ``weights`` gives each question term its weight (IDF): a rare word the sentence shares
    with the question says more about where the answer sits than a common one.
    """
    asked = set(query_terms(question))
    anchors: dict[int, float] = {}
    for m in _TOKEN.finditer(sentence):
        term = stem(_plain(m.group()))
        if term in asked:
            anchors[m.start()] = weights.get(term, 1.0) if weights else 1.0
    if asked and anchors:
        span = _typed_span(sentence, question, asked, anchors)
        if span is None and _ASKS_FOR_EXAMPLES.search(question):
            span = _cue_span(sentence, asked)
        if span:
            return span
    return _trimmed(sentence)


def _plain(token: str) -> str:
    found = words(token)
    return found[0] if found else token.lower()


def typed_entities(sentence: str, kind: str, asked: set[str]) -> list[tuple[int, int]]:
    """Spans of the names, years, dates or amounts (``kind``) in ``sentence`` that the
    question (its terms ``asked``) does not already contain; asides in parentheses excluded.

    >>> s = "Putin returned in 2012 (Smith, 2019), after 2008."
    >>> [s[a:b] for a, b in typed_entities(s, "year", {"2008"})]
    ['2012']
    """
    pattern = {"date": _DATE, "year": _YEAR, "number": _NUMBER, "person": _NAME}[kind]
    found: list[tuple[int, int]] = []
    if not pattern.search(sentence):
        return []
    bracketed = [m.span() for m in _BRACKETED.finditer(sentence)]
    for match in pattern.finditer(sentence):
        start, end = match.span()
        if any(a <= start < b for a, b in bracketed):
            continue  # a reference or an aside, not the answer
        if kind == "person":
            start, end = _strip_titles(sentence, start, end)
            if " " not in sentence[start:end].strip():
                continue  # a person is named with at least two words here
            if set(re.findall(r"[A-Za-z]+", sentence[start:end])) & (_MONTH_WORDS | _NOT_PERSON):
                continue
        if any(stem(w) in asked for w in words(sentence[start:end])):
            continue  # the question already says it
        if kind == "number" and _YEAR.fullmatch(sentence[start:end]):
            continue  # a year is not an amount
        if end - start >= 1:
            found.append((start, end))
    return found


def _typed_span(
    sentence: str, question: str, asked: set[str], anchors: dict[int, float]
) -> tuple[int, int] | None:
    kind = question_type(question)
    if kind is None or not anchors:
        return None
    found = typed_entities(sentence, kind, asked)
    if not found:
        return None
    phrases = list(_split(sentence, 0, len(sentence), _ANY_BREAK))

    def closeness(span: tuple[int, int]) -> tuple[float, int]:
        """Prefer the phrase sharing the most (weighted) question words, then the nearest."""
        phrase = next(((a, b) for a, b in phrases if a <= span[0] < b), (0, len(sentence)))
        shared = sum(w for a, w in anchors.items() if phrase[0] <= a < phrase[1])
        return -shared, min(abs(span[0] - a) for a in anchors)

    return min(found, key=closeness)


def _strip_titles(sentence: str, start: int, end: int) -> tuple[int, int]:
    """Drop leading titles and function words: "President Viktor Yanukovych" → "Viktor
    Yanukovych", "For Iran" → "Iran"."""
    while True:
        word = re.match(r"[A-Za-z]+", sentence[start:end])
        if not word or (word.group() not in _TITLES and word.group().lower() not in STOPWORDS):
            return start, end
        rest = sentence[start + word.end() : end]
        start += word.end() + (len(rest) - len(rest.lstrip()))


def _split(text: str, start: int, end: int, pattern: re.Pattern[str]) -> Iterator[tuple[int, int]]:
    at = start
    for match in pattern.finditer(text, start, end):
        if match.start() > at and text[at : match.start()].strip():
            yield at, match.start()
        at = match.end()
    if at < end and text[at:end].strip():
        yield at, end


def _cue_span(sentence: str, asked: set[str]) -> tuple[int, int] | None:
    """The phrase after a cue such as "such as", if it adds what the question lacks.

    >>> s = "Russia has provided military technologies, such as missile systems and radars, to Iran."
    >>> a, b = _cue_span(s, {"russia", "militari", "iran"})
    >>> s[a:b]
    'missile systems and radars'
    """
    for cue in _CUE.finditer(sentence):
        start = cue.end()
        stop = _PHRASE_END.search(sentence, start)
        end = stop.start() if stop else len(sentence)
        end = start + len(sentence[start:end].rstrip(" .,;"))
        content = [stem(w) for w in words(sentence[start:end]) if w not in STOPWORDS]
        new = sum(1 for t in content if t not in asked)
        if new and new >= len(content) / 2 and end - start >= MIN_HIGHLIGHT_CHARS:
            return start, end
    return None


def _trimmed(sentence: str) -> tuple[int, int]:
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
