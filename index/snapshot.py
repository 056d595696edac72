"""Versioned snapshots: every index file of one build, with a manifest of checksums, published atomically.

Layout of a data folder::

    CURRENT                      name of the live snapshot (replaced atomically)
    snapshots/<version>/         manifest.json, articles.jsonl, chunks.jsonl, dense.faiss, bm25/
    snapshots/.tmp-<version>/    a build in progress (removed by the next writer)
    embeddings.sqlite            vectors by (model, text) hash
"""

from __future__ import annotations

import json
import logging
import os
import secrets
import shutil
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import bm25s
import faiss
import numpy as np

from core.documents import Article, Chunk
from core.errors import SnapshotCorruptError, SnapshotNotFoundError
from index.backends.base import Candidates, IndexSnapshot, SearchFilters, TermStats, vector_dimension
from index.fsutil import exclusive_lock, fsync_dir, fsync_file, index_writes, sha256_file, write_atomic, write_hashed
from index.sentences import SENTENCES_FILE, SentenceTable

log = logging.getLogger(__name__)
logging.getLogger("bm25s").setLevel(logging.WARNING)  # bm25s sets DEBUG on import

FORMAT_VERSION = 1
MANIFEST = "manifest.json"
CURRENT = "CURRENT"


def snapshots_dir(data_dir: Path) -> Path:
    return data_dir / "snapshots"


def write_lock(data_dir: Path) -> Any:
    return exclusive_lock(data_dir / ".write.lock")


@dataclass
class Snapshot(IndexSnapshot):
    """A loaded, verified snapshot of the local backend: FAISS and BM25 in memory, immutable once loaded."""

    version: str
    path: Path | None
    manifest: dict[str, Any]
    articles: dict[str, Article]
    chunks: list[Chunk]
    dense: faiss.Index
    lexical: bm25s.BM25
    chunk_dates: np.ndarray = field(repr=False, default_factory=lambda: np.zeros(0))
    chunk_sources: list[str] = field(repr=False, default_factory=list)
    chunk_articles: np.ndarray = field(repr=False, default_factory=lambda: np.zeros(0, dtype=object))
    sentences: SentenceTable | None = field(repr=False, default=None)

    def term_stats(self) -> TermStats:
        scores = getattr(self.lexical, "scores", {})
        indptr = np.asarray(scores.get("indptr", np.zeros(1)))
        return dict(getattr(self.lexical, "vocab_dict", {})), np.diff(indptr), int(scores.get("num_docs", 1))

    def _mask(self, filters: SearchFilters | None) -> np.ndarray | None:
        if filters is None or not filters.active():
            return None
        mask = np.ones(len(self.chunks), dtype=bool)
        if filters.published_after is not None:
            mask &= self.chunk_dates >= filters.published_after.toordinal()
        if filters.published_before is not None:
            mask &= (self.chunk_dates <= filters.published_before.toordinal()) & (self.chunk_dates >= 0)
        if filters.source is not None:
            wanted = filters.source.strip().lower()
            mask &= np.array([s.lower() == wanted for s in self.chunk_sources], dtype=bool)
        if filters.article_ids is not None:
            mask &= np.isin(self.chunk_articles, list(filters.article_ids))
        return mask

    def candidates(self, query_vector: np.ndarray, tokens: list[str], depth: int,
                   filters: SearchFilters | None) -> Candidates:
        """Exact FAISS inner product and bm25s scores, both restricted to the chunks the filters allow."""
        n = len(self.chunks)
        if n == 0:
            return {}, {}
        mask = self._mask(filters)
        allowed = np.flatnonzero(mask) if mask is not None else None
        if allowed is not None and len(allowed) == 0:
            return {}, {}
        depth = min(depth, n if allowed is None else len(allowed))

        params = None
        if allowed is not None:
            selector = faiss.IDSelectorBatch(allowed.astype(np.int64))
            params = faiss.SearchParameters(sel=selector)  # type: ignore[call-arg]
        dense_scores, dense_ids = self.dense.search(query_vector.reshape(1, -1), depth, params=params)
        dense = {int(i): float(s) for i, s in zip(dense_ids[0], dense_scores[0], strict=True) if i >= 0}

        lexical: dict[int, float] = {}
        if tokens:
            scores = np.asarray(self.lexical.get_scores(tokens), dtype=np.float32)
            if mask is not None:
                scores = np.where(mask, scores, 0.0)
            top = np.argpartition(-scores, min(depth, n - 1))[:depth] if depth < n else np.arange(n)
            lexical = {int(i): float(scores[i]) for i in top if scores[i] > 0}
        return dense, lexical


def new_version() -> str:
    return f"{datetime.now(UTC):%Y%m%dT%H%M%S%fZ}-{secrets.token_hex(3)}"


