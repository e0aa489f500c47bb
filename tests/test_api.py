"""The HTTP contract: /ask, documents, health, errors, on the fixture corpus."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from qa.answer.service import QAService
from qa.config import Settings
from qa.embedding.encoder import HashingEmbedder
from qa.http.app import create_app
from qa.index.build import build_index

GOLDEN = Path(__file__).parent / "fixtures" / "golden_ask.json"
GOLDEN_QUESTION = "When was the Aswan High Dam completed?"


@pytest.fixture
def client(index_dir: Path, corpus_dir: Path, embedder: HashingEmbedder):
    settings = Settings(corpus_dir=corpus_dir, index_dir=index_dir, reload_interval=60)
    app = create_app(settings, QAService(index_dir, embedder))
    with TestClient(app) as client:
        yield client


def test_golden_ask_response(client: TestClient) -> None:
    response = client.post("/ask", json={"question": GOLDEN_QUESTION, "top_k": 3})
    assert response.status_code == 200
    body = response.json()
    assert isinstance(body.pop("took_ms"), float)
    if os.environ.get("QA_UPDATE_GOLDEN"):
        GOLDEN.write_text(json.dumps(body, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    assert body == json.loads(GOLDEN.read_text(encoding="utf-8"))


def test_every_answer_is_verbatim_with_highlight_inside(client: TestClient) -> None:
    texts: dict[str, str] = {}
    for question in ("What does the Aswan High Dam control?", "How tall is Mount Everest?", "Amazon basin size"):
        body = client.post("/ask", json={"question": question, "top_k": 5}).json()
        assert body["answers"]
        for answer in body["answers"]:
            src = answer["source"]
            if src["document"] not in texts:
                texts[src["document"]] = client.get(f"/api/documents/{src['document']}").json()["text"]
            assert texts[src["document"]][src["start"] : src["end"]] == answer["text"]
            hl = answer["highlight"]
            assert 0 <= hl["start"] < hl["end"] <= len(answer["text"])
            assert 0.0 <= answer["score"] <= 1.0
        spans = sorted((a["source"]["document"], a["source"]["start"], a["source"]["end"]) for a in body["answers"])
        for (d1, s1, e1), (d2, s2, e2) in zip(spans, spans[1:]):
            assert d1 != d2 or e1 <= s2, "excerpts overlap"
        assert len({a["text"] for a in body["answers"]}) == len(body["answers"])


def test_section_and_title_in_citation(client: TestClient) -> None:
    body = client.post("/ask", json={"question": "How tall is Mount Everest?"}).json()
    top = body["answers"][0]
    assert top["source"]["document"] == "beta.txt"
    assert top["source"]["title"] == "Mountains of the World"
    assert top["source"]["section"] == "1. Everest"
    assert "8,849 metres" in top["text"]


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        ({"question": "   "}, "question must not be blank"),
        ({"question": ""}, "question must not be blank"),
        ({"question": "x" * 1001}, "at most 1000 characters"),
        ({"question": "Nile?", "top_k": 0}, "top_k: Input should be greater than or equal to 1"),
        ({"question": "Nile?", "top_k": 21}, "top_k: Input should be less than or equal to 20"),
        ({"top_k": 3}, "question: Field required"),
        ({"question": 5}, "question: Input should be a valid string"),
    ],
)
def test_bad_requests_get_422_with_a_clear_message(client: TestClient, payload: dict, message: str) -> None:
    response = client.post("/ask", json=payload)
    assert response.status_code == 422
    assert message in response.json()["detail"]


def test_malformed_json_gets_422(client: TestClient) -> None:
    response = client.post("/ask", content=b"{not json", headers={"Content-Type": "application/json"})
    assert response.status_code == 422
    assert "JSON" in response.json()["detail"]


def test_oversized_body_gets_413(client: TestClient) -> None:
    response = client.post("/ask", content=b"{" + b" " * 70_000 + b"}", headers={"Content-Type": "application/json"})
    assert response.status_code == 413
    assert "limit" in response.json()["detail"]


def test_documents_list_and_text(client: TestClient, corpus_dir: Path) -> None:
    docs = client.get("/api/documents").json()
    assert [d["document"] for d in docs] == ["alpha.md", "beta.txt"]
    beta = next(d for d in docs if d["document"] == "beta.txt")
    assert beta["title"] == "Mountains of the World" and beta["url"] == "https://example.org/mountains"
    full = client.get("/api/documents/beta.txt").json()
    assert full["text"] == (corpus_dir / "beta.txt").read_text(encoding="utf-8")
    assert [s["title"] for s in full["sections"]] == ["1. Everest", "2. Kilimanjaro"]


@pytest.mark.parametrize("path", ["/api/documents/nope.txt", "/api/documents/../corpus/beta.txt", "/api/documents/%2e%2e/x"])
def test_unknown_document_is_404(client: TestClient, path: str) -> None:
    response = client.get(path)
    assert response.status_code == 404


def test_health_reports_counts_and_model(client: TestClient) -> None:
    body = client.get("/health").json()
    assert body["status"] == "ok" and body["documents"] == 2 and body["passages"] > 0
    assert body["model"] == "hashing-64"


def test_no_index_gives_503_saying_how_to_build(tmp_path: Path, embedder: HashingEmbedder) -> None:
    settings = Settings(corpus_dir=tmp_path, index_dir=tmp_path / "index", reload_interval=60)
    app = create_app(settings, QAService(tmp_path / "index", embedder))
    with TestClient(app) as client:
        response = client.post("/ask", json={"question": "Nile?"})
        assert response.status_code == 503
        assert "qa index" in response.json()["detail"]
        assert client.get("/health").status_code == 503
        assert client.get("/api/documents").status_code == 503


def test_openapi_docs_are_served_offline(client: TestClient) -> None:
    page = client.get("/docs")
    assert page.status_code == 200 and "/vendor/swagger-ui-bundle.js" in page.text
    assert "cdn" not in page.text.lower()
    assert client.get("/vendor/swagger-ui-bundle.js").status_code == 200
    schema = client.get("/openapi.json").json()
    assert "/ask" in schema["paths"]


def test_security_headers(client: TestClient) -> None:
    headers = client.get("/health").headers
    assert "unsafe-inline" not in headers["content-security-policy"]
    assert headers["x-content-type-options"] == "nosniff"
    assert headers["referrer-policy"] == "no-referrer"


def test_documents_filter_answers_only_from_those(client: TestClient, corpus_dir: Path) -> None:
    question = {"question": "Which river is the longest and which mountain is the highest?", "top_k": 5}
    everywhere = client.post("/ask", json=question).json()
    assert {a["source"]["document"] for a in everywhere["answers"]} == {"alpha.md", "beta.txt"}
    for only in ("alpha.md", "beta.txt"):
        body = client.post("/ask", json={**question, "documents": [only]}).json()
        assert body["answers"] and {a["source"]["document"] for a in body["answers"]} == {only}
        text = client.get(f"/api/documents/{only}").json()["text"]
        assert all(text[a["source"]["start"]:a["source"]["end"]] == a["text"] for a in body["answers"])
    both = client.post("/ask", json={**question, "documents": ["alpha.md", "beta.txt"]}).json()
    assert both == {**everywhere, "took_ms": both["took_ms"]}  # every document: as without a filter


def test_unknown_documents_and_kinds_are_422_naming_them(client: TestClient) -> None:
    response = client.post("/ask", json={"question": "How tall?", "documents": ["beta.txt", "nope.txt", "gone.md"]})
    assert response.status_code == 422
    assert response.json()["detail"].startswith("documents: no document 'gone.md', 'nope.txt' in the index")
    response = client.post("/ask", json={"question": "How tall?", "kinds": ["podcast"]})
    assert response.status_code == 422 and "'podcast'" in response.json()["detail"]
    assert client.post("/ask", json={"question": "How tall?", "documents": []}).status_code == 422


def test_kinds_filter(corpus_dir: Path, tmp_path: Path, embedder: HashingEmbedder) -> None:
    (corpus_dir / "metadata.toml").write_text(
        (corpus_dir / "metadata.toml").read_text(encoding="utf-8") + 'kind = "atlas"\n', encoding="utf-8")
    index = tmp_path / "kinds-index"
    build_index(corpus_dir, index, embedder)
    service = QAService(index, embedder)
    service.load()
    answer = service.ask("Which river is the longest and which mountain is the highest?", 5, kinds=["atlas"])
    assert answer.excerpts and {e.source.document for e in answer.excerpts} == {"beta.txt"}
