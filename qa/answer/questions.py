"""What a question asks: its content terms, the kind of answer it wants, and whether it is
about a document itself rather than about what the documents say.

The answer kinds follow the usual taxonomy of factoid question answering (as in the TREC
question classes): "Who …" wants a person, "When …" or "In what year …" a date, "How many
…" a number, "Where …" or "Which city …" a place, "Which company …" an organisation. Each
kind maps to the entity labels (spaCy's OntoNotes labels) that can answer it. The nouns that
name a kind ("city", "president", "company" …) are ordinary English category words.

A question is about a document ("Who wrote the paper?", "When was the article
accepted?", "In which journal does it appear?") when it uses a bibliographic word and refers
to a document. Only those questions may be answered from front matter: title blocks,
bylines and datelines are otherwise citations, not answers.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from qa.language.lexical import STOPWORDS, alias_terms, stem, words

# Words that frame a question rather than name what it asks about.
FRAME_WORDS = frozenset(
    """
    according say says said describe described describes kind kinds type types sort sorts way ways
    text document documents source sources mention mentions mentioned give gives given name named
    called roughly exactly mean means meaning per view regard regarding consider considers considered
    """.split()
)
# Nouns that refer to a document.
DOCUMENT_NOUNS = frozenset(
    """
    paper papers article articles blog post posts journal report study book books document text
    summary piece essay chapter manuscript publication page pages source story entry thesis
    """.split()
)
# Words that ask for a document's bibliographic details.
BIBLIOGRAPHIC = frozenset(
    """
    title titled author authors authored wrote written writer published publish publication publisher
    journal volume pages received accepted submitted affiliation affiliated affiliations
    corresponding correspondence email doi issn isbn keywords dated posted edition
    """.split()
)

_PERSON_NOUNS = (
    "person|people|man|woman|president|minister|leader|author|co-author|writer|poet|novelist|scholar|"
    "scientist|analyst|official|commander|general|king|queen|emperor|ruler|monarch|prince|princess|"
    "founder|inventor|creator|designer|developer|composer|painter|artist|actor|actress|singer|player|"
    "director|chairman|chancellor|governor|mayor|senator|diplomat|ambassador|politician|philosopher|"
    "economist|historian|journalist|explorer|architect|engineer|mathematician|physicist|chemist|"
    "successor|predecessor|son|daughter|father|mother|wife|husband|brother|sister"
)
_PLACE_NOUNS = (
    "place|city|town|village|country|nation|state|province|region|capital|continent|island|river|"
    "mountain|lake|sea|ocean|county|district|territory|port|location"
)
_ORG_NOUNS = (
    "company|organi[sz]ation|institution|party|university|agency|group|band|team|club|firm|"
    "newspaper|magazine|network|bank|body|alliance|bloc|union|publisher"
)
# The time nouns of "In what year …" name the kind of answer, not what the text says.
_TIME_WORDS = frozenset("year years date dates day month century centuries decade decades".split())
_NUMBER_NOUNS = (
    "number|amount|percentage|percent|share|proportion|population|size|length|height|cost|"
    "price|value|total|figure|rate|distance|weight|speed|temperature|capacity|budget|sum|count"
)
_AUX = r"(?:is|was|are|were|do|does|did|has|have|had|can|could|will|would|should|might|may|must)"
# "which NOUN", "what is the NOUN", "what two main NOUNs": the noun the answer is one of.
_WHICH = (r"\b(?:what|which)\s+(?:(?:is|was|are|were)\s+(?:the|a|an)\s+)?"
          r"(?:(?!" + _AUX + r"\b)[\w'’-]+\s+){0,3}?(?:%s)(?:s|es)?\b")

# "Which agreement …", "What interbank messaging system's …": the words naming what the answer is.
_FOCUS = re.compile(r"\b(?:which|what|how\s+many|how\s+much)\s+(?:(?:is|was|are|were)\s+(?:the|a|an)\s+)?"
                    r"((?:(?!" + _AUX + r"\b)[\w'’-]+\s*){1,4})", re.IGNORECASE)
_FOCUS_SKIP = frozenset("kind kinds type types sort sorts way ways one ones".split())

# Answer kind → entity labels that can answer it.
KIND_LABELS: dict[str, frozenset[str]] = {
    "person": frozenset({"PERSON"}),
    "agent": frozenset({"PERSON", "ORG", "NORP", "GPE"}),
    "place": frozenset({"GPE", "LOC", "FAC"}),
    "organisation": frozenset({"ORG"}),
    "date": frozenset({"DATE", "TIME"}),
    "year": frozenset({"DATE"}),
    "number": frozenset({"CARDINAL", "QUANTITY", "MONEY", "PERCENT"}),
    "duration": frozenset({"DATE", "TIME", "CARDINAL", "QUANTITY"}),
    "language": frozenset({"LANGUAGE", "NORP"}),
    "nationality": frozenset({"NORP", "GPE"}),
    "work": frozenset({"WORK_OF_ART", "PRODUCT", "LAW"}),
    "event": frozenset({"EVENT", "DATE"}),
}
_KIND_PATTERNS: tuple[tuple[str, re.Pattern[str]], ...] = tuple(
    (kind, re.compile(pattern, re.IGNORECASE))
    for kind, pattern in (
        ("date", r"\b(?:what|which)\s+(?:exact\s+)?(?:date|day|month)\b|\bon\s+what\s+day\b"),
        ("year", r"\b(?:what|which)\s+(?:[\w'’-]+\s+){0,2}?(?:years?|century|centuries|decades?)\b|\bsince\s+when\b"),
        ("duration", r"\bhow\s+(?:long|old)\b"),
        ("number", r"\bhow\s+(?:many|much|far|tall|high|big|large|deep|wide|heavy|fast)\b|" + _WHICH % _NUMBER_NOUNS),
        ("date", r"^\s*(?:\w+\s+){0,3}?when\b|\bwhen\s+(?:did|was|were|is|does|do|had|has|will)\b"),
        ("person", _WHICH % _PERSON_NOUNS + r"|\bby\s+whom\b|\bwhose\b"),
        ("place", r"^\s*(?:\w+\s+){0,2}?where\b|\bwhere\s+(?:did|was|were|is|are|does|do)\b|" + _WHICH % _PLACE_NOUNS),
        ("organisation", _WHICH % _ORG_NOUNS),
        ("language", _WHICH % "language"),
        ("nationality", _WHICH % "nationality"),
        ("work", _WHICH % "book|novel|film|movie|song|album|play|poem|painting|opera|treaty|law|act"),
        ("event", _WHICH % "war|battle|event|revolution|conflict|crisis|election|summit|conference"),
        ("agent", r"^\s*(?:\w+\s+){0,2}?who(?:m)?\b|\bwho\s+(?:is|was|were|are|did|does|has|had)\b"),
    )
)


@dataclass(frozen=True)
class Question:
    """A question, analysed."""

    text: str
    terms: tuple[str, ...]  # distinct content terms (stems), frame words left out
    surface: tuple[str, ...]  # per term, the word as the question writes it (lower case)
    aliases: tuple[frozenset[str], ...]  # per term, the other terms naming the same place
    kind: str | None  # the kind of answer asked for (a key of KIND_LABELS), or None
    about_document: bool  # asks for a document's title, authors, dates, journal …
    focus: tuple[str, ...] = ()  # terms of the phrase after "which"/"what": what the answer is one of
    weights: tuple[float, ...] = ()  # per term, how much it counts (empty: 1 each); a follow-up's
    # terms carried from earlier questions count less (``qa.answer.conversation``)
    context: str = ""  # the earlier questions a follow-up leans on

    def weight(self, i: int) -> float:
        """How much term ``i`` counts."""
        return self.weights[i] if self.weights else 1.0

    @property
    def labels(self) -> frozenset[str]:
        """Entity labels that can answer the question (empty when it asks for no kind)."""
        return KIND_LABELS.get(self.kind or "", frozenset())


def analyse(question: str, document_words: frozenset[str] = frozenset()) -> Question:
    """Analyse a question; ``document_words`` are extra words that name a document in this
    collection (its kinds: "blog", "news", "summary" …).

    >>> q = analyse("In what year did Lima cancel the A-300 order, according to the blog?")
    >>> q.kind, q.terms, q.about_document
    ('year', ('lima', 'cancel', '300', 'order'), False)
    >>> analyse("Who wrote the paper?").about_document
    True
    """
    found = words(question)
    kind = answer_kind(question)
    skip = FRAME_WORDS | DOCUMENT_NOUNS | (_TIME_WORDS if kind in ("date", "year") else frozenset())
    seen: dict[str, str] = {}
    for w in found:
        if w not in STOPWORDS and w not in skip:
            seen.setdefault(stem(w), w)
    terms = tuple(seen)
    return Question(
        text=question,
        terms=terms,
        surface=tuple(seen.values()),
        aliases=tuple(alias_terms(t) for t in terms),
        kind=kind,
        about_document=_about_document(set(found), document_words),
        focus=_focus(question),
    )


def answer_kind(question: str) -> str | None:
    """The kind of answer a question asks for, or None.

    >>> answer_kind("Which Chilean president was ousted in 1973?")
    'person'
    >>> answer_kind("What is the capital of Peru?")
    'place'
    >>> answer_kind("Why did relations improve?") is None
    True
    """
    for kind, pattern in _KIND_PATTERNS:
        if pattern.search(question):
            return kind
    return None


def _focus(question: str) -> tuple[str, ...]:
    """Stems of the (up to four) words after "which", "what", "how many" before a verb form.

    >>> _focus("Which Soviet intelligence service helped foil the coup?")
    ('soviet', 'intellig', 'servic', 'help')
    >>> _focus("What is the capital of Peru?")
    ('capit',)
    >>> _focus("How many German tourists visited Peru?")
    ('german', 'tourist', 'visit', 'peru')
    """
    m = _FOCUS.search(question)
    if not m:
        return ()
    out = []
    for w in words(m.group(1)):
        if w in STOPWORDS or w in FRAME_WORDS:
            break
        if w not in _FOCUS_SKIP:
            out.append(stem(w))
    return tuple(out)


def _about_document(found: set[str], document_words: frozenset[str]) -> bool:
    if not found & BIBLIOGRAPHIC:
        return False
    return bool(found & (DOCUMENT_NOUNS | document_words)) or bool(found & {"journal", "manuscript", "doi"})