def _write_jsonl(path: Path, rows: Iterable[dict[str, Any]]) -> str:
    """Write JSON lines and return their checksum, computed on the way instead of re-reading the file."""
    return write_hashed(path, "".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows).encode())


def publish(
    data_dir: Path,
    articles: list[Article],
    chunks: list[Chunk],
    vectors: np.ndarray,
    lexical_tokens: list[list[str]],
    model_id: str,
    extra: dict[str, Any] | None = None,
    keep: int = 3,
    hook: Any = None,
    sentences: SentenceTable | None = None,
) -> str:
    """Write a complete snapshot aside, fsync it, then switch ``CURRENT`` to it. The caller holds the lock."""
    version = new_version()
    root = snapshots_dir(data_dir)
    with index_writes(data_dir, f"snapshot {version}"):
        root.mkdir(parents=True, exist_ok=True)
        for stale in root.glob(".tmp-*"):
            shutil.rmtree(stale, ignore_errors=True)
        tmp = root / f".tmp-{version}"
        tmp.mkdir()
    try:
        with index_writes(data_dir, f"snapshot {version}"):
            _write_files(tmp, articles, chunks, vectors, lexical_tokens, model_id, version, extra, hook, sentences)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)  # frees the space a full disk needs; CURRENT is untouched
        raise
    step = hook or (lambda name: None)
    with index_writes(data_dir, f"snapshot {version}"):
        final = root / version
        os.rename(tmp, final)
        fsync_dir(root)
        step("renamed")
        write_atomic(data_dir / CURRENT, version.encode())
    step("published")
    prune(data_dir, keep)
    return version


def _write_files(tmp: Path, articles: list[Article], chunks: list[Chunk], vectors: np.ndarray,
                 lexical_tokens: list[list[str]], model_id: str, version: str, extra: dict[str, Any] | None,
                 hook: Any, sentences: SentenceTable | None = None) -> None:
    """Every file of a snapshot and its manifest, fsynced, inside the temporary folder."""
    step = hook or (lambda name: None)

    checksums = {"articles.jsonl": _write_jsonl(tmp / "articles.jsonl", (a.to_dict() for a in articles))}
    step("articles")
    checksums["chunks.jsonl"] = _write_jsonl(tmp / "chunks.jsonl", (
        {"id": c.id, "article_id": c.article_id, "index": c.index, "start": c.start, "end": c.end} for c in chunks))
    step("chunks")
    index = dense_index(vectors)
    checksums["dense.faiss"] = write_hashed(tmp / "dense.faiss", faiss.serialize_index(index).tobytes())
    step("dense")
    bm25 = lexical_index(lexical_tokens)
    bm25.save(str(tmp / "bm25"))
    lexical_files = sorted(p for p in (tmp / "bm25").rglob("*") if p.is_file())
    for p in lexical_files:
        fsync_file(p)
        checksums[p.relative_to(tmp).as_posix()] = sha256_file(p)
    step("lexical")
    if sentences is not None:
        checksums[SENTENCES_FILE] = write_hashed(tmp / SENTENCES_FILE, sentences.to_bytes())
        step("sentences")

    files = sorted(p for p in tmp.rglob("*") if p.is_file())
    checksums = dict(sorted(checksums.items()))
    manifest = {
        "format": FORMAT_VERSION,
        "version": version,
        "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "embedding": {"model": model_id, "dimension": int(index.d)},
        "counts": {"articles": len(articles), "chunks": len(chunks),
                   **({"sentences": len(sentences)} if sentences is not None else {})},
        "checksums": checksums,
        **(extra or {}),
    }
    write_hashed(tmp / MANIFEST, json.dumps(manifest, indent=2, ensure_ascii=False).encode())
    for d in {p.parent for p in files} | {tmp}:
        fsync_dir(d)
    step("manifest")


def dense_index(vectors: np.ndarray) -> faiss.Index:
    """Exact inner-product search: at news-archive scale (10^4-10^5 chunks) it is fast and loses nothing."""
    index = faiss.IndexFlatIP(vector_dimension(vectors))
    if len(vectors):
        index.add(np.ascontiguousarray(vectors, dtype=np.float32))
    return index


def lexical_index(tokens: list[list[str]]) -> bm25s.BM25:
    bm25 = bm25s.BM25()
    bm25.index(tokens, show_progress=False)
    return bm25


def assemble(articles: list[Article], chunks: list[Chunk], vectors: np.ndarray, lexical_tokens: list[list[str]],
             model_id: str, version: str = "in-memory") -> Snapshot:
    """A snapshot held only in memory (evaluation on throw-away corpora); same search behaviour as on disk."""
    dense = dense_index(vectors)
    manifest = {"format": FORMAT_VERSION, "version": version, "embedding": {"model": model_id, "dimension": dense.d},
                "counts": {"articles": len(articles), "chunks": len(chunks)}}
    return _snapshot(version, None, manifest, {a.id: a for a in articles}, chunks, dense, lexical_index(lexical_tokens))


