"""While the first index builds, /readyz and the logs say how far it is, how fast, and how long is left."""

from __future__ import annotations

import logging
import threading
import time
from pathlib import Path

import httpx
import pytest
import uvicorn

from index.backends.local import LocalBackend
from index.embedding import Embedder
from service.app import create_app
from service.state import IndexState
from tests.conftest import free_port, make_settings


def test_readyz_reports_build_progress_until_ready(tmp_path: Path, embedder: Embedder,
                                                    caplog: pytest.LogCaptureFixture) -> None:
    articles = tmp_path / "articles"
    articles.mkdir()
    for i in range(240):
        (articles / f"notice-{i:03d}.txt").write_text(
            f"Campus notice number {i}\n\nThe library on site {i} opens at {8 + i % 3} am. "
            f"Readers may borrow {i % 7 + 2} books. The cafe serves tea to {i * 3} visitors a day.\n")
    settings = make_settings(articles, tmp_path / "data", progress_log_seconds=0.0)
    app = create_app(settings, state=IndexState(settings, embedder))
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    url = f"http://127.0.0.1:{port}"
    messages: list[str] = []
    with caplog.at_level(logging.INFO, logger="service.state"):
        thread.start()
        try:
            deadline = time.monotonic() + 300
            while time.monotonic() < deadline:
                try:
                    r = httpx.get(f"{url}/readyz", timeout=5)
                except httpx.HTTPError:
                    time.sleep(0.05)
                    continue
                if r.status_code == 200:
                    break
                assert r.status_code == 503 and r.json()["error"] == "not_ready"
                messages.append(r.json()["message"])
                time.sleep(0.05)
            assert r.status_code == 200, messages[-3:]
        finally:
            server.should_exit = True
            thread.join(timeout=15)
    building = [m for m in messages if m.startswith("building the first index")]
    assert any(" of 240 passages" in m for m in building), messages[-5:]
    assert any("a second" in m and "left" in m for m in building), building[-5:]
    assert any("initial-build" in r.message and "passages" in r.message for r in caplog.records)


def test_a_first_build_answers_from_its_passages_before_its_sentence_vectors(tmp_path: Path, embedder: Embedder,
                                                                             caplog: pytest.LogCaptureFixture) -> None:
    """With deferred sentence vectors the service is ready once the passages are published, answers from that
    version over HTTP, and then serves the same index with its sentence vectors, without a restart."""
    articles = tmp_path / "articles"
    articles.mkdir()
    (articles / "rowing.txt").write_text(
        "Rowing club wins the river cup\n\nThe university rowing club won the river cup on Saturday. Eight crews "
        "raced over two kilometres. The club's coach, Mei Ling Chan, has trained crews for twelve years.\n")
    settings = make_settings(articles, tmp_path / "data", embedding_deferred_inline_sentences=0,
                             fault_delay_ms=400)
    state = IndexState(settings, embedder)
    app = create_app(settings, state=state)
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    url = f"http://127.0.0.1:{port}"
    with caplog.at_level(logging.INFO, logger="service.state"):
        thread.start()
        try:
            deadline = time.monotonic() + 120
            while time.monotonic() < deadline:
                try:
                    if httpx.get(f"{url}/readyz", timeout=5).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                time.sleep(0.05)
            first = state.pipeline.snapshot
            answer = httpx.post(f"{url}/ask", json={"question": "Who is the rowing club's coach?"}, timeout=30).json()
            while state.jobs.running() is not None and time.monotonic() < deadline:
                time.sleep(0.1)
            state.reload()
            final = state.pipeline.snapshot
        finally:
            server.should_exit = True
            thread.join(timeout=15)
    assert first.sentences is None and first.manifest["build"]["sentences_pending"] is True
    assert answer["answer"] == "Mei Ling Chan" and answer["snapshot"] == first.version
    assert final.version != first.version and final.sentences is not None
    ours = set(LocalBackend(settings.data_dir).list_versions())  # another test's build may still log
    served = [m.split()[2] for m in (r.getMessage() for r in caplog.records) if m.startswith("serving snapshot")]
    assert [v for v in served if v in ours] == [first.version, final.version]
