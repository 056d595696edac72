"""Distributed ingest on a real Dask cluster bound to 127.0.0.1: same vectors, same summary, cache still the truth."""

from __future__ import annotations

import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from index.backends import backend_for
from index.distributed import DaskEncoder
from index.snapshot import Snapshot, load_latest
from ingest.pipeline import build_snapshot
from tests.conftest import ROOT, SeedIndex, make_settings

NEW_ARTICLE = "Lunar library opens\n\nThe lunar library opened on 3 March 2025 with 12,000 books about the Moon.\n"


def _vectors(snapshot: Snapshot) -> np.ndarray:
    return np.asarray(snapshot.dense.reconstruct_n(0, snapshot.dense.ntotal))


@pytest.fixture(scope="module")
def cluster() -> Iterator[str]:
    """The local cluster `ingest --workers 2` starts: 2 worker processes of 1 thread, all on 127.0.0.1."""
    encoder = DaskEncoder("minilm", 1, workers=2)
    client = encoder._start()
    info = client.scheduler_info()
    assert len(info["workers"]) == 2 and all(w.startswith("tcp://127.0.0.1:") for w in info["workers"])
    assert all(w["nthreads"] == 1 for w in info["workers"].values())
    yield str(client.scheduler.address)
    encoder.close()


def test_cli_ingest_on_a_cluster(tmp_path: Path, seed_index: SeedIndex, cluster: str) -> None:
    assert cluster.startswith("tcp://127.0.0.1:")
    articles, data = tmp_path / "articles", tmp_path / "data"
    shutil.copytree(seed_index.articles_dir, articles)
    proc = subprocess.run([sys.executable, "-m", "cli.main", "ingest", str(articles), "--data", str(data),
                           "--cluster", cluster], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert "embedded 10 new chunks" in proc.stdout and "added 2" in proc.stdout
    assert "embedding chunks" in proc.stderr and "10/10" in proc.stderr  # the same progress bar
    built = load_latest(data)[0]
    assert [c.id for c in built.chunks] == [c.id for c in seed_index.snapshot.chunks]
    assert np.allclose(_vectors(built), _vectors(seed_index.snapshot), atol=1e-5)
    bad = subprocess.run([sys.executable, "-m", "cli.main", "ingest", str(articles), "--data", str(data),
                          "--workers", "0"], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert bad.returncode == 2 and "--workers" in bad.stderr


def test_ingest_on_an_existing_cluster_embeds_only_new_text(tmp_path: Path, seed_index: SeedIndex,
                                                            cluster: str) -> None:
    articles, data = tmp_path / "articles", tmp_path / "data"
    shutil.copytree(seed_index.articles_dir, articles)
    settings = make_settings(articles, data, ingest_cluster=cluster)
    seen: list[tuple[int, int]] = []
    first = build_snapshot(articles, data, settings, lambda stage, done, total: seen.append((done, total))
                           if stage == "embedding" else None)
    assert first.embedded == 10 and seen[-1] == (10, 10)
    assert np.allclose(_vectors(load_latest(data)[0]), _vectors(seed_index.snapshot), atol=1e-5)
    (articles / "lunar-library.txt").write_text(NEW_ARTICLE)
    second = build_snapshot(articles, data, settings)
    assert second.added == ["lunar-library"] and second.embedded == second.chunks - first.chunks
    assert backend_for(settings).current_version() == second.version


def test_batches_come_back_whole_and_in_any_order(cluster: str) -> None:
    encoder = DaskEncoder("minilm", 1, address=cluster)
    try:
        parts = [[f"text number {i}-{j}" for j in range(3 + i % 4)] for i in range(9)]
        results = dict(encoder(parts))
    finally:
        encoder.close()
    assert sorted(results) == list(range(9))
    assert all(results[i].shape == (len(parts[i]), 384) for i in results)
    assert list(encoder([])) == []
