"""Follow-up questions: a question read in the light of the conversation's earlier questions.

No text is written for the user. A question that leans on earlier turns ("Who signed it?",
"What about Chile?", "And when?") keeps its own words at full weight and takes terms of the
questions it leans on at a lower weight (``CARRIED``): their nouns, names and numbers when it
has a verb of its own (a pronoun stands for a noun phrase), all their terms when it is
elliptical. Its query vector leans towards theirs by the same weight. A question that stands
on its own is answered exactly as without history.

Whether a question leans back is read from its parse (spaCy's English pipeline, the one the
index's entity tagger uses), with cues of English grammar, not of any collection:

* a third-person pronoun ("it", "they", "his" …) with no antecedent inside the question: an
  earlier noun of the question that agrees with it in number, outside the pronoun's own clause
  (a reflexive would be used there: "Does Peru want it?" cannot mean Peru) unless the
  pronoun is a possessive, which may also look ahead to the subject ("In its conclusion,
  does the paper …"); "it" as the dummy subject of "Is it true that …", "How long did it
  take … to …" or of a cleft ("Which plant was it that …") is no pronoun of a thing, nor
  is the "they" of "What do they call …";
* a demonstrative ("that deal", "Why was that?"), unless it points at a document ("this
  paper") or a time ("this year"), or is the head of a relative clause ("those who …");
* "there", "then", "else", "too", "instead" (not "instead of …"), "as well", "the financial
  one", or an opening "And …", "But …";
* a noun phrase after "the" all of whose words an earlier question named ("What did the
  agreement block?"): it leans on the latest question that named them, even past a question
  between; "the parse function" after a question about "the format function", or "the name
  of the river that …", has words of its own and stands alone;
* an elliptical question: no verb, and either an opening "what about" / "how about" /
  conjunction, or at most one content word ("And when?", "How many?", "Turkey?").

An elliptical question also takes the earlier question's answer kind, "which" words and
whether it asked about a document ("When did Chile join?" → "What about Peru?" asks for a
date). When the follow-up names an entity of a kind the earlier question named ("What about
Peru?" after a question about Chile), the earlier names of that kind weigh less still
(``DISPLACED``): the new name takes their place (all earlier names, for an elliptical
follow-up whose name is of no kind they are). A follow-up about a document's details ("And
when was it accepted?") after a question about a document is about the document too.

A chain of follow-ups carries back to the last question that stood on its own; a term's
weight is multiplied by ``CARRIED`` at each turn it is carried over, so the nearer turns
count more.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from qa.answer.questions import BIBLIOGRAPHIC, DOCUMENT_NOUNS, Question
from qa.language.lexical import STOPWORDS, stem, words

CARRIED = 0.5  # an earlier question's term weighs half the new question's own
DISPLACED = 0.25  # … a quarter when the new question names another entity of its kind

_THIRD_PERSON = {
    "it": "singular", "its": "singular", "itself": "singular",
    "they": "plural", "them": "plural", "their": "plural", "theirs": "plural", "themselves": "plural",
    "he": "person", "him": "person", "his": "person", "himself": "person",
    "she": "person", "her": "person", "hers": "person", "herself": "person",
}
_DEMONSTRATIVES = frozenset({"this", "that", "these", "those"})
_TIME_NOUNS = frozenset("year years month months week weeks day days time times century decade morning evening".split())
_BACK_ADVERBS = frozenset({"there", "then", "else", "too", "instead"})
_OPENING_CONJUNCTIONS = frozenset({"and", "but", "or", "so", "also", "plus"})
_CLAUSES = frozenset({"ccomp", "xcomp", "csubj", "advcl"})
_CALL = frozenset({"call", "calls", "called", "calling"})
_NOMINAL_POS = frozenset({"NOUN", "PROPN", "NUM"})
_NOMINAL = frozenset({"nsubj", "nsubjpass", "dobj", "pobj", "attr"})
_BE = frozenset("is was are were be been being 's".split())
_DUMMY_HEADS = _BE | frozenset("take takes took taken taking seem seems seemed appear appears appeared "
                               "matter matters mattered".split())
_ABOUT = re.compile(r"^\W*(?:(?:and|but|so|or)\s+)?(?:what|how)\s+about\b", re.IGNORECASE)
_TOKEN = re.compile(r"[\w'’-]+")
_CUE_WORDS = (frozenset(_THIRD_PERSON) | _DEMONSTRATIVES | _BACK_ADVERBS | _OPENING_CONJUNCTIONS
              | {"well", "about", "one", "ones"})

Parse = Callable[[list[str]], list[Any]]  # texts → spaCy Docs


@dataclass(frozen=True)
class Cues:
    """Why a question leans on earlier ones (``reasons`` empty: it stands alone)."""

    reasons: tuple[str, ...]
    elliptical: bool
    names: dict[str, str] = field(default_factory=dict)  # stem of each word of a named entity → its label
    bibliographic: bool = False  # it uses a word asking for a document's details ("accepted", "author")
    nominal: frozenset[str] = frozenset()  # stems of its nouns, names, numbers and their adjectives
    # its noun phrases after "the" ("the agreement", "the missile deal"), each as the stems of
    # its words: such a phrase refers back only when an earlier question named all of them
    definite: frozenset[frozenset[str]] = frozenset()

    @property
    def leans_back(self) -> bool:
        return bool(self.reasons)


@dataclass(frozen=True)
class Followup:
    """A question as it is answered: ``question`` holds its own terms and, for a follow-up,
    the carried ones (with their weights); ``chain`` the earlier questions it leans on,
    oldest first; ``interpreted_as`` the question with the carried words, or None when the
    history changed nothing."""

    question: Question
    chain: tuple[str, ...] = ()
    interpreted_as: str | None = None
    leans: tuple[float, ...] = ()  # per turn after the chain's first, and for the question: see query_vector


def cues(doc: Any, own_terms: int) -> Cues:
    """The cues in one parsed question (``own_terms``: how many content terms it has)."""
    tokens = list(doc)
    reasons: list[str] = []
    for i, tok in enumerate(tokens):
        low = tok.lower_
        if low in _THIRD_PERSON and tok.pos_ == "PRON":
            if not _dummy_it(tok) and not _generic_they(tok) and not _antecedent(tokens, tok, _THIRD_PERSON[low]):
                reasons.append(f"pronoun {tok.text!r}")
        elif low in _DEMONSTRATIVES and (tok.tag_ == "DT" and tok.pos_ in ("DET", "PRON")
                                         or tok.tag_ != "WDT" and tok.dep_ in _NOMINAL and _last_word(tok)):
            # the second line: a final "that" the tagger took for a conjunction ("what year was that")
            if tok.dep_ == "det" and tok.head.lower_ in DOCUMENT_NOUNS | _TIME_NOUNS:
                continue
            if tok.dep_ != "det" and any(c.dep_ in ("relcl", "acl", "prep") for c in tok.children):
                continue
            reasons.append(f"demonstrative {tok.text!r}")
        elif (low in _BACK_ADVERBS and tok.pos_ == "ADV" and tok.tag_ != "EX"
              and not (low == "instead" and i + 1 < len(tokens) and tokens[i + 1].lower_ == "of")):
            reasons.append(f"{tok.text!r}")  # not "instead of a file", which names its alternative
        elif low == "well" and i and tokens[i - 1].lower_ == "as" and i + 1 >= len(tokens) - 1:
            reasons.append("'as well'")
        elif low in ("one", "ones") and tok.pos_ in ("NOUN", "PRON") and _substitute_one(tok):
            reasons.append(f"{tok.text!r}")
    words_ = [t for t in tokens if not t.is_punct]
    if words_ and words_[0].lower_ in _OPENING_CONJUNCTIONS:
        reasons.append(f"opening {words_[0].text!r}")
    verbless = not any(t.pos_ in ("VERB", "AUX") for t in tokens)
    about = bool(_ABOUT.search(doc.text))
    elliptical = verbless and (about or own_terms <= 1 or bool(reasons))
    if elliptical:
        reasons.append("no verb")
    names = {stem(w): "PROPN" for t in tokens if t.pos_ == "PROPN" for w in words(t.text) if w not in STOPWORDS}
    names |= {stem(w): ent.label_ for ent in doc.ents for w in words(ent.text) if w not in STOPWORDS}
    bibliographic = bool({t.lower_ for t in tokens} & BIBLIOGRAPHIC)
    nominal = frozenset(stem(w) for t in tokens if t.pos_ in _NOMINAL_POS or t.pos_ == "ADJ" and t.dep_ == "amod"
                        for w in words(t.text)) | frozenset(names)
    definite = frozenset(_definite_phrase(t) for t in tokens if t.pos_ == "NOUN" and t.dep_ != "compound"
                         and t.lower_ not in DOCUMENT_NOUNS
                         and not any(c.dep_ == "compound" and c.lower_ in DOCUMENT_NOUNS for c in t.children)
                         and any(c.dep_ == "det" and c.lower_ == "the" for c in t.children))
    return Cues(tuple(dict.fromkeys(reasons)), elliptical, names, bibliographic, nominal, definite)


def _definite_phrase(head: Any) -> frozenset[str]:
    """The stems of the words of the noun phrase headed by ``head`` ("the missile deal" →
    missile, deal; "the name of the king" → name, king), without determiners and stop words."""
    return frozenset(stem(w) for t in head.subtree if t.dep_ not in ("det", "punct")
                     for w in words(t.text) if w not in STOPWORDS)


def _substitute_one(tok: Any) -> bool:
    """"one" standing for a noun said before: "the financial one", "which one", "the other
    ones"; not "no one", "each one", "one of them"."""
    dets = [c for c in tok.children if c.dep_ in ("det", "amod")]
    if not dets or any(c.lower_ in ("no", "every", "each", "any", "some") for c in dets):
        return False
    return not any(c.dep_ == "prep" and c.lower_ == "of" for c in tok.children)


