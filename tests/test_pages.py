"""The HTML pages through the ASGI app: chat (no-JS path), sources, viewer, errors, headers."""

from __future__ import annotations

import html
import re
import shutil
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from qa.answer.service import QAService
from qa.config import Settings
from qa.embedding.encoder import HashingEmbedder
from qa.http.app import create_app
from qa.index.build import build_index

FIXTURES = Path(__file__).parent / "fixtures"
PAGE_WEIGHT_LIMIT = 100_000  # bytes of HTML + CSS + JS for the chat page, uncompressed


@pytest.fixture
def evil_corpus(corpus_dir: Path) -> Path:
    """The fixture corpus plus ``evil.txt``, whose text and metadata hold markup."""
    shutil.copy(FIXTURES / "xss" / "evil.txt", corpus_dir / "evil.txt")
    extra = (FIXTURES / "xss" / "metadata.toml").read_text(encoding="utf-8")
    with (corpus_dir / "metadata.toml").open("a", encoding="utf-8") as f:
        f.write("\n" + extra)
    return corpus_dir


@pytest.fixture
def client(tmp_path: Path, evil_corpus: Path, embedder: HashingEmbedder) -> Iterator[TestClient]:
    index_dir = tmp_path / "web-index"
    build_index(evil_corpus, index_dir, embedder)
    app = create_app(Settings(index_dir=index_dir, reload_interval=3600), QAService(index_dir, embedder))
    with TestClient(app) as client:
        yield client


class Inline(HTMLParser):
    """Collects what a strict CSP would block: inline scripts, styles and event handlers."""

    def __init__(self) -> None:
        super().__init__()
        self.problems: list[str] = []
        self.in_script = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        names = {name for name, _ in attrs}
        if tag == "style":
            self.problems.append("<style> element")
        if tag == "script" and "src" not in names:
            self.problems.append("inline <script>")
        self.problems += [f"{name}= on <{tag}>" for name in names if name == "style" or name.startswith("on")]
        self.problems += [f"javascript: URL on <{tag}>" for _, v in attrs if v and v.strip().lower().startswith("javascript:")]


def inline_problems(page: str) -> list[str]:
    parser = Inline()
    parser.feed(page)
    return parser.problems


def element_text(page: str, element_id: str) -> str:
    """The text content of the element with ``element_id`` (tags dropped, entities decoded)."""
    match = re.search(rf'<(\w+)[^>]* id="{element_id}"[^>]*>(.*?)</\1>\s*</div>\s*</article>', page, re.DOTALL)
    assert match, element_id
    return html.unescape(re.sub(r"<[^>]+>", "", match.group(2)))


# -- headers and page hygiene ------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/", "/?q=Everest", "/documents", "/documents/beta.txt", "/documents/nope", "/docs"])
def test_pages_carry_security_headers_and_no_inline_code(client: TestClient, path: str) -> None:
    response = client.get(path)
    assert response.status_code in (200, 404)
    csp = response.headers["content-security-policy"]
    assert "unsafe-inline" not in csp and "script-src 'self'" in csp and "style-src 'self'" in csp
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["referrer-policy"] == "no-referrer"
    assert inline_problems(response.text) == []


def test_static_files_are_versioned_and_served_with_the_headers(client: TestClient) -> None:
    page = client.get("/").text
    css = re.search(r'href="(/static/app\.css\?v=[0-9a-f]{10})"', page)
    js = re.search(r'src="(/static/chat\.js\?v=[0-9a-f]{10})"', page)
    assert css and js
    response = client.get(js.group(1))
    assert response.status_code == 200
    assert response.headers["x-content-type-options"] == "nosniff"
    assert "javascript" in response.headers["content-type"]


def test_chat_page_weighs_under_100_kb(client: TestClient) -> None:
    page = client.get("/")
    assets = re.findall(r'(?:href|src)="(/static/[^"]+\.(?:css|js)\?v=\w+)"', page.text)
    assert len(assets) == 2
    weight = len(page.content) + sum(len(client.get(a).content) for a in assets)
    assert weight < PAGE_WEIGHT_LIMIT, f"the chat page weighs {weight} bytes"


def test_templates_never_mark_text_safe() -> None:
    templates = (Path(__file__).parent.parent / "qa" / "http" / "templates").glob("*.html")
    for template in templates:
        source = template.read_text(encoding="utf-8")
        assert "|safe" not in source.replace(" ", "") and "autoescape false" not in source, template.name


# -- the chat page without JavaScript ------------------------------------------------------------


def test_empty_chat_page_suggests_questions_from_the_corpus(client: TestClient) -> None:
    page = client.get("/").text
    labels = re.findall(r'class="chip"[^>]*>([^<]+)</a>', page)
    assert {"The Nile", "Everest", "The Amazon", "Kilimanjaro"} & set(labels)
    assert 'action="/"' in page and 'method="post"' in page
    assert '<label for="question"' in page and 'aria-live="polite"' in page


def test_posted_question_is_answered_by_the_server(client: TestClient) -> None:
    question = "How tall is Mount Everest?"
    best = client.post("/ask", json={"question": question}).json()["answers"][0]
    response = client.post("/", data={"question": question})
    assert response.status_code == 200
    page = response.text
    a, b = best["highlight"]["start"], best["highlight"]["end"]
    quote = f"{best['text'][:a]}<mark>{best['text'][a:b]}</mark>{best['text'][b:]}"
    assert f'<blockquote class="excerpt">{quote}</blockquote>' in page
    assert '<cite class="title">Mountains of the World</cite><span class="section">1. Everest</span>' in page
    src = best["source"]
    href = f"/documents/beta.txt?start={src['start']}&amp;end={src['end']}&amp;hs={src['start'] + a}&amp;he={src['start'] + b}#cited"
    assert f'href="{href}"' in page
    assert "High confidence" in page


