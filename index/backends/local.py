"""The default backend: versioned snapshot folders in the data folder (FAISS + bm25s + JSONL), named by CURRENT."""

from __future__ import annotations

import json
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any

import numpy as np

from core.documents import Article, Chunk
from index import snapshot as snap
from index.backends.base import IndexBackend, PublishHook
from index.fsutil import write_atomic
from index.sentences import SentenceTable


class LocalBackend(IndexBackend):
    """Today's snapshot files, unchanged: one process (or one host) owns the data folder."""

    name = "local"

    def __init__(self, data_dir: Path, keep: int = 3) -> None:
        self.data_dir = data_dir
        self.keep = keep

    def describe(self) -> str:
        return str(self.data_dir)

    def current_version(self) -> str | None:
        return snap.current_version(self.data_dir)

    def list_versions(self) -> list[str]:
        return snap.list_versions(self.data_dir)

    def load(self, version: str) -> snap.Snapshot:
        return snap.load(self.data_dir, version)

    def load_latest(self) -> tuple[snap.Snapshot, list[str]]:
        return snap.load_latest(self.data_dir)

    def previous_articles(self) -> tuple[str | None, dict[str, Any], dict[str, Article]]:
        version = snap.current_version(self.data_dir)
        if version is None:
            return None, {}, {}
        try:
            manifest = snap.read_manifest(self.data_dir, version)
            path = snap.snapshots_dir(self.data_dir) / version / "articles.jsonl"
            with open(path, encoding="utf-8") as fh:
                arts = {a.id: a for a in (Article.from_dict(json.loads(line)) for line in fh)}
            return version, manifest, arts
        except (OSError, ValueError, KeyError):
            return None, {}, {}

    def publish(self, articles: list[Article], chunks: list[Chunk], vectors: np.ndarray,
                lexical_tokens: list[list[str]], model_id: str, extra: dict[str, Any] | None = None,
                keep: int | None = None, hook: PublishHook | None = None,
                sentences: SentenceTable | None = None) -> str:
        return snap.publish(self.data_dir, articles, chunks, vectors, lexical_tokens, model_id, extra,
                            self.keep if keep is None else keep, hook, sentences)

    def activate(self, version: str) -> None:
        self.load(version)
        with self.write_lock():
            write_atomic(self.data_dir / snap.CURRENT, version.encode())

    def write_lock(self) -> AbstractContextManager[None]:
        lock: AbstractContextManager[None] = snap.write_lock(self.data_dir)
        return lock