def _dummy_it(tok: Any) -> bool:
    """"it" as the subject standing for a clause later on: "Is it true that …", "What is
    it that …", "How long did it take the builders to …", "What makes it hard for Peru to …"."""
    if tok.lower_ != "it" or tok.dep_ not in ("nsubj", "nsubjpass", "attr"):
        return False
    head = tok.head
    after = tok.nbor(1) if tok.i + 1 < len(tok.doc) else None
    if head.lower_ in _BE and after is not None and after.lower_ in ("that", "who", "which"):
        return True  # a cleft: "Which bridge was it that the Romans built?"
    if head.pos_ != "ADJ" and head.lower_ not in _DUMMY_HEADS:
        return False
    return any(c.dep_ in _CLAUSES and c.i > tok.i for c in head.children)


def _generic_they(tok: Any) -> bool:
    """"they" of no one in particular: "What do they call a user who …"."""
    return tok.lower_ == "they" and tok.dep_ == "nsubj" and tok.head.lower_ in _CALL


def _last_word(tok: Any) -> bool:
    """Whether only punctuation follows ``tok`` in its question."""
    return all(t.is_punct for t in tok.doc[tok.i + 1 :])


def _clause(tok: Any) -> int:
    """The position of the verb (or the root) heading the clause a token is in."""
    while tok.pos_ not in ("VERB", "AUX") and tok.head.i != tok.i:
        tok = tok.head
    return int(tok.i)


