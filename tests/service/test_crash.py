"""SIGKILL at random points of a rebuild never leaves the data folder without a loadable snapshot."""

from __future__ import annotations

import os
import random
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

from index import snapshot as snap
from service.state import IndexState
from tests.conftest import ROOT, SeedIndex, make_settings

TRIALS = int(os.environ.get("ARTICLE_QA_CRASH_TRIALS", "20"))


def _ingest(articles: Path, data: Path) -> subprocess.Popen[bytes]:
    env = {**os.environ, "ARTICLE_QA_FAULT_DELAY_MS": "250"}
    return subprocess.Popen(
        [sys.executable, "-m", "cli.main", "ingest", str(articles), "--data", str(data), "--force", "--quiet"],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )


def _wait_for_publish(data: Path, proc: subprocess.Popen[bytes]) -> None:
    """Block until the child starts writing a snapshot folder, so the kill lands inside publishing."""
    root = data / "snapshots"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and proc.poll() is None:
        if any(p.name.startswith(".tmp-") for p in root.iterdir()):
            return
        time.sleep(0.01)


def test_sigkill_during_rebuild_keeps_a_loadable_snapshot(
    tmp_path: Path, seed_index: SeedIndex, embedder: object
) -> None:
    articles, data = tmp_path / "articles", tmp_path / "data"
    shutil.copytree(seed_index.articles_dir, articles)
    shutil.copytree(seed_index.data_dir, data)
    rng = random.Random(20261125)

    started = time.monotonic()
    assert _ingest(articles, data).wait(timeout=300) == 0
    full = time.monotonic() - started

    killed_mid_publish = 0
    for trial in range(TRIALS):
        (articles / f"extra-{trial}.txt").write_text(
            f"Extra article {trial}\n\nThe extra article number {trial} reports {rng.randint(10, 999)} new "
            f"scholarships for {trial} departments. " * 3)
        known = set(snap.load_latest(data)[0].articles)
        proc = _ingest(articles, data)
        if trial % 2:
            delay = rng.uniform(0.2, full + 0.5)
            time.sleep(delay)
        else:
            _wait_for_publish(data, proc)
            delay = rng.uniform(0.0, 1.6)
            time.sleep(delay)
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
        if any(p.name.startswith(".tmp-") for p in (data / "snapshots").iterdir()):
            killed_mid_publish += 1

        loaded, problems = snap.load_latest(data)
        assert problems == [], f"trial {trial} (kill after {delay:.2f}s): {problems}"
        assert known <= set(loaded.articles), f"trial {trial}: lost articles"
        state = IndexState(make_settings(articles, data), embedder)  # type: ignore[arg-type]
        try:
            assert state.reload() and state.ready
            assert state.pipeline.ask("When was the Manchester joint centre founded?").answer == "2014"
        finally:
            state.stop()
    assert killed_mid_publish >= 1, "no kill landed while a snapshot was being written"
