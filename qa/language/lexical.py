"""Words for lexical matching: BM25 and term coverage share one tokenizer.

Lower-cased alphanumeric words, English stop words removed, Snowball-stemmed (PyStemmer),
so "rivers" matches "river" and "Peruvian" matches "Peru's" only where the stems agree.
Multi-word place names of the gazetteer ("New Delhi", "United States") become one word, and
``alias_terms`` gives the terms that name the same place ("lima" → "peru", "peruvian").
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

import Stemmer

from qa.language.aliases import alias_groups, capitals, phrases

_WORD = re.compile(r"[a-z0-9]+(?:['’][a-z]+)?")
_POSSESSIVE = re.compile(r"['’][a-z]+$")
# "U.S.", "US" and "USA": the gazetteer leaves out two- and three-letter codes, which collide
# with English words ("us", "in", "and", "can"), so English's one everyday country
# abbreviation, in each of its spellings, is spelt out here.
_USA = re.compile(r"\bU\.S\.(?:A\.)?|\bUSA?\b")
_STEMMER = Stemmer.Stemmer("english")

STOPWORDS = frozenset(
    """
    a about above after again against all also am an and any are aren't as at be because
    been before being below between both but by can could did do does doing down during each
    few for from further had has have having he her here hers herself him himself his how i
    if in into is it its itself just me more most my myself no nor not now of off on once
    only or other our ours ourselves out over own same she should so some such than that the
    their theirs them themselves then there these they this those through to too under until
    up very was we were what when where which while who whom why will with would you your
    yours yourself yourselves s t don shall may might must one per upon whose via
    """.split()
)

@lru_cache(maxsize=65536)
def stem(word: str) -> str:
    """Snowball stem of one lower-case word: ``stem("sanctions") == "sanction"``."""
    return str(_STEMMER.stemWord(word))


def words(text: str) -> list[str]:
    """Lower-case words without possessive endings.

    >>> words("Peru's U.S.-backed plans in the United States")
    ['peru', 'unitedstates', 'backed', 'plans', 'in', 'the', 'unitedstates']
    """
    text = _USA.sub(" United States ", unicodedata.normalize("NFKC", text)).lower()
    found = [_POSSESSIVE.sub("", w) if "'" in w or "’" in w else w for w in _WORD.findall(text)]
    return _join_phrases(found)


def _join_phrases(found: list[str]) -> list[str]:
    """Multi-word place names as one token each (longest match first)."""
    table = phrases()
    longest = _phrase_lengths()
    if longest.keys().isdisjoint(found):
        return found  # no word starts a multi-word name (most texts): nothing to join
    out: list[str] = []
    i = 0
    while i < len(found):
        for n in longest.get(found[i], ()):
            joined = table.get(tuple(found[i : i + n]))
            if joined:
                out.append(joined)
                i += n
                break
        else:
            out.append(found[i])
            i += 1
    return out


@lru_cache(maxsize=1)
def _phrase_lengths() -> dict[str, tuple[int, ...]]:
    """First word of a multi-word name → the lengths of names starting with it, longest first."""
    lengths: dict[str, set[int]] = {}
    for ws in phrases():
        lengths.setdefault(ws[0], set()).add(len(ws))
    return {w: tuple(sorted(n, reverse=True)) for w, n in lengths.items()}


def terms(text: str) -> list[str]:
    """Stemmed content words of ``text``, in order: the tokens BM25 indexes.

    >>> terms("The tariffs on Peru's copper")
    ['tariff', 'peru', 'copper']
    """
    return [stem(w) for w in words(text) if w not in STOPWORDS]


@lru_cache(maxsize=1)
def _alias_stems() -> dict[str, frozenset[str]]:
    out: dict[str, set[str]] = {}
    for token, group in alias_groups().items():
        out.setdefault(stem(token), set()).update(stem(t) for t in group)
    return {t: frozenset(g - {t}) for t, g in out.items()}


def alias_terms(term: str) -> frozenset[str]:
    """Other terms that name the same place as ``term`` (a stem), from the gazetteer.

    >>> sorted(alias_terms("lima"))
    ['peru', 'peruvian']
    """
    return _alias_stems().get(term, frozenset())


@lru_cache(maxsize=1)
def _capital_stems() -> frozenset[str]:
    return frozenset(stem(c) for c in capitals())


def name_variants(term: str) -> frozenset[str]:
    """Other terms for the very same thing as ``term``: a country's names and demonym, but
    not its capital ("peruvian" → "peru", not "lima").

    >>> sorted(name_variants("peruvian")), sorted(name_variants("lima"))
    (['peru'], [])
    """
    capital = _capital_stems()
    if term in capital:
        return frozenset()
    return frozenset(t for t in alias_terms(term) if t not in capital)


def content_words(text: str) -> list[str]:
    """Distinct lower-case content words of ``text``, in order.

    >>> content_words("The rivers of Peru's coast and the rivers")
    ['rivers', 'peru', 'coast']
    """
    return distinct_content(words(text))


def distinct_content(found: list[str]) -> list[str]:
    """Distinct content words of an already split text (``qa.language.lexical.words``), in order."""
    return list(dict.fromkeys(w for w in found if w not in STOPWORDS and not w.isdigit()))
