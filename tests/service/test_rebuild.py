"""Rebuilding while serving: new articles are answered without a restart and no request fails."""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx

from tests.conftest import LiveServer, SeedIndex, start_server

NEW_ARTICLE = (
    "Peking University opens surgical robotics laboratory\n\n3 March 2025 | News\n\n"
    "The Peking University Health Science Center opened a surgical robotics laboratory on 3 March 2025. "
    "The laboratory houses 24 surgical robots and will train 300 surgeons each year.\n\n"
    "Written by: Chen Mei\n"
)
QUESTION = "How many surgical robots does the new robotics laboratory house?"


def ask(server: LiveServer, question: str) -> dict[str, Any]:
    r = httpx.post(f"{server.url}/ask", json={"question": question}, timeout=60)
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body


class AskLoop:
    """Background clients asking seed questions until stopped; every non-200 is recorded."""

    def __init__(self, server: LiveServer, workers: int = 3) -> None:
        self.server, self.count, self.errors = server, 0, []  # type: ignore[var-annotated]
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._threads = [threading.Thread(target=self._run, daemon=True) for _ in range(workers)]

    def _run(self) -> None:
        questions = ["When was the Manchester joint centre founded?", "How many graduates has PolyU trained?"]
        with httpx.Client(timeout=60) as client:
            i = 0
            while not self._stop.is_set():
                try:
                    r = client.post(f"{self.server.url}/ask", json={"question": questions[i % 2]})
                    ok = r.status_code == 200 and (r.json()["answer"] is not None)
                    detail = r.text[:200]
                except httpx.HTTPError as exc:
                    ok, detail = False, repr(exc)
                with self._lock:
                    self.count += 1
                    if not ok:
                        self.errors.append(detail)
                i += 1

    def __enter__(self) -> AskLoop:
        for t in self._threads:
            t.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        for t in self._threads:
            t.join(timeout=60)


def wait_for(predicate: Callable[[], bool], timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.2)
    return False


def answered(server: LiveServer) -> bool:
    body = ask(server, QUESTION)
    return body["answer"] is not None and "24" in body["answer"]


def test_new_article_in_folder_and_rebuild_without_restart(fresh_server: LiveServer) -> None:
    assert not answered(fresh_server)
    before = httpx.get(f"{fresh_server.url}/index").json()["version"]
    with AskLoop(fresh_server) as loop:
        (fresh_server.articles_dir / "robotics-lab.txt").write_text(NEW_ARTICLE)
        started = time.monotonic()
        r = httpx.post(f"{fresh_server.url}/index/rebuild", headers=fresh_server.admin())
        assert r.status_code == 202
        job_id = r.json()["id"]
        assert wait_for(lambda: answered(fresh_server), 60)
        elapsed = time.monotonic() - started
        assert wait_for(lambda: loop.count >= 200, 120)
    assert loop.errors == [] and loop.count >= 200
    assert elapsed < 60
    job = httpx.get(f"{fresh_server.url}/index/jobs/{job_id}").json()
    assert job["state"] == "succeeded" and job["summary"]["added"] == ["robotics-lab"]
    body = ask(fresh_server, QUESTION)
    assert body["citations"][0]["source"] == "robotics-lab.txt" and "24" in body["citations"][0]["quote"]
    assert body["snapshot"] != before


def test_posted_article_is_saved_and_indexed(fresh_server: LiveServer) -> None:
    r = httpx.post(f"{fresh_server.url}/articles", headers=fresh_server.admin(), timeout=30,
                   json={"title": "Peking University opens surgical robotics laboratory",
                         "text": NEW_ARTICLE.split("\n\n", 2)[2], "date": "2025-03-03", "authors": ["Chen Mei"]})
    assert r.status_code == 202, r.text
    assert r.json()["article"]["id"] == "peking-university-opens-surgical-robotics-laboratory"
    assert (fresh_server.articles_dir / "peking-university-opens-surgical-robotics-laboratory.json").is_file()
    assert wait_for(lambda: answered(fresh_server), 60)
    listing = httpx.get(f"{fresh_server.url}/articles").json()
    assert listing["total"] == 3

    gone = httpx.delete(f"{fresh_server.url}/articles/peking-university-opens-surgical-robotics-laboratory",
                        headers=fresh_server.admin())
    assert gone.status_code == 202
    assert wait_for(lambda: httpx.get(f"{fresh_server.url}/articles").json()["total"] == 2, 60)
    assert ask(fresh_server, "When was the Manchester joint centre founded?")["answer"] == "2014"


def test_separate_ingest_process_is_picked_up(fresh_server: LiveServer) -> None:
    (fresh_server.articles_dir / "robotics-lab.txt").write_text(NEW_ARTICLE)
    proc = subprocess.run(
        [sys.executable, "-m", "cli.main", "ingest", str(fresh_server.articles_dir), "--data",
         str(fresh_server.data_dir), "--quiet"], capture_output=True, text=True, timeout=300,
        cwd=Path(__file__).resolve().parents[2],
    )
    assert proc.returncode == 0, proc.stderr
    assert "added 1" in proc.stdout
    assert wait_for(lambda: answered(fresh_server), 30)


def test_watch_mode_rebuilds_on_new_file(tmp_path: Path, seed_index: SeedIndex, embedder: Any) -> None:
    server = start_server(tmp_path, seed_index, embedder, watch=True)
    try:
        time.sleep(1.0)
        (server.articles_dir / "robotics-lab.txt").write_text(NEW_ARTICLE)
        assert wait_for(lambda: answered(server), 60)
    finally:
        server.stop()
