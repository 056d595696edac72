from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from core.errors import EmptyCorpusError
from index.snapshot import current_version, load_latest
from ingest.pipeline import build_snapshot
from tests.conftest import SeedIndex, make_settings


@pytest.fixture()
def workspace(tmp_path: Path, seed_index: SeedIndex) -> tuple[Path, Path]:
    articles, data = tmp_path / "articles", tmp_path / "data"
    shutil.copytree(seed_index.articles_dir, articles)
    shutil.copytree(seed_index.data_dir, data)
    return articles, data


def test_reingesting_unchanged_folder_changes_nothing(workspace: tuple[Path, Path]) -> None:
    articles, data = workspace
    before = current_version(data)
    report = build_snapshot(articles, data, make_settings(articles, data))
    assert not report.published and report.embedded == 0
    assert current_version(data) == before
    assert sorted(report.unchanged) == ["pkuhsc-manchester-joint-webinar", "polyu-pkuhsc-medical-technology-mou"]


def test_a_version_of_an_older_layout_is_rebuilt_once_with_sentence_vectors(workspace: tuple[Path, Path]) -> None:
    """An index built before sentence vectors were stored gets them on the next ingest, reusing chunk vectors."""
    import json

    articles, data = workspace
    before = current_version(data)
    manifest_path = data / "snapshots" / str(before) / "manifest.json"
    manifest = json.loads(manifest_path.read_text())
    del manifest["build"]["layout"]
    manifest_path.write_text(json.dumps(manifest))
    report = build_snapshot(articles, data, make_settings(articles, data))
    assert report.published and report.embedded == 0
    snapshot, _ = load_latest(data)
    assert snapshot.sentences is not None and len(snapshot.sentences) > 0
    assert not build_snapshot(articles, data, make_settings(articles, data)).published


def test_duplicate_file_is_stored_once(workspace: tuple[Path, Path]) -> None:
    articles, data = workspace
    shutil.copy(articles / "polyu-pkuhsc-medical-technology-mou.txt", articles / "copy-of-polyu.txt")
    report = build_snapshot(articles, data, make_settings(articles, data))
    assert report.duplicates == {"copy-of-polyu.txt": "polyu-pkuhsc-medical-technology-mou"}
    assert not report.published
    assert len(load_latest(data)[0].articles) == 2


def test_added_updated_removed_and_only_new_chunks_embedded(workspace: tuple[Path, Path]) -> None:
    articles, data = workspace
    settings = make_settings(articles, data)
    (articles / "new.md").write_text("# Robotics lab opens\n\nThe robotics lab opened on 4 May 2024 with 12 robots.\n")
    path = articles / "polyu-pkuhsc-medical-technology-mou.txt"
    path.write_text(path.read_text() + "\n\nA closing sentence was added later.\n")
    (articles / "pkuhsc-manchester-joint-webinar.txt").unlink()
    report = build_snapshot(articles, data, settings)
    assert report.published
    assert report.added == ["new"]
    assert report.updated == ["polyu-pkuhsc-medical-technology-mou"]
    assert report.removed == ["pkuhsc-manchester-joint-webinar"]
    assert 0 < report.embedded < report.chunks
    snapshot = load_latest(data)[0]
    assert set(snapshot.articles) == {"new", "polyu-pkuhsc-medical-technology-mou"}


def test_unreadable_file_keeps_its_previous_version(workspace: tuple[Path, Path]) -> None:
    articles, data = workspace
    (articles / "polyu-pkuhsc-medical-technology-mou.txt").write_bytes(b"\x00\x01 binary now")
    report = build_snapshot(articles, data, make_settings(articles, data))
    assert "polyu-pkuhsc-medical-technology-mou.txt" in report.skipped
    assert report.kept_previous == ["polyu-pkuhsc-medical-technology-mou"]
    assert len(load_latest(data)[0].articles) == 2


def test_empty_folder_is_refused_and_snapshot_kept(workspace: tuple[Path, Path], tmp_path: Path) -> None:
    _, data = workspace
    empty = tmp_path / "empty"
    empty.mkdir()
    before = current_version(data)
    with pytest.raises(EmptyCorpusError, match="no articles"):
        build_snapshot(empty, data, make_settings(empty, data))
    assert current_version(data) == before
    assert len(load_latest(data)[0].articles) == 2
