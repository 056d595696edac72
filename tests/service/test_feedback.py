"""Ratings: ``POST /feedback`` stores them in SQLite and ``article-qa feedback export`` writes JSON Lines."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import httpx

from service.feedback import FeedbackStore
from tests.conftest import ROOT, LiveServer

CITATION = {"article_id": "a", "title": "T", "date": "2021-01-11", "source": "a.txt", "url": None,
            "quote": "was established in 2014", "start": 10, "end": 33}


def export(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "cli.main", "feedback", "export", *args], capture_output=True,
                          text=True, cwd=ROOT, timeout=120, stdin=subprocess.DEVNULL)


def test_rating_is_stored_and_exported(fresh_server: LiveServer, tmp_path: Path) -> None:
    entry = {"question": "When was it founded?", "rewritten_question": "When was the centre founded?",
             "answer": "2014", "citations": [CITATION], "snapshot": "v1", "rating": "up", "comment": "exact"}
    r = httpx.post(f"{fresh_server.url}/feedback", json=entry, timeout=30)
    assert r.status_code == 201 and r.json()["id"] == 1
    down = httpx.post(f"{fresh_server.url}/feedback", timeout=30,
                      json={"question": "Who won?", "answer": None, "rating": "down"})
    assert down.status_code == 201 and down.json()["id"] == 2

    out = tmp_path / "feedback.jsonl"
    proc = export("--data", str(fresh_server.data_dir), "-o", str(out))
    assert proc.returncode == 0, proc.stderr
    assert "exported 2 ratings" in proc.stderr
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert [r["rating"] for r in rows] == ["up", "down"]
    first = rows[0]
    assert {k: first[k] for k in entry} == entry and first["created_at"]
    to_stdout = export("--data", str(fresh_server.data_dir))
    assert [json.loads(line) for line in to_stdout.stdout.splitlines()] == rows


def test_bad_ratings_are_refused(live_server: LiveServer) -> None:
    for body in ({"question": "q", "rating": "meh"}, {"question": "", "rating": "up"}, {"rating": "up"}):
        r = httpx.post(f"{live_server.url}/feedback", json=body, timeout=30)
        assert r.status_code == 422 and r.json()["error"] == "invalid_request"


def test_export_without_feedback_says_so(tmp_path: Path) -> None:
    proc = export("--data", str(tmp_path))
    assert proc.returncode == 1 and "no feedback yet" in proc.stderr


def test_store_round_trip(tmp_path: Path) -> None:
    store = FeedbackStore(tmp_path / "d" / "feedback.sqlite3")
    assert list(store.rows()) == []
    stored = store.add({"question": "q", "answer": "a", "citations": [CITATION], "rating": "up"})
    assert stored["id"] == 1
    (row,) = store.rows()
    assert row["citations"] == [CITATION] and row["snapshot"] is None
