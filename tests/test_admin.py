"""Admin actions over HTTP: token checks, uploads, deletes and reindexing."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi import HTTPException
from fastapi.testclient import TestClient
from sourcefiles import make_pdf

from qa.answer.service import QAService
from qa.config import Settings
from qa.embedding.encoder import HashingEmbedder
from qa.http.app import create_app
from qa.http.uploads import safe_name

TOKEN = "s3cret-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
DANUBE = b"The Danube flows through ten countries before it reaches the Black Sea.\n"


def make_client(corpus_dir: Path, index_dir: Path, **settings: object) -> TestClient:
    service = QAService(index_dir, HashingEmbedder())
    config = Settings(corpus_dir=corpus_dir, index_dir=index_dir, reload_interval=0.05, **settings)
    return TestClient(create_app(config, service))


@pytest.fixture
def client(corpus_dir: Path, index_dir: Path) -> Iterator[TestClient]:
    with make_client(corpus_dir, index_dir, admin_token=TOKEN, max_upload_mb=0.05) as client:
        yield client


def reindexed(client: TestClient) -> dict:
    """Wait for queued builds to finish; the last build's report."""
    assert client.app.state.reindexer.wait(timeout=30)  # type: ignore[attr-defined]
    status = client.get("/admin/reindex", headers=AUTH).json()
    assert status["error"] is None, status["error"]
    return status["last"]


def top_document(client: TestClient, question: str) -> str | None:
    answers = client.post("/ask", json={"question": question, "top_k": 1}).json()["answers"]
    return answers[0]["source"]["document"] if answers else None


def test_admin_is_off_without_a_token(corpus_dir: Path, index_dir: Path) -> None:
    with make_client(corpus_dir, index_dir) as client:
        for method, path in (("post", "/admin/documents"), ("delete", "/admin/documents/alpha.md"),
                             ("post", "/admin/reindex"), ("get", "/admin/reindex")):
            response = client.request(method.upper(), path, headers=AUTH)
            assert response.status_code == 404
            assert "QA_ADMIN_TOKEN" in response.json()["detail"]
        assert (corpus_dir / "alpha.md").exists()
        assert client.post("/ask", json={"question": "What is the longest river?"}).status_code == 200


@pytest.mark.parametrize(
    ("headers", "status"),
    [
        ({}, 401),
        ({"Authorization": TOKEN}, 401),
        ({"Authorization": f"Basic {TOKEN}"}, 401),
        ({"Authorization": "Bearer "}, 401),
        ({"Authorization": "Bearer wrong-token"}, 403),
        ({"Authorization": f"Bearer {TOKEN}x"}, 403),
        ({"Authorization": f"bearer {TOKEN}"}, 200),
    ],
)
def test_token_is_required(client: TestClient, headers: dict, status: int) -> None:
    response = client.get("/admin/reindex", headers=headers)
    assert response.status_code == status
    if status == 401:
        assert response.headers["www-authenticate"] == "Bearer"


def test_unauthorized_upload_writes_nothing(client: TestClient, corpus_dir: Path) -> None:
    before = sorted(p.name for p in corpus_dir.iterdir())
    response = client.post("/admin/documents", files={"file": ("danube.txt", DANUBE)},
                           headers={"Authorization": "Bearer nope"})
    assert response.status_code == 403
    assert sorted(p.name for p in corpus_dir.iterdir()) == before


def test_public_routes_stay_public(client: TestClient) -> None:
    assert client.post("/ask", json={"question": "What is the longest river in Africa?"}).status_code == 200
    assert client.get("/api/documents").status_code == 200
    assert client.get("/api/sources/skipped").json() == []
    assert client.get("/health").status_code == 200


def test_upload_is_indexed_and_answerable(client: TestClient, corpus_dir: Path) -> None:
    response = client.post("/admin/documents", files={"file": ("danube.txt", DANUBE, "text/plain")}, headers=AUTH)
    assert response.status_code == 201, response.text
    assert response.json()["document"] == "danube.txt" and response.json()["bytes"] == len(DANUBE)
    assert (corpus_dir / "danube.txt").read_bytes() == DANUBE
    assert reindexed(client)["added"] == ["danube.txt"]
    assert top_document(client, "Which sea does the Danube reach?") == "danube.txt"
    assert not list(corpus_dir.glob(".upload-*"))


def test_upload_pdf_cites_pages(corpus_dir: Path, index_dir: Path) -> None:
    with make_client(corpus_dir, index_dir, admin_token=TOKEN) as client:
        response = client.post("/admin/documents", files={"file": ("rivers.pdf", make_pdf())}, headers=AUTH)
        assert response.status_code == 201
        reindexed(client)
        answers = client.post("/ask", json={"question": "When was the Aswan High Dam completed?", "top_k": 1})
        source = answers.json()["answers"][0]["source"]
        assert (source["document"], source["page"]) == ("rivers.pdf", 2)


def test_existing_name_needs_overwrite(client: TestClient, corpus_dir: Path) -> None:
    original = (corpus_dir / "beta.txt").read_bytes()
    response = client.post("/admin/documents", files={"file": ("beta.txt", DANUBE)}, headers=AUTH)
    assert response.status_code == 409 and "overwrite=true" in response.json()["detail"]
    assert (corpus_dir / "beta.txt").read_bytes() == original
    response = client.post("/admin/documents?overwrite=true", files={"file": ("beta.txt", DANUBE)}, headers=AUTH)
    assert response.status_code == 201 and response.json()["replaced"] is True
    assert (corpus_dir / "beta.txt").read_bytes() == DANUBE
    assert reindexed(client)["changed"] == ["beta.txt"]


