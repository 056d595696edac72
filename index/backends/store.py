"""The shared article store: article and chunk records of each index version, in a folder every replica reads.

Layout (the folder is ``ARTICLE_QA_ARTICLE_STORE_DIR``, a volume shared by all replicas)::

    <version>/        manifest.json (checksums), articles.jsonl, chunks.jsonl, terms.json
    .tmp-<version>/   a version being written (removed by the next writer)
    .rebuild.lock     held (flock) by the one process rebuilding; .rebuild.holder says who

A version folder is complete before any engine pointer names it, so whatever version the engine serves, its
records are there.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import shutil
import socket
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from core.documents import Article, Chunk
from core.errors import IndexBusyError, SnapshotCorruptError, SnapshotNotFoundError
from index.backends.base import PublishHook, TermStats
from index.fsutil import fsync_dir, index_writes, write_atomic, write_hashed
from index.sentences import SENTENCES_FILE, SentenceTable
from index.snapshot import MANIFEST, read_records, verify

LOCK = ".rebuild.lock"
HOLDER = ".rebuild.holder"


class ArticleStore:
    """Versioned, checksummed record folders plus the cross-replica rebuild lock."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def _jsonl(self, path: Path, rows: Iterator[dict[str, Any]]) -> str:
        return write_hashed(path, "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows).encode())

    def write(self, version: str, articles: list[Article], chunks: list[Chunk], terms: TermStats,
              manifest: dict[str, Any], hook: PublishHook | None = None,
              sentences: SentenceTable | None = None) -> Path:
        """Write one version aside, fsync it and rename it into place."""
        step = hook or (lambda name: None)
        with index_writes(self.root, f"article store {version}"):
            self.root.mkdir(parents=True, exist_ok=True)
            tmp = self.root / f".tmp-{version}"
            shutil.rmtree(tmp, ignore_errors=True)
            tmp.mkdir()
            try:
                checksums = {
                    "articles.jsonl": self._jsonl(tmp / "articles.jsonl", (a.to_dict() for a in articles)),
                    "chunks.jsonl": self._jsonl(tmp / "chunks.jsonl", (
                        {"id": c.id, "article_id": c.article_id, "index": c.index, "start": c.start, "end": c.end}
                        for c in chunks)),
                }
                vocab, df, num_docs = terms
                terms_doc = {"terms": sorted(vocab, key=vocab.__getitem__),
                             "doc_freq": [int(x) for x in df], "num_docs": num_docs}
                checksums["terms.json"] = write_hashed(tmp / "terms.json", json.dumps(terms_doc).encode())
                if sentences is not None:
                    checksums[SENTENCES_FILE] = write_hashed(tmp / SENTENCES_FILE, sentences.to_bytes())
                step("records")
                body = {**manifest, "checksums": dict(sorted(checksums.items()))}
                write_hashed(tmp / MANIFEST, json.dumps(body, indent=2, ensure_ascii=False).encode())
                fsync_dir(tmp)
                final = self.root / version
                os.rename(tmp, final)
                fsync_dir(self.root)
            except BaseException:
                shutil.rmtree(tmp, ignore_errors=True)
                raise
        return final

    def sentences(self, version: str) -> SentenceTable | None:
        """The version's sentence vectors (checked with the rest by ``read``), None if it has none."""
        return SentenceTable.read(self.root / version)

    def read(self, version: str) -> tuple[dict[str, Any], dict[str, Article], list[Chunk], TermStats]:
        """One verified version: manifest, articles, chunks and BM25 term statistics."""
        path = self.root / version
        if not path.is_dir():
            raise SnapshotNotFoundError(f"version {version} has no records in the article store {self.root}")
        manifest = verify(path)
        try:
            articles, chunks = read_records(path)
            terms = json.loads((path / "terms.json").read_text(encoding="utf-8"))
        except (OSError, ValueError, KeyError) as exc:
            raise SnapshotCorruptError(f"{version}: records cannot be loaded ({exc})") from exc
        vocab = {t: i for i, t in enumerate(terms["terms"])}
        return manifest, articles, chunks, (vocab, np.asarray(terms["doc_freq"], dtype=np.int64),
                                            int(terms["num_docs"]))

    def manifest(self, version: str) -> dict[str, Any]:
        result: dict[str, Any] = json.loads((self.root / version / MANIFEST).read_text(encoding="utf-8"))
        return result

    def articles(self, version: str) -> dict[str, Article]:
        with open(self.root / version / "articles.jsonl", encoding="utf-8") as fh:
            return {a.id: a for a in (Article.from_dict(json.loads(line)) for line in fh)}

    def versions(self) -> list[str]:
        """Complete versions, newest first."""
        if not self.root.is_dir():
            return []
        return sorted((p.name for p in self.root.iterdir() if p.is_dir() and not p.name.startswith(".")),
                      reverse=True)

    def remove(self, version: str) -> None:
        shutil.rmtree(self.root / version, ignore_errors=True)

    def clean_partial(self) -> None:
        """Remove versions whose writer died before renaming them into place."""
        if self.root.is_dir():
            for stale in self.root.glob(".tmp-*"):
                shutil.rmtree(stale, ignore_errors=True)

    @contextlib.contextmanager
    def rebuild_lock(self, timeout: float = 600.0) -> Iterator[None]:
        """One rebuild at a time across replicas: a second one waits, then gets IndexBusyError naming the holder.

        An flock on the shared folder: the OS drops it when the holder dies, so a killed rebuild never leaves
        the index locked (on NFS this needs NFSv4 locks, as on EFS or a ReadWriteMany volume).
        """
        self.root.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.root / LOCK, os.O_RDWR | os.O_CREAT, 0o644)
        deadline = time.monotonic() + timeout
        try:
            while True:
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    if time.monotonic() > deadline:
                        raise IndexBusyError(
                            f"rebuild in progress ({self._holder_text()}); try again when it finishes") from None
                    time.sleep(0.1)
            info = {"host": socket.gethostname(), "pid": os.getpid(),
                    "since": datetime.now(UTC).isoformat(timespec="seconds")}
            write_atomic(self.root / HOLDER, json.dumps(info).encode())
            yield
        finally:
            os.close(fd)

    def holder(self) -> str | None:
        """Who is rebuilding right now, or None when nobody holds the lock (checked without waiting)."""
        path = self.root / LOCK
        if not path.exists():
            return None
        fd = os.open(path, os.O_RDWR)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return self._holder_text()
        finally:
            os.close(fd)
        return None

    def _holder_text(self) -> str:
        try:
            info = json.loads((self.root / HOLDER).read_text())
            return f"process {info['pid']} on {info['host']} since {info['since']}"
        except (OSError, ValueError, KeyError):
            return "another process"
