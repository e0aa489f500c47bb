"""The chat page in Chromium: asking, answers as cards, no-answer, errors, storage, no JavaScript."""

from __future__ import annotations

import json
import re
from typing import Any

EVEREST = "How tall is Mount Everest?"
OFF_TOPIC = "What is the recipe for banana bread?"


def ask(page: Any, question: str) -> Any:
    """Type ``question``, press Enter and return the new turn once its reply is shown."""
    restored(page)  # the stored conversation is back, so the count below is final
    before = page.locator("#log > .turn:not(.pending)").count()
    page.fill("#question", question)
    page.press("#question", "Enter")
    turn = page.locator("#log > .turn:not(.pending)").nth(before)
    turn.locator(".reply").wait_for()
    return turn


def test_ask_shows_a_highlighted_excerpt_with_its_citation(page: Any, base_url: str, shot: Any) -> None:
    page.goto(base_url + "/")
    page.evaluate("window.__samePage = true")
    turn = ask(page, EVEREST)
    card = turn.locator(".card").first
    assert card.locator("mark").inner_text() in card.locator(".excerpt").inner_text()
    assert "8,849 metres tall" in card.locator(".excerpt").inner_text()
    assert card.locator(".title").inner_text() == "Mountains of the World"
    assert card.locator(".section").inner_text() == "1. Everest"
    assert card.locator(".confidence").inner_text() == "High confidence"
    href = card.locator("a.open").get_attribute("href")
    assert re.fullmatch(r"/documents/beta\.txt\?start=\d+&end=\d+&hs=\d+&he=\d+#cited", href)
    assert page.evaluate("window.__samePage") is True, "the answer came without a page load"
    assert page.locator("#question").evaluate("el => el === document.activeElement")
    shot(page, "chat")


def restored(page: Any) -> None:
    """Wait until the page has put the stored conversation back (chat.js clears aria-busy)."""
    page.locator('#log[aria-busy="false"]').wait_for(state="attached")


def test_the_answer_matches_the_api_and_the_server_rendered_card(page: Any, nojs_page: Any, base_url: str) -> None:
    api = page.request.post(base_url + "/ask", data={"question": EVEREST, "top_k": 5}).json()
    page.goto(base_url + "/")
    turn = ask(page, EVEREST)
    first = api["answers"][0]
    mark = first["text"][first["highlight"]["start"]:first["highlight"]["end"]]
    assert turn.locator(".card mark").first.text_content() == mark
    assert turn.locator(".excerpt").first.text_content() == first["text"]
    nojs_page.goto(base_url + "/?q=" + EVEREST)
    server = nojs_page.locator(".card")
    browser = turn.locator(".card")
    assert server.count() == browser.count() == len(api["answers"])
    for i in range(server.count()):
        for part in (".excerpt", "mark", ".cite", ".confidence"):
            assert server.nth(i).locator(part).inner_text() == browser.nth(i).locator(part).inner_text()
        for attr in ("class", "data-document", "data-start", "data-end", "data-page"):
            assert server.nth(i).get_attribute(attr) == browser.nth(i).get_attribute(attr)
        assert server.nth(i).locator("a.open").get_attribute("href") == browser.nth(i).locator("a.open").get_attribute("href")


def test_busy_state_while_the_server_thinks(page: Any, base_url: str) -> None:
    held: list[Any] = []
    page.route("**/chat/turn", lambda route: held.append(route))
    page.goto(base_url + "/")
    page.fill("#question", EVEREST)
    page.click("#send")
    page.locator(".turn.pending").wait_for()
    assert page.locator("#send").is_disabled()
    assert page.locator("#send").inner_text() == "Asking…"
    assert page.locator("#log").get_attribute("aria-busy") == "true"
    page.wait_for_function("() => true")
    assert held, "the request was held"
    held[0].continue_()
    page.locator(".turn:not(.pending) .card").first.wait_for()
    assert page.locator("#send").is_enabled()
    assert page.locator("#log").get_attribute("aria-busy") == "false"


