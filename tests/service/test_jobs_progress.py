"""Rebuild jobs report how far they are, so the admin panel can show a progress bar."""

from __future__ import annotations

import time

import httpx

from tests.conftest import LiveServer


def test_rebuild_job_reports_progress(fresh_server: LiveServer) -> None:
    article = {"title": "Harbour ferry adds a night crossing", "date": "2025-03-20",
               "text": "The Port Vell harbour ferry will add a night crossing at 23:40 from April 2025."}
    r = httpx.post(f"{fresh_server.url}/articles", json=article, headers=fresh_server.admin(), timeout=30)
    assert r.status_code == 202
    job_id = r.json()["job"]["id"]
    seen = []
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        job = httpx.get(f"{fresh_server.url}/index/jobs/{job_id}", timeout=10).json()
        if job["progress"]:
            seen.append(job["progress"])
        if job["state"] in {"succeeded", "failed"}:
            break
        time.sleep(0.05)
    assert job["state"] == "succeeded", job
    final = job["progress"]
    assert final is not None and final["done"] == final["total"] >= 1 and final["stage"]
    assert all(0 <= p["done"] <= p["total"] for p in seen)
