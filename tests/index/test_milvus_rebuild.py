"""Milvus rebuilds: a new collection per version, an atomic pointer switch, pruning, rollback, one at a time."""

from __future__ import annotations

import os
import shutil
import threading
import time
from pathlib import Path

import pytest

from core.errors import IndexBusyError, IndexUnavailableError, SnapshotNotFoundError
from index.backends import backend_for
from index.backends.milvus import MilvusBackend
from index.embedding import Embedder
from index.retriever import HybridRetriever, RetrievalConfig
from ingest.pipeline import IngestReport, build_snapshot
from tests.conftest import SeedIndex, free_port
from tests.milvus_support import copy_seed, milvus_settings

NEW_ARTICLE = ("Zebra crossing study\n\nThe university's zebra crossing study counted 4,312 pedestrians in March. "
               "Researchers said the zebra crossings near the campus were the busiest in the district.\n")


def test_rebuilds_switch_prune_and_roll_back(tmp_path: Path, seed_index: SeedIndex, embedder: Embedder) -> None:
    articles, data = copy_seed(seed_index, tmp_path)
    settings = milvus_settings(articles, data, milvus_keep_collections=2)
    backend = backend_for(settings)
    assert isinstance(backend, MilvusBackend) and backend.current_version() is None

    first = build_snapshot(articles, data, settings)
    assert first.version is not None
    old = backend.load(first.version)  # what a replica serves while the next rebuild runs
    (articles / "zebra.txt").write_text(NEW_ARTICLE)
    second = build_snapshot(articles, data, settings)
    assert second.added == ["zebra"] and 0 < second.embedded < second.chunks  # only the new chunks embedded
    assert backend.current_version() == second.version
    # a search that started on the old version finishes on its own collection after the switch
    assert HybridRetriever(old, embedder, RetrievalConfig()).search("zebra crossing", 3).hits[0].article.id != "zebra"
    assert backend.load_latest()[0].articles.keys() == {*old.articles, "zebra"}

    third = build_snapshot(articles, data, settings, force=True)
    assert third.version is not None and second.version is not None
    assert third.embedded == 0  # the embedding cache is the source of truth for unchanged text
    assert backend.list_versions() == [third.version, second.version]
    collections = {c for c in backend.client.list_collections() if c.startswith("article_qa_2")}
    assert collections == {backend.collection_name(third.version), backend.collection_name(second.version)}
    assert sorted(p.name for p in (data / "store").iterdir() if not p.name.startswith(".")) == \
        sorted([second.version, third.version])
    with pytest.raises(SnapshotNotFoundError):
        backend.load(first.version)

    backend.activate(second.version)  # rollback
    assert backend.current_version() == second.version
    assert backend.load_latest()[0].version == second.version


def test_a_crash_leftover_is_dropped_by_the_next_rebuild(tmp_path: Path, seed_index: SeedIndex) -> None:
    articles, data = copy_seed(seed_index, tmp_path)
    settings = milvus_settings(articles, data)
    backend = backend_for(settings)
    assert isinstance(backend, MilvusBackend)
    good = build_snapshot(articles, data, settings).version
    orphan = "20990101T000000000000Z-abcdef"  # as a rebuild killed before its switch leaves it
    backend._create(backend.collection_name(orphan), 384)
    shutil.copytree(data / "store" / str(good), data / "store" / orphan)
    (data / "store" / f".tmp-{orphan}").mkdir()
    assert backend.current_version() == good and backend.list_versions() == [good]
    assert backend.load_latest()[0].version == good

    newer = build_snapshot(articles, data, settings, force=True).version
    assert backend.collection_name(orphan) not in backend.client.list_collections()
    assert not (data / "store" / orphan).exists() and not (data / "store" / f".tmp-{orphan}").exists()
    assert backend.current_version() == newer


def test_one_rebuild_at_a_time(tmp_path: Path, seed_index: SeedIndex) -> None:
    articles, data = copy_seed(seed_index, tmp_path)
    settings = milvus_settings(articles, data)
    backend = backend_for(settings)
    assert isinstance(backend, MilvusBackend) and backend.rebuild_holder() is None
    other = backend_for(settings)  # another replica
    assert isinstance(other, MilvusBackend)
    other.lock_timeout = 0.3
    with backend.write_lock():
        holder = other.rebuild_holder()
        assert holder is not None and f"process {os.getpid()}" in holder
        with pytest.raises(IndexBusyError, match="rebuild in progress"), other.write_lock():
            pass
        waiting = threading.Thread(target=lambda: results.append(build_snapshot(articles, data, settings)))
        results: list[IngestReport] = []
        waiting.start()
        time.sleep(1.0)
        assert not results  # a queued rebuild waits for the one in progress ...
    waiting.join(timeout=120)
    assert results and results[0].published  # ... then runs
    assert backend.rebuild_holder() is None


def test_activate_command_lists_and_rolls_back(tmp_path: Path, seed_index: SeedIndex,
                                               monkeypatch: pytest.MonkeyPatch,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    from index.backends.activate import main

    articles, data = copy_seed(seed_index, tmp_path)
    settings = milvus_settings(articles, data)
    first = build_snapshot(articles, data, settings).version
    second = build_snapshot(articles, data, settings, force=True).version
    for name, value in (("INDEX_BACKEND", "milvus"), ("MILVUS_URI", str(settings.milvus.uri)),
                        ("DATA_DIR", str(data))):
        monkeypatch.setenv(f"ARTICLE_QA_{name}", value)
    assert main([]) == 0
    assert capsys.readouterr().out.split() == ["*", str(second), str(first)]
    assert main([str(first)]) == 0 and backend_for(settings).current_version() == first
    assert main(["20990101T000000000000Z-abcdef"]) == 1 and "no records" in capsys.readouterr().err


def test_an_unreachable_milvus_is_a_clear_error(tmp_path: Path, seed_index: SeedIndex) -> None:
    articles, data = copy_seed(seed_index, tmp_path)
    port = free_port()  # nothing listens there
    settings = milvus_settings(articles, data, f"http://127.0.0.1:{port}")
    with pytest.raises(IndexUnavailableError, match=f"cannot connect to Milvus at http://127.0.0.1:{port}"):
        build_snapshot(articles, data, settings)
    assert [p.name for p in (data / "store").iterdir() if not p.name.startswith(".")] == []  # nothing half-written