def test_shift_enter_adds_a_line_and_enter_sends(page: Any, base_url: str) -> None:
    page.goto(base_url + "/")
    page.fill("#question", "How tall")
    page.press("#question", "Shift+Enter")
    page.type("#question", "is Everest?")
    assert page.input_value("#question") == "How tall\nis Everest?"
    assert page.locator(".turn").count() == 0
    page.press("#question", "Enter")
    page.locator(".turn .card").first.wait_for()
    assert page.input_value("#question") == ""


def test_no_answer_state_shows_nearest_passages_as_such(page: Any, base_url: str, shot: Any) -> None:
    page.goto(base_url + "/")
    turn = ask(page, OFF_TOPIC)
    assert "no-answer" in turn.get_attribute("class")
    assert turn.locator(".verdict").inner_text().startswith("The sources don't answer this.")
    nearest = turn.locator("details.nearest")
    assert not nearest.locator(".card").first.is_visible(), "nearest passages start folded"
    nearest.locator("summary").click()
    assert "not answers" in nearest.locator("summary").inner_text()
    assert nearest.locator(".card").first.is_visible()
    shot(page, "chat-no-answer")


def test_conversation_survives_a_reload_and_can_be_cleared(page: Any, base_url: str) -> None:
    page.goto(base_url + "/")
    assert page.locator("#empty").is_visible()
    assert page.locator("#clear").is_hidden()
    ask(page, EVEREST)
    ask(page, OFF_TOPIC)
    page.reload()
    restored(page)
    turns = page.locator("#log > .turn")
    assert turns.count() == 2
    assert turns.nth(0).locator(".question").inner_text().endswith(EVEREST)
    assert turns.nth(0).locator(".card mark").count() > 0
    assert "no-answer" in turns.nth(1).get_attribute("class")
    assert page.locator("#empty").is_hidden()
    page.click("#clear")
    assert page.locator("#log > .turn").count() == 0
    assert page.locator("#empty").is_visible()
    page.reload()
    restored(page)
    assert page.locator("#log > .turn").count() == 0
    assert page.evaluate("localStorage.getItem('qa.conversation.v1')") == "[]"


def test_suggestions_fill_the_box_and_ask(page: Any, base_url: str, shot: Any) -> None:
    page.goto(base_url + "/")
    shot(page, "chat-empty")
    chips = page.locator(".chip")
    assert chips.count() >= 2
    label = chips.first.inner_text()
    chips.first.click()
    turn = page.locator("#log > .turn:not(.pending)").first
    turn.locator(".card").first.wait_for()
    assert label in turn.locator(".question").inner_text()
    assert page.url.rstrip("/") == base_url


def test_copy_citation_puts_quote_title_and_link_on_the_clipboard(new_page: Any, base_url: str) -> None:
    page = new_page(permissions=["clipboard-read", "clipboard-write"])
    page.goto(base_url + "/")
    card = ask(page, EVEREST).locator(".card").first
    card.locator("button.copy").click()
    page.wait_for_function("document.querySelector('.card .copy').textContent.startsWith('Copied')")
    text = page.evaluate("navigator.clipboard.readText()")
    quote, where, url = text.split("\n")
    assert quote.startswith("“Mount Everest is 8,849 metres tall.") and quote.endswith("”")
    assert where == "— Mountains of the World, 1. Everest"
    assert url.startswith(base_url + "/documents/beta.txt?start=")


