"""Build-time derived arrays (qa.index.derived): ragged rows, vocabularies, BM25 against bm25s."""

from __future__ import annotations

import bm25s
import numpy as np
import pytest

from qa.index.derived import Ragged, Vocabulary, bm25_matrix, contexts, holders


def test_ragged_rows_gather_slice_and_concat() -> None:
    rows = Ragged.of([[1, 2], [], [3], [4, 5, 6]])
    values, owner = rows.gather(np.array([3, 0, 1]))
    assert values.tolist() == [4, 5, 6, 1, 2] and owner.tolist() == [0, 0, 0, 1, 1]
    joined = Ragged.concat([rows.slice(2, 4), rows.slice(0, 1)])
    assert [joined.values[joined.ptr[i]:joined.ptr[i + 1]].tolist() for i in range(len(joined))] == [[3], [4, 5, 6],
                                                                                                    [1, 2]]


def test_vocabulary_merges_old_ids_and_new_strings_and_drops_unused() -> None:
    old_terms = ["ant", "bee", "cat"]
    vocab = Vocabulary(old_terms)
    old_rows = Ragged.of([[2, 0]])  # "cat", "ant" in the old numbering; "bee" is no longer used
    new_rows = vocab.add([["dog", "ant"], ["cat"]])
    terms, (joined,) = vocab.merge([old_rows, new_rows])
    assert terms == ["ant", "cat", "dog"]
    rows = [[terms[i] for i in joined.values[joined.ptr[r]:joined.ptr[r + 1]]] for r in range(len(joined))]
    assert rows == [["cat", "ant"], ["dog", "ant"], ["cat"]]


@pytest.mark.parametrize("seed", [0, 1])
def test_bm25_matrix_scores_as_bm25s_does(seed: int) -> None:
    rng = np.random.default_rng(seed)
    words = [f"w{i}" for i in range(40)]
    corpus = [[words[j] for j in rng.integers(0, 40, size=rng.integers(1, 12))] for _ in range(60)]
    ids = {w: i for i, w in enumerate(words)}
    matrix, df = bm25_matrix(Ragged.of([[ids[w] for w in doc] for doc in corpus]), len(words))
    reference = bm25s.BM25()
    reference.index(corpus, show_progress=False, create_empty_token=False)
    for query in (["w1"], ["w2", "w3", "w30"], ["w0", "w0", "w7"]):
        got = matrix.scorer().get_scores_from_ids([ids[w] for w in query])
        np.testing.assert_allclose(got, reference.get_scores(query), rtol=1e-5, atol=1e-6)
    assert df[ids["w5"]] == sum("w5" in doc for doc in corpus)


def test_holders_lists_every_passage_of_a_sentence() -> None:
    # passages over sentences 0-1, 1-3, 4-4
    out = holders(np.array([0, 1, 4]), np.array([1, 3, 4]), 6)
    assert out.tolist() == [[0, -1], [0, 1], [1, -1], [1, -1], [2, -1], [-1, -1]]


def test_contexts_join_title_and_section_terms_once_per_section() -> None:
    vocabulary = ["river"]
    rows, of_sentence = contexts(np.array([0, 0, 0, 1]), np.array([-1, 0, 0, 0]), ["Floods"],
                                 ["The Nile", "Dams"], vocabulary)
    def terms_of(sentence: int) -> set[str]:
        c = of_sentence[sentence]
        return {vocabulary[i] for i in rows.values[rows.ptr[c]:rows.ptr[c + 1]]}
    assert terms_of(0) == {"nile"} and terms_of(1) == terms_of(2) == {"nile", "flood"}
    assert terms_of(3) == {"dam", "flood"} and of_sentence[1] == of_sentence[2]
