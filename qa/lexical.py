"""Words for lexical matching: BM25 and term coverage share one tokenizer.

Lower-cased alphanumeric words, English stop words removed, Snowball-stemmed (PyStemmer),
so "sanctions" matches "sanction" and "Iranian" matches "Iran's" only where the stems agree.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

import Stemmer

_WORD = re.compile(r"[a-z0-9]+(?:['’][a-z]+)?")
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

# Words that frame a question rather than name what it asks about.
QUESTION_WORDS = frozenset(
    """
    according say says said describe described kind type types sort way ways paper blog
    article author authors text document documents source sources mention mentions mentioned
    give given name named called roughly exactly mean means meaning
    """.split()
)


@lru_cache(maxsize=65536)
def stem(word: str) -> str:
    """Snowball stem of one lower-case word: ``stem("sanctions") == "sanction"``."""
    return str(_STEMMER.stemWord(word))


def words(text: str) -> list[str]:
    """Lower-case words without possessive endings.

    >>> words("Iran's U.S.-backed plans")
    ['iran', 'usa', 'backed', 'plans']
    """
    text = _USA.sub(" usa ", unicodedata.normalize("NFKC", text)).lower()
    return [re.sub(r"['’][a-z]+$", "", w) for w in _WORD.findall(text)]


def terms(text: str) -> list[str]:
    """Stemmed content words of ``text``, in order: the tokens BM25 indexes.

    >>> terms("The sanctions on Iran's oil")
    ['sanction', 'iran', 'oil']
    """
    return [stem(w) for w in words(text) if w not in STOPWORDS]


def query_terms(question: str) -> list[str]:
    """Distinct content terms of a question, without question-framing words."""
    seen: dict[str, None] = {}
    for w in words(question):
        if w not in STOPWORDS and w not in QUESTION_WORDS:
            seen.setdefault(stem(w), None)
    return list(seen)