def _antecedent(tokens: list[Any], pronoun: Any, agreement: str) -> bool:
    """Whether a noun of the question can be what ``pronoun`` refers to: one before it, or
    for a possessive ahead of the verb, the subject after it ("In its conclusion, does
    the paper say …")."""
    own_clause = _clause(pronoun)
    possessive = pronoun.tag_ == "PRP$"
    for tok in tokens:
        if tok.pos_ not in ("NOUN", "PROPN") or tok.i == pronoun.head.i:
            continue
        if tok.i > pronoun.i and not (possessive and tok.dep_ in ("nsubj", "nsubjpass")
                                      and pronoun.i < tok.head.i):
            continue
        if tok.lower_ in DOCUMENT_NOUNS and not possessive:
            continue  # "What does the paper say about it?": the source, not what it speaks of
        if not possessive and _clause(tok) == own_clause:
            continue
        if agreement == "singular" and tok.tag_ in ("NN", "NNP"):
            return True
        if agreement == "plural" and (tok.tag_ in ("NNS", "NNPS") or any(c.dep_ == "conj" for c in tok.children)):
            return True
        if agreement == "person" and (tok.ent_type_ == "PERSON" or tok.tag_ in ("NN", "NNP")):
            return True
    return False


@dataclass(frozen=True)
class _Topic:
    """What the conversation is about so far: the last turn as read, and its names."""

    question: Question
    weights: tuple[float, ...]
    names: dict[str, str]
    nominal: frozenset[str]
    leans: tuple[float, ...] = ()  # how far each turn of its chain leans towards the one before


