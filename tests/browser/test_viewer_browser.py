"""The source viewer in Chromium: the cited passage marked and in view, metadata, outline."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs, urlsplit

from .test_chat_browser import EVEREST, ask


def in_viewport(page: Any, selector: str) -> bool:
    return page.evaluate(
        """sel => { const r = document.querySelector(sel).getBoundingClientRect();
                    return r.top >= 0 && r.bottom <= window.innerHeight && r.height > 0; }""",
        selector,
    )


def test_open_in_source_shows_the_passage_highlighted_and_in_view(page: Any, base_url: str, shot: Any) -> None:
    page.goto(base_url + "/")
    card = ask(page, EVEREST).locator(".card").first
    quote = card.locator(".excerpt").text_content()
    answer = card.locator("mark").text_content()
    card.locator("a.open").click()
    page.wait_for_url("**/documents/beta.txt?*")
    cited = page.locator("mark#cited")
    assert cited.text_content() == quote
    assert cited.locator(".answer").text_content() == answer
    assert in_viewport(page, "#cited")
    assert page.evaluate("document.activeElement.id") == "cited"
    assert page.locator("h1").inner_text() == "Mountains of the World"
    original = page.locator("a[href='https://example.org/mountains']")
    assert original.get_attribute("rel") == "noopener noreferrer"
    assert page.locator(".outline a[aria-current=location]").inner_text() == "1. Everest"
    query = parse_qs(urlsplit(page.url).query)
    text = page.request.get(base_url + "/api/documents/beta.txt").json()["text"]
    assert text[int(query["start"][0]):int(query["end"][0])] == quote
    shot(page, "viewer")


def test_a_long_document_scrolls_to_the_passage(new_page: Any, base_url: str) -> None:
    page = new_page(viewport={"width": 800, "height": 300})
    page.goto(base_url + "/documents/beta.txt?start=138&end=260")
    assert in_viewport(page, "#cited")
    assert page.evaluate("window.scrollY") > 0


def test_outline_links_jump_to_sections(page: Any, base_url: str) -> None:
    page.goto(base_url + "/documents/alpha.md")
    assert page.locator("mark").count() == 0
    links = page.locator(".outline a")
    assert [links.nth(i).inner_text() for i in range(links.count())] == ["1. The Nile", "2. The Amazon"]
    target = links.nth(1).get_attribute("href")
    assert page.locator(target).count() == 1


def test_sources_list_and_not_found_page(page: Any, base_url: str, watch: Any) -> None:
    page.goto(base_url + "/documents")
    titles = page.locator(".source h2 a")
    assert titles.count() == 3
    page.locator(".source h2 a", has_text="Mountains of the World").click()
    page.wait_for_url("**/documents/beta.txt")
    response = page.goto(base_url + "/documents/no/such/file.txt")
    assert response.status == 404
    assert page.locator("h1").inner_text() == "We couldn't find that source"
    assert "no/such/file.txt" in page.locator(".problem").inner_text()
    # The browser logs the 404 itself; that is the expected outcome here.
    watch.errors[:] = [e for e in watch.errors if "status of 404" not in e]


def test_viewer_works_without_javascript(nojs_page: Any, base_url: str) -> None:
    nojs_page.goto(base_url + "/documents/beta.txt?start=36&end=120#cited")
    assert nojs_page.locator("mark#cited").text_content().startswith("Mount Everest")
