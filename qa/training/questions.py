"""Synthetic questions from any sentence: a rule-based wh-question for each answer slot.

Training data for a reader has to be made here (no question-answering data ships offline).
This is cloze translation done with English grammar on a spaCy parse (Heilman and Smith's
rule-based question generation, NAACL 2010; Lewis, Denoyer and Riedel's cloze translation,
ACL 2019): a named entity, date or amount of a sentence, or a noun phrase that is the
subject or object of its main verb, becomes the asked slot, and the sentence is turned into a
wh-question about it ("who", "when", "how many" … by the entity's label; "what" for a noun
phrase).

* the slot is the subject: the wh-phrase takes its place ("Maria Lopez founded the
  cooperative." → "Who founded the cooperative?");
* elsewhere: the slot (with its preposition) leaves the sentence and the first auxiliary moves
  before the subject, or "do" does ("When did the committee approve the bridge?");
* a number counting a noun asks "how many" of it ("The bridge has 14 arches." → "How many
  arches does the bridge have?").

A sentence is skipped when no clean question comes out of it: no finite verb at its root, a
pronoun for a subject (the question would not say who), the slot inside brackets, a line
break inside (a list or table), fewer than four or more than 45 words, or a question with
fewer than two words that are not stop words. Nothing here comes from a corpus: the
wh-words are those of English for spaCy's entity labels. On 60,000 characters of each of the
bank's ten open collections (5,688 sentences) it gives 2,328 questions: 1.55 a sentence in
the policy reports, 0.08 in the manual pages, whose sentences are mostly fragments.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from qa.language.lexical import STOPWORDS
from qa.language.lexical import words as lexical_words

# spaCy's OntoNotes labels → the wh-phrase that asks for one
WH_BY_LABEL = {
    "PERSON": "who", "ORG": "which organisation", "NORP": "which group", "GPE": "where",
    "LOC": "where", "FAC": "which place", "DATE": "when", "TIME": "when", "CARDINAL": "how many",
    "MONEY": "how much", "PERCENT": "what percentage", "QUANTITY": "how much", "EVENT": "which event",
    "LAW": "which law", "PRODUCT": "which product", "WORK_OF_ART": "which work", "LANGUAGE": "which language",
    "PHRASE": "what",  # a noun phrase that is no entity
}
PHRASE_ROLES = frozenset({"nsubj", "nsubjpass", "dobj", "attr"})  # of the main verb, for a "what" slot
SUBJECTS = frozenset({"nsubj", "nsubjpass", "csubj"})
AUXILIARIES = frozenset({"aux", "auxpass"})
DO_BY_TAG = {"VBD": "did", "VBZ": "does", "VBP": "do"}
MIN_WORDS, MAX_WORDS = 4, 45
MIN_CONTENT_WORDS = 2  # words of a question that are not stop words ("Who will be missed?" has one)

Parse = Callable[[list[str]], list[Any]]  # texts → spaCy Docs (tags, dependencies, entities, lemmas)


@dataclass(frozen=True)
class SyntheticQuestion:
    """A question about one sentence, and where its answer lies in that sentence."""

    question: str
    answer: str
    start: int  # the answer's offsets into the sentence's text
    end: int
    label: str  # the entity label of the answer (PERSON, DATE, …)


def load_parser() -> Parse:
    """spaCy's small English pipeline with its lemmatizer, as the generator needs it."""
    import spacy

    from qa.language.entities import SPACY_PACKAGE

    nlp = spacy.load(SPACY_PACKAGE)
    return lambda texts: list(nlp.pipe(texts))


def generate(sentences: Iterable[str], parse: Parse, batch: int = 256) -> Iterator[tuple[int, SyntheticQuestion]]:
    """``(number of the sentence, question)`` for every question the sentences give."""
    chunk: list[str] = []
    first = 0
    for text in sentences:
        chunk.append(text)
        if len(chunk) == batch:
            yield from _questions_of(chunk, first, parse)
            first += len(chunk)
            chunk = []
    if chunk:
        yield from _questions_of(chunk, first, parse)


