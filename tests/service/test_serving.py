"""Operating the service: metrics, request ids, body limits, the /ask rate limit, CORS and the event loop."""

from __future__ import annotations

import inspect
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from fastapi.routing import APIRoute
from prometheus_client.parser import text_string_to_metric_families

from core.config import Settings
from index.embedding import Embedder
from service.deps import require_admin
from service.routes import articles, ask, feedback, health, index
from tests.conftest import LiveServer, SeedIndex, start_server

QUESTION = "When was the Manchester joint centre founded?"
UNANSWERABLE = "Who won the 2022 football World Cup?"


def scrape(server: LiveServer) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    r = httpx.get(f"{server.url}/metrics", timeout=30)
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/plain")
    samples = {}
    for family in text_string_to_metric_families(r.text):
        for s in family.samples:
            samples[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return samples


def value(samples: dict[tuple[str, tuple[tuple[str, str], ...]], float], name: str, **labels: str) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


def test_metrics_count_requests_answers_and_describe_the_snapshot(fresh_server: LiveServer) -> None:
    before = scrape(fresh_server)
    for question in (QUESTION, QUESTION, UNANSWERABLE):
        assert httpx.post(f"{fresh_server.url}/ask", json={"question": question}, timeout=60).status_code == 200
    for article_id in ("nope-1", "nope-2", "nope-3"):
        assert httpx.get(f"{fresh_server.url}/articles/{article_id}").status_code == 404
    after = scrape(fresh_server)

    ask = {"route": "/ask", "method": "POST", "status": "200"}
    assert value(after, "article_qa_http_requests_total", **ask) - value(before, "article_qa_http_requests_total",
                                                                          **ask) == 3
    assert value(after, "article_qa_http_request_duration_seconds_count", **ask) >= 3
    missing = {"route": "/articles/{article_id}", "method": "GET", "status": "404"}
    assert value(after, "article_qa_http_requests_total", **missing) == 3
    assert not any("nope-1" in str(labels) for _, labels in after), "raw paths must never become labels"
    assert value(after, "article_qa_answers_total", outcome="answered", mode="extractive") == 2
    assert value(after, "article_qa_answers_total", outcome="abstained", mode="extractive") == 1

    version = httpx.get(f"{fresh_server.url}/index").json()["version"]
    assert value(after, "article_qa_snapshot_info", version=version) == 1
    assert 0 <= value(after, "article_qa_snapshot_age_seconds") < 7 * 24 * 3600
    assert value(after, "article_qa_snapshot_articles") == 2
    assert ("article_qa_generator_queue_depth", ()) in after

    (fresh_server.articles_dir / "empty.txt").write_text("   \n")
    for path in list(fresh_server.articles_dir.iterdir()):
        if path.name != "empty.txt":
            path.unlink()
    job = httpx.post(f"{fresh_server.url}/index/rebuild", headers=fresh_server.admin()).json()
    deadline = time.monotonic() + 120
    while httpx.get(f"{fresh_server.url}/index/jobs/{job['id']}").json()["state"] not in {"succeeded", "failed"}:
        assert time.monotonic() < deadline, "rebuild did not finish"
        time.sleep(0.2)
    rebuilt = scrape(fresh_server)
    assert value(rebuilt, "article_qa_rebuild_failures_total") == 1
    assert value(rebuilt, "article_qa_rebuild_duration_seconds_count", outcome="failed") == 1
    assert value(rebuilt, "article_qa_snapshot_info", version=version) == 1, "a failed rebuild keeps the snapshot"


def test_request_id_is_returned_and_a_sane_incoming_one_is_kept(live_server: LiveServer) -> None:
    fresh = httpx.get(f"{live_server.url}/healthz")
    assert len(fresh.headers["x-request-id"]) == 32
    other = httpx.get(f"{live_server.url}/healthz")
    assert other.headers["x-request-id"] != fresh.headers["x-request-id"]
    kept = httpx.post(f"{live_server.url}/ask", json={"question": QUESTION}, headers={"X-Request-ID": "trace-42.a"},
                      timeout=60)
    assert kept.headers["x-request-id"] == "trace-42.a"
    for bad in ("x" * 500, "two words", "<script>"):
        r = httpx.get(f"{live_server.url}/healthz", headers={"X-Request-ID": bad})
        assert r.headers["x-request-id"] != bad and len(r.headers["x-request-id"]) == 32
    error = httpx.get(f"{live_server.url}/articles/missing")
    assert error.status_code == 404 and error.headers["x-request-id"]


def test_oversized_bodies_are_refused_with_413(live_server: LiveServer) -> None:
    limit = live_server.settings.service.max_request_bytes
    big = {"question": "why " * (limit // 4 + 10)}
    r = httpx.post(f"{live_server.url}/ask", json=big)
    assert r.status_code == 413 and r.json()["error"] == "payload_too_large"

    def chunks() -> Iterator[bytes]:  # no Content-Length: the middleware must count the streamed bytes
        yield b'{"question": "'
        for _ in range(limit // 1000 + 2):
            yield b"a" * 1000
        yield b'"}'

    streamed = httpx.post(f"{live_server.url}/ask", content=chunks(), headers={"content-type": "application/json"})
    assert streamed.status_code == 413 and streamed.json()["error"] == "payload_too_large"
    assert httpx.post(f"{live_server.url}/ask", json={"question": QUESTION}, timeout=60).status_code == 200


def test_ask_rate_limit_per_client(tmp_path: Path, seed_index: SeedIndex, embedder: Embedder) -> None:
    server = start_server(tmp_path, seed_index, embedder, rate_limit_per_minute=2, rate_limit_burst=3)
    try:
        codes = [httpx.post(f"{server.url}/ask", json={"question": QUESTION}, timeout=60) for _ in range(5)]
        assert [r.status_code for r in codes] == [200, 200, 200, 429, 429]
        limited = codes[3]
        assert limited.json()["error"] == "rate_limited" and "a minute" in limited.json()["message"]
        assert 1 <= int(limited.headers["retry-after"]) <= 30
        assert httpx.get(f"{server.url}/search", params={"q": "2014"}).status_code == 200, "only /ask is limited"
        assert value(scrape(server), "article_qa_rate_limited_total") == 2
    finally:
        server.stop()


def test_cors_is_off_unless_configured(live_server: LiveServer, tmp_path: Path, seed_index: SeedIndex,
                                       embedder: Embedder) -> None:
    origin = {"Origin": "https://news.example"}
    preflight = {**origin, "Access-Control-Request-Method": "POST"}
    plain = httpx.get(f"{live_server.url}/healthz", headers=origin)
    assert "access-control-allow-origin" not in plain.headers
    assert "access-control-allow-origin" not in httpx.options(f"{live_server.url}/ask", headers=preflight).headers

    server = start_server(tmp_path, seed_index, embedder, cors_origins=["https://news.example"])
    try:
        allowed = httpx.get(f"{server.url}/healthz", headers=origin)
        assert allowed.headers["access-control-allow-origin"] == "https://news.example"
        pre = httpx.options(f"{server.url}/ask", headers=preflight)
        assert pre.status_code == 200 and pre.headers["access-control-allow-origin"] == "https://news.example"
        other = httpx.get(f"{server.url}/healthz", headers={"Origin": "https://evil.example"})
        assert "access-control-allow-origin" not in other.headers
    finally:
        server.stop()


def test_cors_origins_setting_reads_a_comma_separated_list(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ARTICLE_QA_CORS_ORIGINS", "https://a.example, https://b.example")
    assert Settings().service.cors_origins == ["https://a.example", "https://b.example"]
    monkeypatch.setenv("ARTICLE_QA_CORS_ORIGINS", '["https://c.example"]')
    assert Settings().service.cors_origins == ["https://c.example"]
    monkeypatch.delenv("ARTICLE_QA_CORS_ORIGINS")
    assert Settings().service.cors_origins == []


def test_cpu_bound_routes_never_run_on_the_event_loop() -> None:
    """Sync routes run in the thread pool; the only async route hands its file work to the thread pool (the
    streaming routes, `/ask/stream` and `/v1/chat/completions`, run the pipeline on a worker thread)."""
    routers = (ask.router, articles.router, index.router, feedback.router, health.router)
    async_routes = {(method, r.path): r.endpoint for router in routers for r in router.routes if isinstance(r, APIRoute)
                    and inspect.iscoroutinefunction(r.endpoint) for method in (r.methods or ())}
    assert set(async_routes) == {("POST", "/articles")}, "a new async route must offload CPU work"
    source = inspect.getsource(async_routes[("POST", "/articles")])
    assert "run_in_threadpool(library.save" in source


def test_admin_token_is_compared_in_constant_time(live_server: LiveServer) -> None:
    assert "hmac.compare_digest(" in inspect.getsource(require_admin)
    url = f"{live_server.url}/index/rebuild"
    for token in (b"t", b"test-admin-token-but-longer", b"TEST-ADMIN-TOKEN", "test-admin-toke\u00f1".encode("latin-1")):
        r = httpx.post(url, headers={b"Authorization": b"Bearer " + token})
        assert r.status_code == 401 and r.headers["www-authenticate"] == "Bearer", token
