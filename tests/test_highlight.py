"""The highlight marks the span that answers: a typed entity, a listed phrase, a noun phrase."""

from __future__ import annotations

import pytest

from qa.answer.highlight import answer_span
from qa.answer.questions import analyse, answer_kind
from qa.language.entities import SpacyTagger


@pytest.fixture(scope="module")
def tagger() -> SpacyTagger:
    return SpacyTagger()


def hl(tagger: SpacyTagger, sentence: str, question: str, weights: dict[str, float] | None = None) -> str:
    entities = tagger.tag([sentence])[0]
    a, b = answer_span(sentence, analyse(question), entities, weights)
    assert 0 <= a < b <= len(sentence)
    return sentence[a:b]


@pytest.mark.parametrize(
    ("sentence", "question", "expected"),
    [
        ("The onset of the Syrian civil war in 2011, Putin's return to the presidency in 2012, the crisis in Ukraine.",
         "In what year did Putin return to the Russian presidency?", "2012"),
        ("On May 18, 2023, Russian President Vladimir Putin expressed appreciation to Iran's supreme leader.",
         "On what date did Putin thank Iran's supreme leader?", "May 18, 2023"),
        ("It led to the overthrow of President Viktor Yanukovych, who opposed NATO membership.",
         "Which Ukrainian president was ousted?", "Viktor Yanukovych"),
        ("Allegations surfaced in 2022 regarding a $1.7 billion agreement for Iranian drones.",
         "How much was the drone agreement worth?", "$1.7 billion"),
        ("Russia has provided military technologies, such as missile systems and radars, to Iran.",
         "What types of military hardware has Russia supplied to Iran?", "missile systems and radars"),
        ("Lima is the capital and largest city of Peru.", "What is the capital of Peru?", "Lima"),
        ("Accepted: 2023/05/25", "When was the article accepted?", "2023/05/25"),
    ],
)
def test_tight_highlights(tagger: SpacyTagger, sentence: str, question: str, expected: str) -> None:
    assert hl(tagger, sentence, question) == expected


def test_a_list_of_answers_is_marked_whole(tagger: SpacyTagger) -> None:
    sentence = ("Russia has backed Iran's membership of the Shanghai Cooperation Organization, BRICS, "
                "and the Eurasian Economic Union.")
    got = hl(tagger, sentence, "Which international organisations has Russia backed Iran's membership of?")
    assert got.startswith("Shanghai Cooperation Organization") and got.endswith("Eurasian Economic Union")


def test_the_noun_phrase_the_question_lacks(tagger: SpacyTagger) -> None:
    sentence = "Regional and global dynamics have engendered a cybernetic logic in Iran-Russia relations."
    got = hl(tagger, sentence, "What kind of logic have regional dynamics produced in Iran-Russia relations?")
    assert "cybernetic" in got and "dynamics" not in got


def test_references_and_connectives_are_trimmed_but_the_sentence_kept(tagger: SpacyTagger) -> None:
    sentence = "However, relations between Iran and Russia began to improve (Hatami & Zargar, 2018, p. 46)."
    assert hl(tagger, sentence, "Tell me about the weather") == "relations between Iran and Russia began to improve"


def test_a_name_inside_a_reference_is_not_an_answer(tagger: SpacyTagger) -> None:
    sentence = "Yevgeny Adamov, the minister, spoke to the press (Dehghani Firouzabadi & Moradi, 2015, pp. 74-76)."
    assert hl(tagger, sentence, "Which Russian atomic energy minister spoke to the press?") == "Yevgeny Adamov"


def test_a_name_the_question_already_has_is_not_the_answer(tagger: SpacyTagger) -> None:
    sentence = "Ebrahim Raisi met Vladimir Putin in Tehran in 2022."
    assert hl(tagger, sentence, "Whom did Ebrahim Raisi meet in Tehran?") == "Vladimir Putin"


@pytest.mark.parametrize(
    ("question", "kind"),
    [("Who painted it?", "agent"), ("When did it end?", "date"), ("How many barrels?", "number"),
     ("On what date did it start?", "date"), ("In what year did it start?", "year"), ("Why did it fail?", None),
     ("Which city hosts it?", "place"), ("Which company makes it?", "organisation"),
     ("What does the state do?", None)],
)
def test_answer_kinds(question: str, kind: str | None) -> None:
    assert answer_kind(question) == kind


def test_rare_shared_words_locate_the_answer_better_than_common_ones(tagger: SpacyTagger) -> None:
    sentence = ("Moscow assisted Iran in constructing its first nuclear power plant, operational since 2013, "
                "and engaged in the 2015 nuclear deal alongside other world powers.")
    question = "When did Moscow's first nuclear power plant in Iran become operational?"
    weights = {"oper": 3.0, "nuclear": 0.5, "moscow": 0.5, "first": 1.0, "power": 1.0, "plant": 1.0, "iran": 0.1}
    assert "2013" in hl(tagger, sentence, question, weights)
