"""The generator guard with the real llama.cpp generator: saturation gives 503 + Retry-After, extractive flows."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from index.embedding import Embedder
from tests.conftest import LiveServer, SeedIndex, needs_generator, start_server

QUESTION = "When was the Manchester joint centre founded?"
OTHER = "How many graduates has PolyU trained?"

pytestmark = needs_generator


def ask(url: str, question: str, mode: str) -> httpx.Response:
    return httpx.post(f"{url}/ask", json={"question": question, "mode": mode}, timeout=180)


def gauge(url: str, name: str) -> float:
    for line in httpx.get(f"{url}/metrics", timeout=30).text.splitlines():
        if line.startswith(f"{name} "):
            return float(line.split()[1])
    raise AssertionError(f"{name} missing from /metrics")


@pytest.fixture(scope="module")
def no_queue_server(tmp_path_factory: pytest.TempPathFactory, seed_index: SeedIndex,
                    embedder: Embedder) -> Iterator[LiveServer]:
    server = start_server(tmp_path_factory.mktemp("guard"), seed_index, embedder, generator_max_waiting=0)
    warm = ask(server.url, QUESTION, "generative")  # loads the model, so the burst below meets a busy generator
    assert warm.status_code == 200, warm.text
    yield server
    server.stop()


def test_saturated_generator_gives_503_while_extractive_answers_flow(no_queue_server: LiveServer) -> None:
    url = no_queue_server.url
    with ThreadPoolExecutor(8) as pool:
        generative = [pool.submit(ask, url, q, "generative") for q in (QUESTION, OTHER, QUESTION, OTHER)]
        time.sleep(0.05)
        extractive = [pool.submit(ask, url, q, "extractive") for q in (QUESTION, OTHER, QUESTION)]
        gen = [f.result() for f in generative]
        ext = [f.result() for f in extractive]

    assert all(r.status_code == 200 for r in ext), [r.text for r in ext]
    assert ext[0].json()["answer"] == "2014"
    codes = sorted(r.status_code for r in gen)
    assert 200 in codes and 503 in codes, codes
    for busy in (r for r in gen if r.status_code == 503):
        assert busy.json()["error"] == "generator_busy" and "extractive" in busy.json()["message"]
        assert int(busy.headers["retry-after"]) >= 1
    assert gauge(url, "article_qa_generator_rejected") >= 1
    assert gauge(url, "article_qa_generator_queue_depth") == 0 and gauge(url, "article_qa_generator_active") == 0


def test_event_loop_answers_while_the_generator_runs(no_queue_server: LiveServer) -> None:
    """A generation runs in a worker thread: /healthz and /metrics answer while it is under way."""
    url = no_queue_server.url
    result: list[httpx.Response] = []
    worker = threading.Thread(target=lambda: result.append(ask(url, OTHER, "generative")))
    worker.start()
    seen_active = False
    deadline = time.monotonic() + 120
    while worker.is_alive() and time.monotonic() < deadline:
        if gauge(url, "article_qa_generator_active") == 1:
            seen_active = True
            assert httpx.get(f"{url}/healthz", timeout=5).status_code == 200
            break
        time.sleep(0.01)
    worker.join(timeout=180)
    assert seen_active, "never saw the generation in progress"
    assert result and result[0].status_code == 200


def test_generation_over_its_time_limit_is_stopped_with_503(tmp_path: Path, seed_index: SeedIndex,
                                                              embedder: Embedder) -> None:
    server = start_server(tmp_path, seed_index, embedder, generator_timeout_seconds=0.001)
    try:
        r = ask(server.url, QUESTION, "generative")
        assert r.status_code == 503 and r.json()["error"] == "generator_timeout", r.text
        assert r.headers["retry-after"]
        assert gauge(server.url, "article_qa_generator_active") == 0, "the slot is given back"
        assert ask(server.url, QUESTION, "extractive").json()["answer"] == "2014"
    finally:
        server.stop()
