from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from core.errors import SnapshotCorruptError
from index import snapshot as snap
from ingest.pipeline import build_snapshot
from tests.conftest import SeedIndex, make_settings


@pytest.fixture()
def data(tmp_path: Path, seed_index: SeedIndex) -> Path:
    target = tmp_path / "data"
    shutil.copytree(seed_index.data_dir, target)
    return target


def test_manifest_describes_the_snapshot(seed_index: SeedIndex) -> None:
    manifest = seed_index.snapshot.manifest
    assert manifest["version"] == seed_index.snapshot.version
    assert manifest["embedding"] == {"model": "sentence-transformers/all-MiniLM-L6-v2", "dimension": 384}
    assert manifest["counts"]["articles"] == 2 and manifest["counts"]["chunks"] == len(seed_index.snapshot.chunks)
    assert {"articles.jsonl", "chunks.jsonl", "dense.faiss"} <= set(manifest["checksums"])
    assert manifest["created_at"]


def test_corrupt_current_snapshot_falls_back_to_previous(data: Path, seed_index: SeedIndex) -> None:
    articles = seed_index.articles_dir
    first = snap.current_version(data)
    assert first is not None
    build_snapshot(articles, data, make_settings(articles, data), force=True)
    second = snap.current_version(data)
    assert second is not None and second != first
    target = data / "snapshots" / second / "articles.jsonl"
    target.write_text(target.read_text().replace("Manchester", "Manchestor"))
    with pytest.raises(SnapshotCorruptError, match="checksum"):
        snap.load(data, second)
    loaded, problems = snap.load_latest(data)
    assert loaded.version == first and problems and "checksum" in problems[0]


def test_prune_keeps_the_newest(data: Path, seed_index: SeedIndex) -> None:
    settings = make_settings(seed_index.articles_dir, data, keep_snapshots=2)
    for _ in range(3):
        build_snapshot(seed_index.articles_dir, data, settings, force=True)
    versions = snap.list_versions(data)
    assert len(versions) == 2 and snap.current_version(data) == versions[0]


def test_forced_rebuild_reuses_cached_embeddings(data: Path, seed_index: SeedIndex) -> None:
    report = build_snapshot(seed_index.articles_dir, data, make_settings(seed_index.articles_dir, data), force=True)
    assert report.published and report.embedded == 0 and report.chunks > 0


def test_leftover_temp_folder_is_ignored_and_cleaned(data: Path, seed_index: SeedIndex) -> None:
    junk = data / "snapshots" / ".tmp-half-written"
    junk.mkdir()
    (junk / "articles.jsonl").write_text("{")
    assert snap.load_latest(data)[0].version == snap.current_version(data)
    build_snapshot(seed_index.articles_dir, data, make_settings(seed_index.articles_dir, data), force=True)
    assert not junk.exists()
    assert json.loads((data / "snapshots" / snap.current_version(data) / "manifest.json").read_text())  # type: ignore[operator]
