"""Faults while indexing: a full disk, a corrupted snapshot and failed rebuilds never cost the served snapshot."""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from index import snapshot as snap
from index.embedding import Embedder
from index.fsutil import write_atomic
from ingest.pipeline import build_snapshot
from service.state import IndexState
from tests.conftest import ROOT, LiveServer, SeedIndex, make_settings, start_server

QUESTION = "When was the Manchester joint centre founded?"
NEW_ARTICLE = (
    "Health centre opens a sleep clinic\n\n4 April 2025 | News\n\n"
    "The university health centre opened a sleep clinic with 12 beds on 4 April 2025. "
    "The clinic will see 900 patients a year.\n"
)


@contextlib.contextmanager
def small_disk(path: Path, size: str = "2m") -> Iterator[Path]:
    """A real, small tmpfs mounted at ``path`` (root only, as in CI); unmounted afterwards."""
    if os.geteuid() != 0:
        pytest.skip("mounting a small tmpfs needs root (CI runs as root)")
    path.mkdir(parents=True, exist_ok=True)
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(path)],
                             capture_output=True, text=True)
    assert mounted.returncode == 0, f"cannot mount a tmpfs: {mounted.stderr}"
    try:
        yield path
    finally:
        subprocess.run(["umount", "-l", str(path)], check=False)


def fill(disk: Path, leave: int = 16_384) -> Path:
    """Leave only ``leave`` bytes free on ``disk``."""
    filler = disk / "filler.bin"
    free = shutil.disk_usage(disk).free
    with open(filler, "wb") as fh:
        fh.write(b"\0" * max(0, free - leave))
    return filler


def files_of(data: Path) -> dict[str, bytes]:
    """Every byte of the current snapshot and the CURRENT pointer, to prove nothing changed."""
    version = snap.current_version(data)
    folder = snap.snapshots_dir(data) / str(version)
    found = {p.relative_to(folder).as_posix(): p.read_bytes() for p in folder.rglob("*") if p.is_file()}
    return {**found, "CURRENT": (data / "CURRENT").read_bytes()}


def wait_job(server: LiveServer, job: dict[str, Any]) -> dict[str, Any]:
    deadline = time.monotonic() + 180
    while True:
        state: dict[str, Any] = httpx.get(f"{server.url}/index/jobs/{job['id']}").json()
        if state["state"] in {"succeeded", "failed"}:
            return state
        assert time.monotonic() < deadline, "the rebuild did not finish"
        time.sleep(0.2)


@pytest.mark.parametrize("free_bytes", [0, 16_384, 40_960], ids=["no-space", "16k-free", "40k-free"])
def test_full_disk_fails_the_cli_ingest_clearly_and_keeps_the_snapshot(
    tmp_path: Path, seed_index: SeedIndex, free_bytes: int
) -> None:
    """Whichever write runs out of space first (embedding cache or snapshot files), the error is clear."""
    articles = tmp_path / "articles"
    shutil.copytree(seed_index.articles_dir, articles)
    (articles / "sleep-clinic.txt").write_text(NEW_ARTICLE)
    with small_disk(tmp_path / "disk") as disk:
        data = disk / "data"
        shutil.copytree(seed_index.data_dir, data)
        before = files_of(data)
        fill(disk, free_bytes)
        result = subprocess.run(
            [sys.executable, "-m", "cli.main", "ingest", str(articles), "--data", str(data), "--quiet"],
            cwd=ROOT, capture_output=True, text=True, timeout=300)
        assert result.returncode == 1, result.stderr
        assert "error:" in result.stderr and "is full" in result.stderr and "Traceback" not in result.stderr
        assert files_of(data) == before
        assert not [p for p in snap.snapshots_dir(data).iterdir() if p.name.startswith(".tmp-")]
        loaded, problems = snap.load_latest(data)
        assert problems == [] and set(loaded.articles) == set(seed_index.snapshot.articles)


