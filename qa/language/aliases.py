"""Place aliases from a gazetteer: a country, its capital and its demonym name one thing.

A question may say "Lima" or "Canberra" where the text says "Peru" or "Australia", or
"Peruvian" for "Peru". The alias groups come from the
``countryinfo`` package (name, capital, demonym and alternative spellings of each
country), nothing from any corpus: every word of a group stands for the others.

Multi-word names ("Republic of Peru", "New Delhi") become one token, the
country's name joined (``phrases``), so that lexical matching sees them as one word.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

_WORDLIKE = re.compile(r"^[A-Za-z][A-Za-z .'-]*[A-Za-z.]$")


def _names() -> list[tuple[list[str], list[str]]]:
    """Per country: its names (name and alternative spellings, the name first), and the
    other words for it (capital, demonym); ASCII words only."""
    import countryinfo

    groups = []
    for country in countryinfo.all_countries():
        info = country.info()
        names = _clean([info.get("name"), *(info.get("altSpellings") or [])])
        others = _clean([info.get("capital"), info.get("demonym")])
        if names:
            groups.append((names, others))
    return groups


def _clean(names: list[object]) -> list[str]:
    out = []
    for name in names:
        if not isinstance(name, str):
            continue
        name = unicodedata.normalize("NFKC", name).strip()
        if _WORDLIKE.match(name) and not (name.isupper() and len(name) <= 3):
            out.append(name)  # codes such as "US" or "IRN" collide with ordinary words
    return out


_TOKEN = re.compile(r"[a-z0-9]+(?:['’][a-z]+)?")


def name_words(name: str) -> tuple[str, ...]:
    """A name as the lexical tokenizer splits it: ``name_words("Washington D.C.") == ("washington", "d", "c")``."""
    return tuple(_TOKEN.findall(name.lower()))


def _joined(name: str) -> str:
    """A name as one token, without initials: "Washington D.C." → "washington"."""
    return "".join(w for w in name_words(name) if len(w) > 1)


@lru_cache(maxsize=1)
def phrases() -> dict[tuple[str, ...], str]:
    """Each multi-word name, as words, → the one token it becomes: a country's names become
    its name joined ("united states of america" → "unitedstates", "republic of peru" →
    "peru"), other names their own words joined ("new delhi" → "newdelhi")."""
    out: dict[tuple[str, ...], str] = {}
    for names, others in _names():
        country = _joined(names[0])
        for name in names + others:
            ws = name_words(name)
            if len(ws) > 1:
                out.setdefault(ws, country if name in names else _joined(name))
    return out


@lru_cache(maxsize=1)
def alias_groups() -> dict[str, frozenset[str]]:
    """Each alias word (lower case, a multi-word name as its one token) → every word of its group."""
    table = phrases()
    out: dict[str, set[str]] = {}
    for names, others in _names():
        tokens = {table.get(name_words(n), _joined(n)) for n in names + others}
        for token in tokens:
            out.setdefault(token, set()).update(tokens)
    return {token: frozenset(group) for token, group in out.items()}


@lru_cache(maxsize=1)
def capitals() -> frozenset[str]:
    """The tokens of the capitals: a capital names a city, not its country."""
    table = phrases()
    import countryinfo

    out = set()
    for country in countryinfo.all_countries():
        capital = country.info().get("capital")
        if isinstance(capital, str) and _WORDLIKE.match(unicodedata.normalize("NFKC", capital).strip()):
            out.add(table.get(name_words(capital), _joined(capital)))
    return frozenset(out)