def test_suggestion_links_answer_with_get(client: TestClient) -> None:
    page = client.get("/", params={"q": "What is the recipe for banana bread?"}).text
    assert "The sources don't answer this." in page
    assert "Nearest passages — not answers" in page


def test_blank_question_reads_as_an_error(client: TestClient) -> None:
    response = client.post("/", data={"question": "   "})
    assert response.status_code == 422
    assert 'role="alert"' in response.text and "question must not be blank" in response.text


def test_hostile_text_is_escaped_in_the_chat(client: TestClient) -> None:
    page = client.get("/", params={"q": "What does the xylophone sample hold?"}).text
    assert "&lt;script&gt;window.__pwned = &#34;script&#34;" in page
    assert "&lt;img src=x onerror=&#34;window.__pwned=&#39;img&#39;" in page
    assert "{{ 7*7 }}" in page and "Evil 49" not in page
    assert "<script>window" not in page and "<img src=x" not in page
    assert inline_problems(page) == []


# -- sources and the viewer -------------------------------------------------------------------


def test_sources_list_their_metadata(client: TestClient) -> None:
    page = client.get("/documents").text
    assert page.count('class="source"') == 3
    assert '<a href="/documents/beta.txt">Mountains of the World</a>' in page
    assert 'href="https://example.org/mountains" rel="noopener noreferrer"' in page
    assert "javascript:" not in page, "a javascript: URL in metadata is shown, never linked"


def test_viewer_marks_the_cited_range(client: TestClient) -> None:
    doc = client.get("/api/documents/beta.txt").json()
    page = client.get("/documents/beta.txt", params={"start": 36, "end": 120, "hs": 55, "he": 71}).text
    cited = re.search(r'<mark id="cited" tabindex="-1">(.*?)</mark>', page, re.DOTALL)
    assert cited
    assert html.unescape(re.sub(r"<[^>]+>", "", cited.group(1))) == doc["text"][36:120]
    assert re.search(r'<strong class="answer">849 metres tall\.</strong>', cited.group(1))
    assert element_text(page, "text") == doc["text"], "the whole text, once, in order"
    assert 'aria-current="location">1. Everest</a>' in page
    assert "A. Climber" in page and "2020-01-01" in page


@pytest.mark.parametrize("query", [
    {"start": "abc", "end": "10"}, {"start": "20", "end": "10"}, {"start": "-1", "end": "10"},
    {"start": "0", "end": "999999"}, {"start": "5"}, {},
])
def test_viewer_ignores_a_bad_range(client: TestClient, query: dict[str, str]) -> None:
    response = client.get("/documents/beta.txt", params=query)
    assert response.status_code == 200
    assert 'id="cited"' not in response.text
    assert element_text(response.text, "text") == client.get("/api/documents/beta.txt").json()["text"]


def test_viewer_escapes_hostile_text_and_metadata(client: TestClient) -> None:
    page = client.get("/documents/evil.txt", params={"start": 0, "end": 30}).text
    assert "<script>" not in page.split("</head>", 1)[1].replace('<script src="', "")
    assert "&lt;img src=x onerror=&#34;window.__pwned=&#39;title&#39;&#34;&gt; Evil {{ 7*7 }} notes" in page
    assert "{% if true %}a block{% endif %}" in html.unescape(page)
    assert "javascript:" not in page
    assert inline_problems(page) == []


def test_unknown_document_gets_a_friendly_404_page(client: TestClient) -> None:
    response = client.get("/documents/no/such.txt")
    assert response.status_code == 404
    assert "text/html" in response.headers["content-type"]
    assert "We couldn't find that source" in html.unescape(response.text) and "no/such.txt" in response.text
    api = client.get("/api/documents/no/such.txt")
    assert api.status_code == 404 and api.json()["detail"]


def test_unknown_pages_are_html_for_browsers_and_json_for_the_api(client: TestClient) -> None:
    page = client.get("/nowhere", headers={"accept": "text/html"})
    assert page.status_code == 404 and "Page not found" in page.text
    api = client.get("/api/nowhere", headers={"accept": "text/html"})
    assert api.status_code == 404 and api.json() == {"detail": "Not Found"}
    assert client.get("/nowhere").json() == {"detail": "Not Found"}


def test_pages_without_an_index_say_so(tmp_path: Path, embedder: HashingEmbedder) -> None:
    app = create_app(Settings(index_dir=tmp_path / "none", reload_interval=3600), QAService(tmp_path / "none", embedder))
    with TestClient(app) as client:
        page = client.get("/")
        assert page.status_code == 200 and 'role="alert"' in page.text and "qa index" in page.text
        posted = client.post("/", data={"question": "Anything?"})
        assert posted.status_code == 503 and "qa index" in posted.text
        assert client.get("/documents").status_code == 503


def test_documents_page_lists_skipped_files_with_reasons(corpus_dir, embedder, tmp_path) -> None:
    from fastapi.testclient import TestClient

    from qa.answer.service import QAService
    from qa.config import Settings
    from qa.http.app import create_app
    from qa.index.build import build_index

    (corpus_dir / "empty.txt").write_bytes(b"")
    (corpus_dir / "junk.txt").write_bytes(bytes(range(256)) * 8)
    index_dir = tmp_path / "skipped-index"
    build_index(corpus_dir, index_dir, embedder)
    app = create_app(Settings(corpus_dir=corpus_dir, index_dir=index_dir, reload_interval=60),
                     QAService(index_dir, embedder))
    with TestClient(app) as client:
        page = client.get("/documents").text
    assert "Files left out" in page
    assert "<code>empty.txt</code>" in page and "<code>junk.txt</code>" in page
    assert "empty" in page.split("<code>empty.txt</code>", 1)[1][:80]
