"""The pure view helpers behind the pages: cards, viewer segments, ranges, suggestions."""

from __future__ import annotations

import doctest
import random

import qa.http.views
from qa.answer.service import QAService
from qa.http.views import (
    card,
    cited_range,
    external_url,
    suggestions,
    topic,
    turn,
    viewer_href,
    viewer_pieces,
)
from qa.records import Answer, Citation, Document, DocumentMeta, Excerpt


def test_doctests() -> None:
    assert doctest.testmod(qa.http.views).failed == 0


def excerpt(score: float, text: str = "Alpha beta gamma.", highlight: tuple[int, int] = (6, 10)) -> Excerpt:
    return Excerpt(text, highlight, score, Citation("dir/a b.txt", "T", "S", 3, 100, 100 + len(text)))


def test_card_splits_the_quote_around_the_highlight() -> None:
    c = card(excerpt(0.8))
    assert (c.before, c.mark, c.after) == ("Alpha ", "beta", " gamma.")
    assert c.before + c.mark + c.after == "Alpha beta gamma."
    assert c.confidence == "high"
    assert c.href == "/documents/dir/a%20b.txt?start=100&end=117&hs=106&he=110#cited"


def test_turn_folds_weak_cards_and_all_cards_without_an_answer() -> None:
    answered = turn(Answer("q", False, (excerpt(0.9), excerpt(0.6), excerpt(0.1))))
    assert [c.confidence for c in answered.shown] == ["high", "medium"]
    assert [c.confidence for c in answered.folded] == ["low"]
    unanswered = turn(Answer("q", True, (excerpt(0.3), excerpt(0.1))))
    assert unanswered.shown == () and len(unanswered.folded) == 2


def test_viewer_pieces_cover_the_text_exactly_once() -> None:
    rng = random.Random(7)
    text = "".join(rng.choice("ab <>&\n") for _ in range(300))
    for _ in range(300):
        sections = sorted((f"s{i}", rng.randrange(len(text))) for i in range(rng.randrange(4)))
        sections = [(t, s) for t, s in sorted(sections, key=lambda x: x[1])]
        a = rng.randrange(len(text))
        b = rng.randrange(a + 1, len(text) + 1)
        cited = (a, b) if rng.random() < 0.8 else None
        answer = (rng.randrange(len(text)), rng.randrange(len(text) + 1)) if rng.random() < 0.7 else None
        before, inside, after = viewer_pieces(text, sections, cited, answer)
        assert "".join(p.text for p in before + inside + after) == text
        if cited:
            assert "".join(p.text for p in inside) == text[a:b]
            assert all(not p.answer for p in before + after)
        else:
            assert inside == [] and after == []
        anchors = [p.anchor for p in before + inside + after if p.anchor]
        assert sorted(set(anchors)) == sorted({f"at-{s}" for _, s in sections})


def test_cited_range_accepts_only_ranges_inside_the_text() -> None:
    assert cited_range(10, "0", "10") == (0, 10)
    for start, end in [("0", "11"), ("5", "5"), (None, "3"), ("1.5", "3"), ("", "")]:
        assert cited_range(10, start, end) is None


def test_links() -> None:
    source = Citation("a/b c?.txt", "T", None, None, 1, 5)
    assert viewer_href(source).startswith("/documents/a/b%20c%3F.txt?start=1&end=5")
    assert external_url(" http://x.org ") == "http://x.org"
    for bad in ["javascript:alert(1)", "data:text/html,x", "//evil.org", "http:/nohost", ""]:
        assert external_url(bad) is None


def test_topics_drop_numbering_and_structural_headings() -> None:
    assert topic("3-1. Cooperation in military, defense, and security sectors") == \
        "Cooperation in military, defense, and security sectors"
    assert topic("IV. Trade Routes") == "Trade Routes"
    assert topic("Conclusion: What Comes Next") == "What Comes Next"
    for heading in ["Abstract", "References", "12", "x" * 200]:
        assert topic(heading) is None


def test_suggestions_take_turns_across_documents_and_fall_back_to_titles(service: QAService) -> None:
    docs = service.documents()
    chosen = suggestions([(d, service.outline(d.id)) for d in docs])
    assert [s.label for s in chosen] == ["The Nile", "Everest", "The Amazon", "Kilimanjaro"]
    assert chosen[0].question == "What do the sources say about “The Nile”?"
    assert chosen[0].href.startswith("/?q=What+do+the+sources")
    bare = Document("x.txt", "text", DocumentMeta("A Plain Title"), "0")
    assert [s.label for s in suggestions([(bare, [])])] == ["A Plain Title"]
    assert suggestions([]) == []
