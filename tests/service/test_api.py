from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.conftest import LiveServer, SeedIndex, start_server
from tests.service.test_openai_api import WHO_WROTE_IT


def post_ask(server: LiveServer, body: Any, **kw: Any) -> httpx.Response:
    return httpx.post(f"{server.url}/ask", json=body, timeout=30, **kw)


def test_ask_acceptance_question(live_server: LiveServer) -> None:
    r = post_ask(live_server, {"question": "When was the Manchester joint centre founded?"})
    assert r.status_code == 200
    body = r.json()
    assert body["answer"] == "2014" and body["abstained"] is False
    assert 0 <= body["confidence"] <= 1 and body["snapshot"]
    citation = body["citations"][0]
    assert citation["source"] == "pkuhsc-manchester-joint-webinar.txt" and "2014" in citation["quote"]
    article = httpx.get(f"{live_server.url}/articles/{citation['article_id']}").json()
    assert article["text"][citation["start"]:citation["end"]] == citation["quote"]
    assert body["passages"] and all(p["text"] == article["text"][p["start"]:p["end"]]
                                    for p in body["passages"] if p["article_id"] == article["id"])


def test_unanswerable_is_an_abstention(live_server: LiveServer) -> None:
    body = post_ask(live_server, {"question": "Who won the 2022 football World Cup?"}).json()
    assert body["answer"] is None and body["abstained"] is True and body["citations"] == []
    assert body["reason"]


def test_filters_and_top_k(live_server: LiveServer) -> None:
    body = post_ask(live_server, {"question": "medical cooperation", "top_k": 2,
                                  "filters": {"published_after": "2024-01-01"}}).json()
    assert len(body["passages"]) <= 2
    assert {p["article_id"] for p in body["passages"]} == {"polyu-pkuhsc-medical-technology-mou"}


def test_search_returns_ranked_scored_passages(live_server: LiveServer) -> None:
    r = httpx.get(f"{live_server.url}/search", params={"q": "clinical genomics training", "k": 3})
    assert r.status_code == 200
    hits = r.json()["hits"]
    assert [h["rank"] for h in hits] == [1, 2, 3]
    assert hits[0]["score"] >= hits[-1]["score"] and "genomics" in hits[0]["text"]


def test_articles_listing_and_detail(live_server: LiveServer) -> None:
    listing = httpx.get(f"{live_server.url}/articles").json()
    assert listing["total"] == 2
    detail = httpx.get(f"{live_server.url}/articles/pkuhsc-manchester-joint-webinar").json()
    assert detail["byline"] == "Lang Lang" and detail["date"] == "2021-01-11"
    assert detail["source"] == "pkuhsc-manchester-joint-webinar.txt" and "2014" in detail["text"]
    missing = httpx.get(f"{live_server.url}/articles/nope")
    assert missing.status_code == 404 and missing.json()["error"] == "article_not_found"


def test_index_manifest_and_health(live_server: LiveServer) -> None:
    manifest = httpx.get(f"{live_server.url}/index").json()
    counts = manifest["counts"]
    assert counts["articles"] == 2 and counts["chunks"] >= 2 and counts["sentences"] > counts["chunks"]
    assert set(counts) == {"articles", "chunks", "sentences"}
    assert manifest["embedding"]["dimension"] == 384
    assert httpx.get(f"{live_server.url}/healthz").json() == {"status": "ok"}
    assert httpx.get(f"{live_server.url}/readyz").json()["snapshot"] == manifest["version"]


@pytest.mark.parametrize(
    ("body", "raw", "needle"),
    [
        ({"question": ""}, None, "empty"),
        ({"question": "   \t  "}, None, "empty"),
        ({"question": "why " * 400}, None, "limit"),
        ({"question": 42}, None, "question"),
        ({"question": "ok?", "top_k": "many"}, None, "top_k"),
        ({"question": "ok?", "top_k": 0}, None, "top_k"),
        ({"question": "ok?", "filters": {"author": "x"}}, None, "author"),
        ({"question": "ok?", "filters": {"published_after": "yesterday"}}, None, "published_after"),
        ({}, None, "question"),
        (None, b'{"question": "unterminated', "not valid JSON"),
    ],
)
def test_bad_requests_get_clear_json_errors(live_server: LiveServer, body: Any, raw: bytes | None, needle: str) -> None:
    if raw is not None:
        r = httpx.post(f"{live_server.url}/ask", content=raw, headers={"content-type": "application/json"})
    else:
        r = post_ask(live_server, body)
    assert r.status_code == 422
    payload = r.json()
    assert payload["error"] in {"invalid_request", "invalid_question"} and needle in payload["message"]


