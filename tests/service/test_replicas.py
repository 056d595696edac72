"""Stateless replicas: two `article-qa serve` processes on one Milvus server and one shared article store answer
identically, switch to a new index together under a concurrent /ask loop with no failed request, and run one
rebuild at a time (the other answers 409 "rebuild in progress")."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from index.backends.milvus import disconnect
from ingest.pipeline import build_snapshot
from tests.conftest import ADMIN_TOKEN, ROOT, SeedIndex, free_port
from tests.milvus_support import LiteServer, copy_seed, milvus_settings, start_lite_server

QUESTION = "When was the Manchester joint centre founded?"
NEW_QUESTION = "How many pedestrians did the zebra crossing study count?"
NEW_ARTICLE = ("Zebra crossing study\n\nThe university's zebra crossing study counted 4,312 pedestrians in March. "
               "Researchers said the zebra crossings near the campus were the busiest in the district.\n")
MIN_REQUESTS = 200
ADMIN = {"Authorization": f"Bearer {ADMIN_TOKEN}"}


def _serve(articles: Path, data: Path, store: Path, uri: str, log: Path) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    env = {**os.environ, "ARTICLE_QA_INDEX_BACKEND": "milvus", "ARTICLE_QA_MILVUS_URI": uri,
           "ARTICLE_QA_ARTICLE_STORE_DIR": str(store), "ARTICLE_QA_ADMIN_TOKEN": ADMIN_TOKEN,
           "ARTICLE_QA_RELOAD_POLL_SECONDS": "0.2", "ARTICLE_QA_FAULT_DELAY_MS": "400",
           "ARTICLE_QA_REQUEST_THREADS": "4"}
    with open(log, "wb") as out:
        proc = subprocess.Popen([sys.executable, "-m", "cli.main", "serve", "--articles", str(articles),
                                 "--data", str(data), "--host", "127.0.0.1", "--port", str(port)],
                                cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
    return proc, f"http://127.0.0.1:{port}"


def _ready(url: str) -> str | None:
    try:
        response = httpx.get(f"{url}/readyz", timeout=5)
    except httpx.HTTPError:
        return None
    return str(response.json()["snapshot"]) if response.status_code == 200 else None


def _answer(url: str, question: str) -> dict[str, Any]:
    response = httpx.post(f"{url}/ask", json={"question": question}, timeout=60)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    body.pop("timings_ms", None)
    return body


@pytest.fixture()
def replicas(tmp_path: Path, seed_index: SeedIndex) -> Iterator[tuple[list[str], Path, LiteServer]]:
    server = start_lite_server(tmp_path / "milvus" / "milvus.db")
    articles, data = copy_seed(seed_index, tmp_path / "shared")
    store = tmp_path / "shared" / "store"
    settings = milvus_settings(articles, data, server.uri, article_store_dir=store)
    assert build_snapshot(articles, data, settings).published
    procs: list[subprocess.Popen[bytes]] = []
    urls = []
    try:
        for name in ("a", "b"):
            replica_data = tmp_path / f"replica-{name}"
            replica_data.mkdir()
            for cache in data.glob("*.sqlite*"):
                (replica_data / cache.name).write_bytes(cache.read_bytes())
            proc, url = _serve(articles, replica_data, store, server.uri, tmp_path / f"replica-{name}.log")
            procs.append(proc)
            urls.append(url)
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline and not all(_ready(u) for u in urls):
            assert all(p.poll() is None for p in procs), "a replica exited"
            time.sleep(0.3)
        assert all(_ready(u) for u in urls), "replicas did not become ready"
        yield urls, articles, server
    finally:
        for proc in procs:
            proc.send_signal(signal.SIGTERM)
        for proc in procs:
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
        disconnect(server.uri)
        server.stop()


def test_replicas_answer_alike_and_switch_together(replicas: tuple[list[str], Path, LiteServer]) -> None:
    urls, articles, _ = replicas
    first = {_ready(u) for u in urls}
    assert len(first) == 1
    before = [_answer(u, QUESTION) for u in urls]
    assert before[0] == before[1] and before[0]["answer"] == "2014"

    statuses: list[int] = []
    versions: list[str] = []
    stop = threading.Event()

    def ask_loop() -> None:
        with httpx.Client(timeout=60) as client:
            i = 0
            while not stop.is_set() or len(statuses) < MIN_REQUESTS:
                response = client.post(f"{urls[i % 2]}/ask", json={"question": QUESTION})
                statuses.append(response.status_code)
                if response.status_code == 200:
                    versions.append(response.json()["snapshot"])
                i += 1
                if len(statuses) >= 1000:
                    break

    loops = [threading.Thread(target=ask_loop) for _ in range(2)]
    for loop in loops:
        loop.start()
    (articles / "zebra.txt").write_text(NEW_ARTICLE)
    started = httpx.post(f"{urls[0]}/index/rebuild", headers=ADMIN, timeout=30)
    assert started.status_code == 202, started.text
    job = started.json()
    refused = None
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline:
        job = httpx.get(f"{urls[0]}/index/jobs/{job['id']}", timeout=30).json()
        stage = (job.get("progress") or {}).get("stage")
        if refused is None and job["state"] == "running" and stage in {"records", "collection", "inserted"}:
            refused = httpx.post(f"{urls[1]}/index/rebuild", headers=ADMIN, timeout=30)
        if job["state"] in {"succeeded", "failed"}:
            break
        time.sleep(0.05)
    assert job["state"] == "succeeded", job
    assert refused is not None and refused.status_code == 409, refused and refused.text
    assert refused.json()["error"] == "index_busy" and "rebuild in progress" in refused.json()["message"]

    switched: dict[str, float] = {}
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and len(switched) < 2:
        for url in urls:
            if url not in switched and _ready(url) == job["snapshot"]:
                switched[url] = time.monotonic()
        time.sleep(0.05)
    assert len(switched) == 2 and max(switched.values()) - min(switched.values()) < 2.0
    stop.set()
    for loop in loops:
        loop.join(timeout=300)
    assert len(statuses) >= MIN_REQUESTS
    assert statuses.count(200) == len(statuses), f"failed requests: {[s for s in statuses if s != 200]}"
    assert set(versions) == first | {job["snapshot"]}  # answered on both versions, across the swap

    after = [_answer(u, QUESTION) for u in urls]
    assert after[0] == after[1] and after[0]["answer"] == "2014" and after[0]["snapshot"] == job["snapshot"]
    new = [_answer(u, NEW_QUESTION) for u in urls]
    assert new[0] == new[1] and new[0]["answer"] and "4,312" in new[0]["answer"]