def test_server_errors_read_clearly(page: Any, base_url: str, watch: Any) -> None:
    detail = {"detail": "question: question must not be blank"}
    page.route("**/chat/turn", lambda route: route.fulfill(status=422, body=json.dumps(detail),
                                                     content_type="application/json"))
    page.goto(base_url + "/")
    page.fill("#question", "anything")
    page.press("#question", "Enter")
    alert = page.locator(".turn [role=alert]")
    alert.wait_for()
    assert "The question wasn't accepted: question: question must not be blank." in alert.inner_text()
    page.unroute("**/chat/turn")
    page.route("**/chat/turn", lambda route: route.abort("connectionrefused"))
    page.fill("#question", "anything else")
    page.press("#question", "Enter")
    page.locator(".turn [role=alert]").nth(1).wait_for()
    assert "Can't reach the qa server" in page.locator(".turn [role=alert]").nth(1).inner_text()
    page.unroute("**/chat/turn")
    page.locator(".turn [role=alert] button").nth(1).click()  # Try again
    page.locator(".turn:not(.pending) .took").first.wait_for()
    assert page.locator(".turn [role=alert]").count() == 1
    # Failed attempts are not kept across a reload.
    page.reload()
    restored(page)
    assert page.locator("#log > .turn").count() == 1
    # The browser itself logs the failed requests; nothing else may be logged.
    expected = ("status of 422", "ERR_CONNECTION_REFUSED", "ERR_FAILED")
    watch.errors[:] = [e for e in watch.errors if not any(x in e for x in expected)]


def test_without_javascript_the_form_posts_and_the_server_answers(nojs_page: Any, base_url: str, shot: Any) -> None:
    page = nojs_page
    page.goto(base_url + "/")
    assert page.locator(".chip").count() >= 2
    page.fill("#question", EVEREST)
    page.click("#send")
    page.wait_for_load_state()
    card = page.locator(".card").first
    assert "8,849 metres tall" in card.locator(".excerpt").inner_text()
    assert card.locator("mark").inner_text() == "8,849 metres"  # the amount, not the whole sentence
    assert card.locator(".title").inner_text() == "Mountains of the World"
    assert page.locator("button.copy").first.is_hidden()
    shot(page, "chat-nojs")
    card.locator("a.open").click()
    page.wait_for_load_state()
    assert "8,849 metres tall" in page.locator("mark#cited").inner_text()
    page.go_back()
    page.goto(base_url + "/")
    page.locator(".chip").first.click()
    page.wait_for_load_state()
    assert page.locator(".card").count() > 0


def test_phone_width_and_dark_mode(new_page: Any, base_url: str, shot: Any) -> None:
    phone = new_page(viewport={"width": 390, "height": 844}, color_scheme="dark")
    phone.goto(base_url + "/")
    shot(phone, "chat-empty-phone-dark")
    ask(phone, EVEREST)
    overflow = phone.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 0, f"the page is {overflow}px wider than a phone"
    background = phone.evaluate("getComputedStyle(document.body).backgroundColor")
    assert background == "rgb(20, 21, 23)", background
    shot(phone, "chat-phone-dark")
    phone.locator("a.open").first.click()
    phone.locator("mark#cited").wait_for()
    assert phone.evaluate("document.documentElement.scrollWidth - window.innerWidth") <= 0
    shot(phone, "viewer-phone-dark")


def test_api_docs_page_renders_under_the_csp(page: Any, base_url: str, shot: Any) -> None:
    page.goto(base_url + "/docs")
    page.locator(".swagger-ui .opblock").first.wait_for()
    assert page.locator(".opblock-summary-path", has_text="/ask").count() == 1
    page.locator(".opblock-summary-path", has_text="/ask").click()
    page.locator(".opblock-body").first.wait_for()
    shot(page, "docs")


def test_damaged_storage_is_ignored(page: Any, base_url: str) -> None:
    page.goto(base_url + "/")
    page.evaluate("""localStorage.setItem('qa.conversation.v1',
        JSON.stringify([{question: '<b>x</b>', answers: [{text: 1}]}, 'junk', null]))""")
    page.reload()
    restored(page)
    assert page.locator("#log > .turn").count() == 0
    assert page.locator("#empty").is_visible()
    page.evaluate("localStorage.setItem('qa.conversation.v1', '{not json')")
    page.reload()
    restored(page)
    ask(page, EVEREST)
    assert page.locator("#log > .turn").count() == 1