def test_admin_requires_token(live_server: LiveServer) -> None:
    assert httpx.post(f"{live_server.url}/index/rebuild").status_code == 401
    wrong = httpx.post(f"{live_server.url}/index/rebuild", headers={"Authorization": "Bearer nope"})
    assert wrong.status_code == 401 and wrong.json()["error"] == "unauthorized"


def test_admin_disabled_without_token(tmp_path: Any, seed_index: SeedIndex, embedder: Any) -> None:
    server = start_server(tmp_path, seed_index, embedder, token=None)
    try:
        r = httpx.post(f"{server.url}/index/rebuild", headers={"Authorization": "Bearer anything"})
        assert r.status_code == 403
        assert "ARTICLE_QA_ADMIN_TOKEN" in r.json()["message"]
    finally:
        server.stop()


def test_bad_uploads_are_refused_and_nothing_changes(fresh_server: LiveServer) -> None:
    url, headers = f"{fresh_server.url}/articles", fresh_server.admin()
    before = sorted(p.name for p in fresh_server.articles_dir.iterdir())
    cases: list[tuple[dict[str, Any], int, str]] = [
        ({"files": {"file": ("evil.exe", b"MZ\x00\x00", "application/octet-stream")}}, 415, "unsupported_file"),
        ({"files": {"file": ("bin.txt", b"\x00\x01\x02\x03", "text/plain")}}, 422, "invalid_article"),
        ({"files": {"file": ("latin.txt", "caf\xe9 ol\xe9".encode("latin-1"), "text/plain")}}, 422, "invalid_article"),
        ({"files": {"file": ("big.txt", b"word " * 1_100_000, "text/plain")}}, 413, "payload_too_large"),
        ({"json": {"title": "No text"}}, 422, "invalid_request"),
        ({"json": {"title": "T", "text": "Body.", "extra": 1}}, 422, "invalid_request"),
    ]
    for kwargs, status, code in cases:
        r = httpx.post(url, headers=headers, timeout=30, **kwargs)
        assert (r.status_code, r.json()["error"]) == (status, code), r.text
    assert sorted(p.name for p in fresh_server.articles_dir.iterdir()) == before
    assert httpx.get(f"{fresh_server.url}/articles").json()["total"] == 2


def test_upload_name_cannot_escape_articles_folder(fresh_server: LiveServer) -> None:
    r = httpx.post(f"{fresh_server.url}/articles", headers=fresh_server.admin(),
                   files={"file": ("../../escape.txt", b"Escape title\n\nA body sentence here.", "text/plain")})
    assert r.status_code == 202
    assert (fresh_server.articles_dir / "escape.txt").is_file()
    assert not (fresh_server.articles_dir.parent / "escape.txt").exists()
    again = httpx.post(f"{fresh_server.url}/articles", headers=fresh_server.admin(),
                       files={"file": ("escape.txt", b"Other\n\nOther body.", "text/plain")})
    assert again.status_code == 409 and again.json()["error"] == "article_exists"


def test_unknown_route_is_json_404(live_server: LiveServer) -> None:
    r = httpx.get(f"{live_server.url}/nope")
    assert r.status_code == 404 and r.json()["error"] == "not_found"


def test_openapi_documents_the_api(live_server: LiveServer) -> None:
    spec = httpx.get(f"{live_server.url}/openapi.json").json()
    for path in ("/ask", "/search", "/articles", "/articles/{article_id}", "/index/rebuild", "/index/jobs/{job_id}",
                 "/index", "/healthz", "/readyz"):
        assert path in spec["paths"]
    assert "AskResponse" in spec["components"]["schemas"]


def test_a_follow_up_works_from_chat_messages_alone(live_server: LiveServer) -> None:
    """Chat clients send only the text of earlier turns: "that article" is found from it, not from echoed ids."""
    history = [{"role": "user", "content": "When was the Manchester joint centre founded?"},
               {"role": "assistant", "content": "2014"}]
    r = httpx.post(f"{live_server.url}/ask", json={"question": "Who wrote that article?", "history": history},
                   timeout=60)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["rewritten_question"] == WHO_WROTE_IT
    assert body["answer"] == "Lang Lang" and body["citations"][0]["article_id"] == "pkuhsc-manchester-joint-webinar"