def may_lean(question: Question) -> bool:
    """Whether ``question`` has a word a cue needs (a pronoun, "that", "about", "and" …) or at
    most one content term: without either, ``cues`` finds none, so no parse is needed."""
    return len(question.terms) <= 1 or bool(set(words(question.text)) & _CUE_WORDS)


def interpret(question: Question, history: Sequence[Question], parse: Parse) -> Followup:
    """Read ``question`` after the earlier ``history`` (oldest first), all analysed;
    ``parse`` parses texts (``SpacyTagger.parse``)."""
    if not history or not (may_lean(question) or _echoes(question, history)):
        return Followup(question)
    turns = [*history, question]
    docs = parse([q.text for q in turns])
    topics: list[_Topic] = []
    chains: list[list[str]] = []
    for turn, doc in zip(turns, docs):
        found = cues(doc, len(turn.terms))
        base = _leans_on(found, topics)
        if base is None:
            topics.append(_Topic(turn, (1.0,) * len(turn.terms), found.names, found.nominal))
            chains.append([turn.text])
        else:
            topics.append(_merge(turn, found, topics[base]))
            chains.append([*chains[base], turn.text])
    topic, chain = topics[-1], chains[-1]
    if len(chain) == 1 or topic.question == question:
        return Followup(question)
    read = replace(topic.question, weights=topic.weights)
    if read.terms == question.terms and read.kind == question.kind:
        return Followup(question)
    carried = read.surface[len(question.terms):]
    shown = _phrases(chain[:-1], set(read.terms[len(question.terms):]), carried)
    interpreted = f"{question.text} [{', '.join(shown)}]" if shown else question.text
    return Followup(read, tuple(chain[:-1]), interpreted, topic.leans)


def _echoes(question: Question, history: Sequence[Question]) -> bool:
    """Whether ``question`` uses "the" and a term of an earlier question (it may refer to it
    by a definite noun: "the agreement"), so that it must be parsed."""
    return "the" in words(question.text) and bool(set(question.terms) & {t for q in history for t in q.terms})


def _leans_on(found: Cues, topics: list[_Topic]) -> int | None:
    """The earlier turn a turn leans on: the one before it for a pronoun, an ellipsis …; for
    a definite noun an earlier turn named ("the agreement"), the latest turn that named it;
    None when it stands on its own."""
    if not topics:
        return None
    if found.leans_back:
        return len(topics) - 1
    return next((k for k in reversed(range(len(topics)))
                 if any(phrase and phrase <= topics[k].nominal for phrase in found.definite)), None)