def test_full_disk_fails_the_rebuild_job_and_the_service_keeps_serving(
    tmp_path: Path, seed_index: SeedIndex, embedder: Embedder
) -> None:
    with small_disk(tmp_path / "disk", "4m") as disk:
        server = start_server(disk, seed_index, embedder)
        try:
            served = httpx.get(f"{server.url}/readyz").json()["snapshot"]
            before = files_of(server.data_dir)
            (server.articles_dir / "sleep-clinic.txt").write_text(NEW_ARTICLE)
            filler = fill(disk)
            job = httpx.post(f"{server.url}/index/rebuild", headers=server.admin()).json()
            failed = wait_job(server, job)
            assert failed["state"] == "failed" and "is full" in failed["error"], failed
            assert files_of(server.data_dir) == before
            assert httpx.get(f"{server.url}/readyz").json()["snapshot"] == served
            answer = httpx.post(f"{server.url}/ask", json={"question": QUESTION}, timeout=60).json()
            assert answer["answer"] == "2014" and answer["snapshot"] == served

            filler.unlink()  # space is back: the next rebuild publishes the new article
            done = wait_job(server, httpx.post(f"{server.url}/index/rebuild", headers=server.admin()).json())
            assert done["state"] == "succeeded", done
            deadline = time.monotonic() + 30
            while httpx.get(f"{server.url}/readyz").json()["snapshot"] == served:
                assert time.monotonic() < deadline
                time.sleep(0.2)
            assert httpx.get(f"{server.url}/articles").json()["total"] == 3
        finally:
            server.stop()


def test_corrupt_snapshot_is_refused_reported_and_the_previous_one_served(
    fresh_server: LiveServer, tmp_path: Path, caplog: pytest.LogCaptureFixture, embedder: Embedder
) -> None:
    served = httpx.get(f"{fresh_server.url}/readyz").json()["snapshot"]
    articles, data = tmp_path / "other-articles", tmp_path / "other-data"
    shutil.copytree(fresh_server.articles_dir, articles)
    shutil.copytree(fresh_server.data_dir, data)
    (articles / "sleep-clinic.txt").write_text(NEW_ARTICLE)
    report = build_snapshot(articles, data, make_settings(articles, data))
    assert report.published and report.version
    damaged = snap.snapshots_dir(data) / report.version / "dense.faiss"
    raw = bytearray(damaged.read_bytes())
    raw[len(raw) // 2] ^= 0xFF
    damaged.write_bytes(bytes(raw))

    with caplog.at_level(logging.ERROR, logger="service.state"):
        shutil.copytree(snap.snapshots_dir(data) / report.version, snap.snapshots_dir(fresh_server.data_dir)
                        / report.version)
        write_atomic(fresh_server.data_dir / "CURRENT", report.version.encode())
        deadline = time.monotonic() + 30
        while not httpx.get(f"{fresh_server.url}/index").json()["problems"]:
            assert time.monotonic() < deadline, "the damaged snapshot was never looked at"
            time.sleep(0.2)
    index = httpx.get(f"{fresh_server.url}/index").json()
    assert index["version"] == served
    assert any(report.version in p and "checksum mismatch in dense.faiss" in p for p in index["problems"])
    assert any("checksum mismatch" in r.getMessage() for r in caplog.records)
    metrics = httpx.get(f"{fresh_server.url}/metrics").text
    assert "article_qa_snapshot_problems 1.0" in metrics and f'version="{served}"' in metrics
    answer = httpx.post(f"{fresh_server.url}/ask", json={"question": QUESTION}, timeout=60).json()
    assert answer["answer"] == "2014" and answer["snapshot"] == served
    assert httpx.get(f"{fresh_server.url}/articles").json()["total"] == 2

    restarted = IndexState(fresh_server.settings, embedder)
    try:  # a restart over the damaged CURRENT falls back to the newest good snapshot
        assert restarted.reload() and restarted.pipeline.snapshot.version == served
        assert any("checksum mismatch" in p for p in restarted.problems)
    finally:
        restarted.stop()


def test_a_failed_rebuild_never_replaces_a_good_snapshot(fresh_server: LiveServer) -> None:
    before = files_of(fresh_server.data_dir)
    served = httpx.get(f"{fresh_server.url}/readyz").json()["snapshot"]
    for path in fresh_server.articles_dir.iterdir():
        path.unlink()
    (fresh_server.articles_dir / "broken.txt").write_bytes(b"\x00\x01\x02")
    failed = wait_job(fresh_server, httpx.post(f"{fresh_server.url}/index/rebuild",
                                               headers=fresh_server.admin()).json())
    assert failed["state"] == "failed" and "no articles could be read" in failed["error"]
    assert files_of(fresh_server.data_dir) == before
    assert httpx.get(f"{fresh_server.url}/readyz").json()["snapshot"] == served
    assert httpx.post(f"{fresh_server.url}/ask", json={"question": QUESTION}, timeout=60).json()["answer"] == "2014"