def test_keyboard_and_screen_reader_basics(page: Any, base_url: str) -> None:
    page.goto(base_url + "/")
    assert page.evaluate("document.activeElement.id") == "question"
    assert page.locator("label[for=question]").count() == 1
    assert page.locator("#log").get_attribute("aria-live") == "polite"
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.id") == "send"
    first = page.evaluate("document.querySelector('a[href], button, textarea').className")
    assert first == "skip", "the skip link comes first"
    page.fill("#question", EVEREST)
    page.press("#question", "Enter")
    page.locator(".turn:not(.pending) .card").first.wait_for()
    assert page.evaluate("document.activeElement.id") == "question", "focus stays in the box for the next question"
    assert page.locator("#status").inner_text().endswith("found.")


def test_a_question_can_be_limited_to_one_source(page: Any, nojs_page: Any, base_url: str) -> None:
    question = "Which river is the longest and which mountain is the highest?"
    page.goto(base_url + "/")
    options = page.locator("#document option")
    listed = page.request.get(base_url + "/api/documents").json()
    assert options.nth(0).inner_text() == "all sources" and options.count() == 1 + len(listed)
    assert options.nth(1).get_attribute("value") == listed[0]["document"]
    page.select_option("#document", "beta.txt")
    turn = ask(page, question)
    documents = {c.get_attribute("data-document") for c in turn.locator(".card").all()}
    assert documents == {"beta.txt"}
    page.select_option("#document", "")
    turn = ask(page, question)
    assert len({c.get_attribute("data-document") for c in turn.locator(".card").all()}) > 1
    # Without JavaScript the form carries the choice too.
    nojs_page.goto(base_url + "/")
    nojs_page.select_option("#document", "alpha.md")
    nojs_page.fill("#question", question)
    nojs_page.click("#send")
    nojs_page.wait_for_load_state()
    assert {c.get_attribute("data-document") for c in nojs_page.locator(".card").all()} == {"alpha.md"}
    assert nojs_page.locator("#document").input_value() == "alpha.md"


def test_a_follow_up_is_read_with_the_conversation(page: Any, nojs_page: Any, base_url: str) -> None:
    africa = "Which mountain is the highest in Africa?"
    page.goto(base_url + "/")
    sent: list[Any] = []
    page.on("request", lambda r: sent.append(r) if r.url.endswith("/chat/turn") else None)
    first = ask(page, africa)
    assert first.locator(".interpreted").count() == 0
    turn = ask(page, "Where is it?")
    assert turn.locator(".interpreted").inner_text() == "Answered as: Where is it? [mountain, Africa]"
    # the first passage, shown or (when the fake embedder's scores decline) folded as nearest
    assert "Kilimanjaro" in (turn.locator(".card .excerpt").first.text_content() or "")
    assert [json.loads(r.post_data)["history"] for r in sent] == [[], [africa]]
    page.reload()
    restored(page)
    assert page.locator("#log .interpreted").all_inner_texts() == ["Answered as: Where is it? [mountain, Africa]"]
    page.click("#clear")
    alone = ask(page, "Where is it?")  # a new conversation: nothing to lean on
    assert alone.locator(".interpreted").count() == 0
    assert json.loads(sent[-1].post_data)["history"] == []
    # Without JavaScript the form carries the conversation in hidden fields.
    nojs_page.goto(base_url + "/")
    for question in (africa, "Where is it?"):
        nojs_page.fill("#question", question)
        nojs_page.click("#send")
        nojs_page.wait_for_load_state()
    assert nojs_page.locator(".interpreted").inner_text() == "Answered as: Where is it? [mountain, Africa]"
    assert nojs_page.locator("#new-conversation").get_attribute("href") == "/"