def test_upload_too_large(client: TestClient, corpus_dir: Path) -> None:
    big = b"A sentence about rivers. " * 4000  # 100 KB; the limit here is 0.05 MB
    response = client.post("/admin/documents", files={"file": ("big.txt", big)}, headers=AUTH)
    assert response.status_code == 413
    assert not (corpus_dir / "big.txt").exists() and not list(corpus_dir.glob(".upload-*"))


def test_upload_too_large_without_content_length(client: TestClient, corpus_dir: Path) -> None:
    boundary = "XyZ"
    head = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"big.txt\"\r\n"
            "Content-Type: text/plain\r\n\r\n").encode()

    def body() -> Iterator[bytes]:  # streamed: no Content-Length header
        yield head
        for _ in range(100):
            yield b"A sentence about rivers. " * 40
        yield f"\r\n--{boundary}--\r\n".encode()

    response = client.post("/admin/documents", content=body(), headers={
        **AUTH, "Content-Type": f"multipart/form-data; boundary={boundary}"})
    assert response.status_code == 413
    assert not (corpus_dir / "big.txt").exists() and not list(corpus_dir.glob(".upload-*"))


@pytest.mark.parametrize("name", ["notes.exe", "archive.zip", "metadata.toml", "noextension"])
def test_upload_unsupported_type(client: TestClient, name: str) -> None:
    response = client.post("/admin/documents", files={"file": (name, b"data")}, headers=AUTH)
    assert response.status_code == 415


@pytest.mark.parametrize("name", ["../evil.txt", "/etc/passwd.txt", "sub/dir.txt", "..", ".hidden.txt",
                                  "a\\b.txt", " .txt"])
def test_upload_unsafe_names(client: TestClient, corpus_dir: Path, name: str) -> None:
    response = client.post("/admin/documents", files={"file": (name, DANUBE)}, headers=AUTH)
    assert response.status_code == 400, response.text
    assert not (corpus_dir.parent / "evil.txt").exists()
    assert not list(corpus_dir.glob(".upload-*"))


def test_upload_needs_a_file_field(client: TestClient) -> None:
    assert client.post("/admin/documents", data={"other": "x"}, headers=AUTH).status_code == 400
    assert client.post("/admin/documents", content=b"raw", headers=AUTH).status_code == 400


def test_malformed_multipart(client: TestClient, corpus_dir: Path) -> None:
    head = b'--B\r\nContent-Disposition: form-data; name="file"; filename="x.txt"\r\n\r\nsome text'
    response = client.post("/admin/documents", content=head, headers={
        **AUTH, "Content-Type": "multipart/form-data; boundary=B"})
    assert response.status_code == 400
    assert not (corpus_dir / "x.txt").exists() and not list(corpus_dir.glob(".upload-*"))


def test_stale_uploads_are_removed(corpus_dir: Path, index_dir: Path) -> None:
    stale, fresh = corpus_dir / ".upload-old.tmp", corpus_dir / ".upload-new.tmp"
    stale.write_bytes(b"x")
    fresh.write_bytes(b"y")
    os.utime(stale, (time.time() - 7200, time.time() - 7200))
    make_client(corpus_dir, index_dir, admin_token=TOKEN)
    assert not stale.exists() and fresh.exists()


def test_safe_name() -> None:
    assert safe_name("Report 2021.PDF") == "Report 2021.PDF"
    assert safe_name("café.md") == "café.md"
    for bad, status in (("bad\x01name.txt", 400), ("rtl\u202etxt.exe", 400), ("x" * 300 + ".txt", 400),
                        ("script.sh", 415)):
        with pytest.raises(HTTPException) as caught:
            safe_name(bad)
        assert caught.value.status_code == status


def test_delete_document(client: TestClient, corpus_dir: Path) -> None:
    assert top_document(client, "When was the Aswan High Dam completed?") == "alpha.md"
    response = client.delete("/admin/documents/alpha.md", headers=AUTH)
    assert response.status_code == 200 and response.json()["deleted"]
    assert not (corpus_dir / "alpha.md").exists()
    assert reindexed(client)["removed"] == ["alpha.md"]
    assert "alpha.md" not in [d["document"] for d in client.get("/api/documents").json()]
    assert client.delete("/admin/documents/alpha.md", headers=AUTH).status_code == 404


@pytest.mark.parametrize("document", ["../outside.txt", "metadata.toml", "missing.txt", ".hidden.txt"])
def test_delete_refuses_anything_else(client: TestClient, corpus_dir: Path, document: str) -> None:
    outside = corpus_dir.parent / "outside.txt"
    outside.write_text("keep me", encoding="utf-8")
    (corpus_dir / ".hidden.txt").write_text("keep me too", encoding="utf-8")
    response = client.delete(f"/admin/documents/{document}", headers=AUTH)
    assert response.status_code in (400, 404)
    assert outside.exists() and (corpus_dir / "metadata.toml").exists() and (corpus_dir / ".hidden.txt").exists()


def test_reindex_endpoint(client: TestClient, corpus_dir: Path) -> None:
    (corpus_dir / "danube.txt").write_bytes(DANUBE)
    response = client.post("/admin/reindex?wait=true", headers=AUTH)
    assert response.status_code == 202
    body = response.json()
    assert body["state"] == "idle" and body["last"]["added"] == ["danube.txt"]
    full = client.post("/admin/reindex?full=true&wait=true", headers=AUTH).json()
    assert full["last"]["full_reason"] == "--full"
    assert top_document(client, "Which sea does the Danube reach?") == "danube.txt"