def _merge(turn: Question, found: Cues, topic: _Topic) -> _Topic:
    """``turn``'s own terms at full weight, then the topic's others at ``CARRIED`` times
    their weight there (``DISPLACED`` times for a name the turn replaces). A pronoun stands
    for a noun phrase, so a turn with its own verb takes only the topic's nominal terms; an
    elliptical one ("And when?") stands for the whole earlier question and takes them all."""
    earlier = topic.question
    own = set(turn.terms)
    # "What about Peru?" after "When did Chile join the Pacific Alliance?": the new name takes
    # the place of the earlier names of its kind, or when none is of its kind (an elliptical
    # turn), of all of them
    earlier_names = {t for t in topic.names if t not in found.names}
    replaced = {t for t in earlier_names if topic.names[t] in set(found.names.values())}
    if not replaced and found.elliptical and found.names:
        replaced = earlier_names
    terms, surface, aliases, weights = list(turn.terms), list(turn.surface), list(turn.aliases), [1.0] * len(turn.terms)
    for t, s, a, w in zip(earlier.terms, earlier.surface, earlier.aliases, topic.weights):
        if t in own or not (found.elliptical or t in topic.nominal):
            continue
        share = DISPLACED if t in replaced else CARRIED
        terms.append(t)
        surface.append(s)
        aliases.append(a)
        weights.append(w * share)
    elliptical = found.elliptical
    merged = replace(
        turn,
        terms=tuple(terms),
        surface=tuple(surface),
        aliases=tuple(aliases),
        kind=turn.kind or (earlier.kind if elliptical else None),
        focus=turn.focus or (earlier.focus if elliptical else ()),
        # "Who wrote the paper?" → "Where does he teach?": still about the document; "What does
        # the paper argue?" → "What keywords does it list?": about it now
        about_document=turn.about_document or earlier.about_document
        or (found.bibliographic and bool(set(words(earlier.text)) & DOCUMENT_NOUNS)),
        context=" ".join(filter(None, (earlier.context, earlier.text))),
    )
    names = {**{t: label for t, label in topic.names.items() if t in terms}, **found.names}
    # the earlier question's vector holds the names this turn replaces: it counts as they do
    lean = DISPLACED if replaced & set(terms) else CARRIED
    return _Topic(merged, tuple(weights), names, found.nominal | (topic.nominal & set(terms)), (*topic.leans, lean))


def _phrases(texts: Sequence[str], carried: set[str], surface: Sequence[str]) -> list[str]:
    """The carried words as the earlier questions write them, runs of adjacent ones as one
    phrase, newest question first; a carried term no run shows is added as written."""
    phrases: list[str] = []
    covered: set[str] = set()
    for text in reversed(texts):
        run: list[str] = []
        for m in _TOKEN.finditer(text):
            stems = {stem(w) for w in words(m.group())}
            if stems & carried and not stems <= covered:
                run.append(m.group())
                covered |= stems & carried
            elif run:
                phrases.append(" ".join(run))
                run = []
        if run:
            phrases.append(" ".join(run))
    seen = {p.lower() for p in phrases}
    for word in surface:
        if stem(word) not in covered and word not in seen:
            phrases.append(word)
            seen.add(word)
    return list(dict.fromkeys(phrases))


def query_vector(own: np.ndarray, chain: Sequence[np.ndarray], leans: Sequence[float] = ()) -> np.ndarray:
    """The question's vector, for a follow-up leaning towards the earlier questions' at each
    turn (``chain``: their vectors, oldest first) by ``leans`` (one per later turn and the
    question: ``CARRIED``, or ``DISPLACED`` for a turn that replaces the earlier names)."""
    if not len(chain):
        return own
    steps = list(leans) if len(leans) == len(chain) else [CARRIED] * len(chain)
    context = chain[0]
    for vector, lean in zip([*chain[1:], own], steps):
        context = vector + lean * context
        context = context / max(float(np.linalg.norm(context)), 1e-12)
    return context.astype(own.dtype)
