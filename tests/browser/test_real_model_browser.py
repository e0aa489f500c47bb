"""The chat page on the bundled corpus with the real model, end to end in Chromium."""

from __future__ import annotations

from typing import Any

import pytest

from .test_chat_browser import ask

pytestmark = pytest.mark.model


def test_real_answers_and_sources(new_page: Any, real_base_url: str, shot: Any) -> None:
    page = new_page(viewport={"width": 1000, "height": 900})
    page.goto(real_base_url + "/")
    assert page.locator(".chip").count() >= 3, "suggestions come from the corpus headings"
    turn = ask(page, "What types of military hardware has Russia supplied to Iran in spite of Western sanctions?")
    card = turn.locator(".cards .card").first
    assert "missile systems and radars" in card.locator("mark").text_content()
    assert card.locator(".title").text_content().startswith("The Evolving Dynamics of Russian-Iranian Relations")
    page.evaluate("window.scrollTo(0, 0)")
    shot(page, "chat-real")
    card.locator("a.open").click()
    page.locator("mark#cited").wait_for()
    assert "missile systems and radars" in page.locator("#cited .answer").text_content()
    shot(page, "viewer-real")

    page.goto(real_base_url + "/")
    turn = ask(page, "Who painted the Mona Lisa?")
    assert turn.locator(".verdict").is_visible()
    assert turn.locator(".cards .card").first.is_hidden(), "nearest passages are folded, not shown as answers"