def _questions_of(texts: list[str], first: int, parse: Parse) -> Iterator[tuple[int, SyntheticQuestion]]:
    for n, doc in enumerate(parse(texts)):
        for question in questions(doc):
            yield first + n, question


def questions(doc: Any) -> list[SyntheticQuestion]:
    """The questions one parsed sentence gives, one per slot that can be asked for: each
    entity, and each noun phrase that is no entity, subject or object of the main verb."""
    if not _usable(doc):
        return []
    out = []
    for span, label in _slots(doc):
        text = ask(doc, span, label)
        if text and span.text.lower() not in text.lower():
            out.append(SyntheticQuestion(text, span.text, span.start_char, span.end_char, label))
    return out


def _slots(doc: Any) -> list[tuple[Any, str]]:
    """The entities with their labels, then the noun phrases (label ``PHRASE``) that are the
    subject or object of the sentence's main verb and hold no entity or pronoun."""
    slots = [(ent, ent.label_) for ent in doc.ents]
    taken = {t.i for ent in doc.ents for t in ent}
    for chunk in doc.noun_chunks:
        if (chunk.root.dep_ in PHRASE_ROLES and chunk.root.head.dep_ == "ROOT" and chunk.root.pos_ == "NOUN"
                and not taken & {t.i for t in chunk}):
            slots.append((chunk, "PHRASE"))
    return slots


def _usable(doc: Any) -> bool:
    words = [t for t in doc if not t.is_punct and not t.is_space]
    if not MIN_WORDS <= len(words) <= MAX_WORDS or "\n" in doc.text.strip():
        return False
    roots = [t for t in doc if t.dep_ == "ROOT"]
    if len(roots) != 1 or roots[0].pos_ not in ("VERB", "AUX"):
        return False
    subject = _subject(roots[0])
    return subject is not None and subject.pos_ != "PRON"


def _subject(root: Any) -> Any:
    return next((c for c in root.children if c.dep_ in SUBJECTS), None)


def ask(doc: Any, ent: Any, label: str) -> str | None:
    """The wh-question of ``doc`` (one sentence) that ``ent`` (labelled ``label``) answers, or None."""
    wh = WH_BY_LABEL.get(label)
    if wh is None or _bracketed(doc, ent) or not _askable(ent, label):
        return None
    root = next(t for t in doc if t.dep_ == "ROOT")
    subject = _subject(root)
    span = {t.i for t in subject.subtree}
    if subject.i in range(ent.start, ent.end) and set(range(ent.start, ent.end)) <= span:
        return _subject_question(doc, wh, span)
    return _moved_question(doc, root, subject, ent, wh)


def _askable(ent: Any, label: str) -> bool:
    """A count is asked for only where it counts a noun ("14 arches"), and a date only where
    it is a point in time: a span of time ("21 years", "three days") answers "how long"."""
    if label == "CARDINAL":
        return bool(ent.root.dep_ == "nummod")
    if label in ("DATE", "TIME"):
        return ent.root.tag_ != "NNS"
    return True


def _bracketed(doc: Any, ent: Any) -> bool:
    before = doc.text[: ent.start_char]
    return before.count("(") > before.count(")")


def _subject_question(doc: Any, wh: str, subject: set[int]) -> str | None:
    """The wh-phrase in the subject's place: "Who approved the bridge in 1998?"."""
    rest = [t for t in doc if t.i > max(subject) and not _final_punct(doc, t)]
    return _sentence([wh], rest) if rest else None