def _snapshot(version: str, path: Path | None, manifest: dict[str, Any], articles: dict[str, Article],
              chunks: list[Chunk], dense: faiss.Index, lexical: bm25s.BM25,
              sentences: SentenceTable | None = None) -> Snapshot:
    dates = np.array([_ordinal(articles[c.article_id].date) for c in chunks], dtype=np.int64)
    return Snapshot(
        version=version, path=path, manifest=manifest, articles=articles, chunks=chunks, dense=dense,
        lexical=lexical, chunk_dates=dates, chunk_sources=[articles[c.article_id].source for c in chunks],
        chunk_articles=np.array([c.article_id for c in chunks], dtype=object), sentences=sentences,
    )


def list_versions(data_dir: Path) -> list[str]:
    """Complete snapshots on disk, newest first."""
    root = snapshots_dir(data_dir)
    if not root.is_dir():
        return []
    return sorted((p.name for p in root.iterdir() if p.is_dir() and not p.name.startswith(".")), reverse=True)


def current_version(data_dir: Path) -> str | None:
    try:
        return (data_dir / CURRENT).read_text().strip() or None
    except FileNotFoundError:
        return None


def prune(data_dir: Path, keep: int) -> list[str]:
    """Delete all but the ``keep`` newest snapshots (never the current one)."""
    current = current_version(data_dir)
    removed = []
    for version in list_versions(data_dir)[max(1, keep):]:
        if version != current:
            shutil.rmtree(snapshots_dir(data_dir) / version, ignore_errors=True)
            removed.append(version)
    return removed


def verify(path: Path) -> dict[str, Any]:
    """The manifest of a snapshot folder whose files all match their checksums."""
    try:
        manifest: dict[str, Any] = json.loads((path / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise SnapshotCorruptError(f"{path.name}: unreadable manifest ({exc})") from exc
    for name, expected in manifest.get("checksums", {}).items():
        file = path / name
        if not file.is_file():
            raise SnapshotCorruptError(f"{path.name}: missing file {name}")
        if sha256_file(file) != expected:
            raise SnapshotCorruptError(f"{path.name}: checksum mismatch in {name}")
    return manifest


def load(data_dir: Path, version: str) -> Snapshot:
    """Load and verify one snapshot version."""
    path = snapshots_dir(data_dir) / version
    if not path.is_dir():
        raise SnapshotNotFoundError(f"snapshot {version} not found in {data_dir}")
    manifest = verify(path)
    try:
        articles, chunks = read_records(path)
        dense = faiss.read_index(str(path / "dense.faiss"))
        lexical = bm25s.BM25.load(str(path / "bm25"))
        sentences = SentenceTable.read(path)
    except (OSError, ValueError, KeyError, RuntimeError) as exc:
        raise SnapshotCorruptError(f"{version}: cannot be loaded ({exc})") from exc
    return _snapshot(version, path, manifest, articles, chunks, dense, lexical, sentences)


def read_records(path: Path) -> tuple[dict[str, Article], list[Chunk]]:
    """The articles and chunks of a version folder; a chunk's text is its slice of the article."""
    with open(path / "articles.jsonl", encoding="utf-8") as fh:
        articles = {a.id: a for a in (Article.from_dict(json.loads(line)) for line in fh)}
    chunks = []
    with open(path / "chunks.jsonl", encoding="utf-8") as fh:
        for line in fh:
            row = json.loads(line)
            text = articles[row["article_id"]].text[row["start"]:row["end"]]
            chunks.append(Chunk.from_dict({**row, "text": text}))
    return articles, chunks


def _ordinal(iso: str | None) -> int:
    if not iso:
        return -1
    try:
        return datetime.fromisoformat(iso[:10]).toordinal()
    except ValueError:
        return -1


def load_latest(data_dir: Path) -> tuple[Snapshot, list[str]]:
    """The current snapshot, or the newest loadable one when it is damaged; also the problems met."""
    problems: list[str] = []
    current = current_version(data_dir)
    candidates = ([current] if current else []) + [v for v in list_versions(data_dir) if v != current]
    for version in candidates:
        try:
            return load(data_dir, version), problems
        except (SnapshotCorruptError, SnapshotNotFoundError) as exc:
            log.error("snapshot refused: %s", exc)
            problems.append(str(exc))
    raise SnapshotNotFoundError(
        f"no loadable snapshot in {data_dir}" + (f" ({'; '.join(problems)})" if problems else "")
    )


def read_manifest(data_dir: Path, version: str) -> dict[str, Any]:
    result: dict[str, Any] = json.loads((snapshots_dir(data_dir) / version / MANIFEST).read_text())
    return result


__all__ = [
    "Snapshot", "publish", "load", "load_latest", "list_versions", "current_version", "prune", "verify",
    "write_lock", "read_manifest",
]
