"""Synthetic wh-questions from sentences (``qa.training.questions``), on spaCy's real parse."""

from __future__ import annotations

from typing import Any

import pytest

from qa.training.questions import generate, load_parser, questions


@pytest.fixture(scope="module")
def parse() -> Any:
    return load_parser()


def asked(parse: Any, sentence: str) -> dict[str, str]:
    """answer → question, for one sentence."""
    return {q.answer: q.question for q in questions(parse([sentence])[0])}


def test_a_subject_slot_takes_the_wh_word_in_its_place(parse: Any) -> None:
    got = asked(parse, "Maria Lopez founded the cooperative in Valencia.")
    assert got["Maria Lopez"] == "Who founded the cooperative in Valencia?"


def test_another_slot_moves_out_and_do_comes_before_the_subject(parse: Any) -> None:
    got = asked(parse, "The committee approved the new bridge in 1998.")
    assert got["1998"] == "When did the committee approve the new bridge?"
    got = asked(parse, "Production was moved to Ohio after the fire.")
    assert got["Ohio"] == "Where was production moved after the fire?"


def test_a_count_asks_how_many_of_its_noun_and_a_coordinated_verb_is_left_out(parse: Any) -> None:
    got = asked(parse, "The bridge has 14 arches and cost $3 million.")
    assert got["14"] == "How many arches does the bridge have?"
    assert not any("million" in answer for answer in got)  # the second verb's object is not asked for


def test_a_noun_phrase_subject_or_object_is_asked_for_with_what(parse: Any) -> None:
    got = asked(parse, "The committee approved the new bridge in 1998.")
    assert got["the new bridge"] == "What did the committee approve in 1998?"
    assert got["The committee"] == "What approved the new bridge in 1998?"
    assert set(asked(parse, "The committee approved it in 1998.")) == {"1998", "The committee"}  # no pronoun


def test_a_who_or_which_slot_takes_its_preposition_along(parse: Any) -> None:
    got = asked(parse, "The old mill was sold to the Harrow Company for $40,000 in 1921.")
    assert got["the Harrow Company"].startswith("To which organisation was the old mill sold")
    assert got["1921"] == "When was the old mill sold to the Harrow Company for $40,000?"


@pytest.mark.parametrize("sentence", [
    "He said it was late.",  # a pronoun subject: the question would not say who
    "The figures (collected in 1998) were lost.",  # the slot inside brackets
    "Revenue grew.",  # too short
    "Apples: 14\nPears: 9",  # a list
])
def test_sentences_that_give_no_clean_question_give_none(parse: Any, sentence: str) -> None:
    assert questions(parse([sentence])[0]) == []


def test_generate_numbers_each_question_with_its_sentence_and_answer_offsets(parse: Any) -> None:
    sentences = ["Revenue grew.", "Maria Lopez founded the cooperative in Valencia."]
    got = list(generate(sentences, parse, batch=1))
    assert {n for n, _ in got} == {1}
    for n, q in got:
        assert sentences[n][q.start:q.end] == q.answer
        assert q.answer.lower() not in q.question.lower() and q.question.endswith("?")


def test_training_pairs_hold_the_source_sentence_and_negatives_without_the_answer(
    parse: Any, service: Any, embedder: Any
) -> None:
    from qa.training.pairs import pairs, sentence_texts

    index = service.loaded.index
    texts = sentence_texts(index)
    made = list(pairs(index, embedder, parse, unanswerable_share=0.5, seed=3))
    groups: dict[int, list[Any]] = {}
    for pair in made:
        groups.setdefault(pair.group, []).append(pair)
    assert len(groups) >= 4
    removed = [g for g in groups.values() if g[0].unanswerable]
    kept = [g for g in groups.values() if not g[0].unanswerable]
    assert removed and kept
    for group in kept:
        positive, *rest = group
        start, end = positive.span
        answer = texts[positive.sentence][start:end]
        assert positive.answers and answer and rest
        assert all(not p.answers and answer.lower() not in texts[p.sentence].lower() for p in rest)
    assert all(not p.answers and p.span is None for g in removed for p in g)
    assert made == list(pairs(index, embedder, parse, unanswerable_share=0.5, seed=3))  # fixed for a seed