def _moved_question(doc: Any, root: Any, subject: Any, ent: Any, wh: str) -> str | None:
    """The slot leaves the sentence, an auxiliary (or "do") moves before the subject."""
    dropped = _slot(ent)
    if dropped is None:
        return None
    other_clauses = _coordinated_clauses(root)
    if dropped & other_clauses:
        return None  # the slot belongs to another verb of the sentence
    dropped |= other_clauses
    wh = _pied_piped(ent, wh)
    if wh in ("how many", "how much") and ent.root.dep_ == "nummod":
        noun = ent.root.head
        if noun.i in {t.i for t in subject.subtree}:
            return None
        wh, dropped = f"{wh} {noun.text}", dropped | {noun.i} | {t.i for t in noun.children if t.dep_ == "amod"}
    subject_words = [t for t in subject.subtree if t.i not in dropped]
    if not subject_words or root.i in dropped:
        return None
    between = [t for t in doc if subject_words[-1].i < t.i < root.i and t.i not in dropped]
    after = [t for t in doc if t.i > root.i and t.i not in dropped and not _final_punct(doc, t)]
    auxiliary = next((c for c in root.children if c.dep_ in AUXILIARIES and c.i < root.i), None)
    if auxiliary is not None:
        middle = [t for t in between if t.i != auxiliary.i]
        return _sentence([wh, auxiliary.text.lower(), _lower_first(subject_words)], middle + [root] + after)
    if root.lemma_ == "be":
        return _sentence([wh, root.text.lower(), _lower_first(subject_words)], between + after)
    do = DO_BY_TAG.get(root.tag_)
    if do is None or not root.lemma_:
        return None
    return _sentence([wh, do, _lower_first(subject_words)], between, [root.lemma_], after)


def _coordinated_clauses(root: Any) -> set[int]:
    """The positions of verbs coordinated with the root, with their words and the
    conjunction ("… has 14 arches *and cost $3 million*"): a question asks about one verb."""
    out: set[int] = set()
    for conj in (c for c in root.children if c.dep_ == "conj" and c.pos_ in ("VERB", "AUX")):
        out |= {t.i for t in conj.subtree}
        out |= {c.i for c in root.children if c.dep_ == "cc" and c.i < conj.i}
    return out


def _pied_piped(ent: Any, wh: str) -> str:
    """A "who" or "which" slot after a preposition takes the preposition along ("sold to
    the company" → "to which organisation"); "when", "where" and amounts stand alone."""
    head = ent.root
    if head.dep_ != "pobj" or not (wh == "who" or wh.startswith("which")):
        return wh
    return f"{head.head.text.lower()} {'whom' if wh == 'who' else wh}"


def _slot(ent: Any) -> set[int] | None:
    """The token positions that leave the sentence with the slot, or None when the slot's
    place in the sentence gives no clean question."""
    head = ent.root
    slot = set(range(ent.start, ent.end))
    if head.dep_ == "pobj" and head.head.dep_ == "prep":
        return slot | {t.i for t in head.head.subtree}
    if head.dep_ in ("dobj", "attr", "npadvmod", "oprd"):
        return slot | {t.i for t in head.subtree}
    if head.dep_ == "nummod":
        return slot
    return None


def _final_punct(doc: Any, tok: Any) -> bool:
    return tok.is_punct and all(t.is_punct or t.is_space for t in doc[tok.i:])


def _lower_first(tokens: list[Any]) -> str:
    """A subject moved after the verb: lower-cased unless it is a name ("the committee",
    "Ian")."""
    text = _text(tokens)
    if tokens[0].pos_ != "PROPN" and tokens[0].text not in ("I",) and not tokens[0].text.isupper():
        return text[:1].lower() + text[1:]
    return text


def _text(tokens: list[Any]) -> str:
    return "".join(t.text_with_ws for t in tokens).strip()


def _sentence(lead: list[str], *parts: list[Any]) -> str | None:
    words = " ".join([*lead, *(_text(p) if isinstance(p, list) and p and not isinstance(p[0], str)
                                else " ".join(p) for p in parts)])
    words = " ".join(words.split())
    words = words.replace(" ,", ",").rstrip(",;: ")
    content = [w for w in lexical_words(words) if w not in STOPWORDS]
    if len(words.split()) < MIN_WORDS or len(content) < MIN_CONTENT_WORDS:
        return None
    return words[:1].upper() + words[1:] + "?"
