"""A hostile document shows as literal text in the chat and the viewer, and nothing runs.

``tests/fixtures/xss/evil.txt`` holds ``<script>``, ``<img onerror>`` and ``{{ 7*7 }}`` in its
text, section heading and metadata; any of them running would set ``window.__pwned`` or open
an alert (the ``page`` fixture fails the test on any dialog or console error).
"""

from __future__ import annotations

from typing import Any

from .test_chat_browser import ask, restored

QUESTION = "What does the xylophone sample hold?"
SCRIPT = '<script>window.__pwned = "script"; alert("script")</script>'
IMG = "<img src=x onerror=\"window.__pwned='img'; alert('img')\">"
TEMPLATE = "{{ 7*7 }}"
TITLE = "<img src=x onerror=\"window.__pwned='title'\"> Evil {{ 7*7 }} notes"


def assert_inert(page: Any) -> None:
    assert page.evaluate("window.__pwned") is None
    assert page.locator("main img, main script, main b").count() == 0


def test_hostile_text_is_literal_in_the_chat(page: Any, base_url: str, shot: Any) -> None:
    page.goto(base_url + "/")
    assert_inert(page)  # the suggestions quote the hostile heading
    turn = ask(page, QUESTION)
    card = turn.locator(".card").first
    assert card.locator(".title").text_content() == TITLE
    quotes = " ".join(q for q in turn.locator(".excerpt").all_text_contents() if "xylophone" in q)
    assert SCRIPT in quotes and IMG in quotes and TEMPLATE in quotes and "49" not in quotes
    assert_inert(page)
    page.reload()  # restored from localStorage: the server renders the stored JSON again
    restored(page)
    assert SCRIPT in " ".join(page.locator(".excerpt").all_text_contents())
    assert_inert(page)
    shot(page, "xss-chat")


def test_hostile_text_is_literal_without_javascript(nojs_page: Any, base_url: str) -> None:
    nojs_page.goto(base_url + "/?q=" + QUESTION)
    quotes = " ".join(nojs_page.locator(".excerpt").all_text_contents())
    assert SCRIPT in quotes and IMG in quotes and TEMPLATE in quotes
    assert nojs_page.locator("main img, main script").count() == 0


def test_hostile_text_is_literal_in_the_viewer(page: Any, base_url: str, shot: Any) -> None:
    page.goto(base_url + "/")
    ask(page, QUESTION).locator(".card a.open").first.click()
    page.locator("mark#cited").wait_for()
    text = page.locator("#text").text_content()
    assert SCRIPT in text and IMG in text and TEMPLATE in text and "{% if true %}" in text
    assert page.locator("h1").text_content() == TITLE
    assert "<script>window.__pwned='author'</script>" in page.locator(".meta").text_content()
    assert page.locator("a[href^='javascript:']").count() == 0, "javascript: URLs are never linked"
    assert_inert(page)
    shot(page, "xss-viewer")
    page.goto(base_url + "/documents")
    assert page.locator(".source h2", has_text="Evil").text_content() == TITLE
    assert_inert(page)
