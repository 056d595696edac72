"""SIGKILL at random points of a Milvus rebuild never leaves the index without a loadable version.

Half the trials kill an ingest that talks to a Milvus server (milvus-lite's engine on 127.0.0.1, as Milvus
standalone runs beside the service); the other half kill an ingest that runs the embedded engine itself, so the
engine dies with it mid-write and the next process reopens the file.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from core.config import Settings
from index.backends import backend_for
from index.backends.milvus import MilvusBackend, disconnect
from index.embedding import Embedder
from ingest.pipeline import build_snapshot
from service.state import IndexState
from tests.conftest import ROOT, SeedIndex
from tests.milvus_support import LiteServer, copy_seed, milvus_settings, start_lite_server

TRIALS = max(10, int(os.environ.get("ARTICLE_QA_MILVUS_CRASH_TRIALS", "10")))


@pytest.fixture()
def server(tmp_path: Path) -> Iterator[LiteServer]:
    lite = start_lite_server(tmp_path / "server" / "milvus.db")
    yield lite
    disconnect(lite.uri)
    lite.stop()


def _ingest(articles: Path, settings: Settings) -> subprocess.Popen[bytes]:
    env = {**os.environ, "ARTICLE_QA_FAULT_DELAY_MS": "250", "ARTICLE_QA_INDEX_BACKEND": "milvus",
           "ARTICLE_QA_MILVUS_URI": str(settings.milvus.uri),
           "ARTICLE_QA_MILVUS_COLLECTION": settings.milvus.collection,
           "ARTICLE_QA_ARTICLE_STORE_DIR": str(settings.index.article_store_dir or settings.data_dir / "store")}
    return subprocess.Popen(
        [sys.executable, "-m", "cli.main", "ingest", str(articles), "--data", str(settings.data_dir), "--force",
         "--quiet"], cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def _writing(store: Path, current: str | None) -> bool:
    """A new version's records exist: the child is inside publishing (records, collection, insert, switch)."""
    return store.is_dir() and any(p.name.startswith(".tmp-") or (not p.name.startswith(".") and p.name != current)
                                  for p in store.iterdir())


def test_sigkill_during_milvus_rebuilds_keeps_a_loadable_index(
        tmp_path: Path, seed_index: SeedIndex, embedder: Embedder, server: LiteServer) -> None:
    articles, data = copy_seed(seed_index, tmp_path)
    modes = {"server": milvus_settings(articles, data, server.uri),
             "embedded": milvus_settings(articles, data, str(tmp_path / "embedded" / "milvus.db"),
                                         article_store_dir=data / "embedded-store")}
    for settings in modes.values():
        assert build_snapshot(articles, data, settings).published
    disconnect(str(modes["embedded"].milvus.uri))  # the child processes own the embedded engine's file
    rng = random.Random(20261201)
    started = time.monotonic()
    assert _ingest(articles, modes["server"]).wait(timeout=300) == 0
    full = time.monotonic() - started

    killed_mid_publish = {"server": 0, "embedded": 0}
    for trial in range(TRIALS):
        mode = "server" if trial % 2 == 0 else "embedded"
        settings = modes[mode]
        backend = backend_for(settings)
        assert isinstance(backend, MilvusBackend)
        (articles / f"extra-{trial}.txt").write_text(
            f"Extra article {trial}\n\nThe extra article number {trial} reports {rng.randint(10, 999)} new "
            f"scholarships for {trial} departments. " * 3)
        known = set(backend.load_latest()[0].articles)
        current = backend.current_version()
        if mode == "embedded":
            disconnect(str(settings.milvus.uri))
        proc = _ingest(articles, settings)
        if trial % 4 < 2:
            deadline = time.monotonic() + 120
            while time.monotonic() < deadline and proc.poll() is None and not _writing(backend.store.root, current):
                time.sleep(0.01)
            delay = rng.uniform(0.0, 1.6)
        else:
            delay = rng.uniform(0.2, full + 0.5)
        time.sleep(delay)
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
        if _writing(backend.store.root, backend.current_version() if mode == "server" else None):
            killed_mid_publish[mode] += 1

        loaded, problems = backend.load_latest()
        assert problems == [], f"trial {trial} ({mode}, kill after {delay:.2f}s): {problems}"
        assert known <= set(loaded.articles), f"trial {trial} ({mode}): lost articles"
        state = IndexState(settings, embedder)
        try:
            assert state.reload() and state.ready
            assert state.pipeline.ask("When was the Manchester joint centre founded?").answer == "2014"
        finally:
            state.stop()
        if mode == "embedded":
            disconnect(str(settings.milvus.uri))
    assert all(killed_mid_publish.values()), f"no kill landed while a version was being written: {killed_mid_publish}"
