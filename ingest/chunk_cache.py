"""Chunk offsets and BM25 tokens stored by article content, so a rebuild never re-splits an unchanged article."""

from __future__ import annotations

import hashlib
import json
import sqlite3
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from core.documents import Article

# Bump when chunking or the lexical analyser change behaviour without a settings change.
FORMAT = 1


@dataclass(frozen=True)
class ArticlePieces:
    """One article's chunk spans (article offsets) and the BM25 tokens of each chunk."""

    spans: list[tuple[int, int]]
    tokens: list[list[str]]


class ChunkCache:
    """SQLite store keyed by (format, chunking settings, the whole cleaned article); each write is atomic."""

    def __init__(self, path: Path, stamp: str) -> None:
        self._path = path
        self._stamp = f"{FORMAT}\n{stamp}"
        path.parent.mkdir(parents=True, exist_ok=True)
        with self._connect() as con:
            con.execute("CREATE TABLE IF NOT EXISTS pieces (key TEXT PRIMARY KEY, value TEXT NOT NULL)")

    def _connect(self) -> sqlite3.Connection:
        con = sqlite3.connect(self._path, timeout=30)
        con.execute("PRAGMA journal_mode=WAL")
        return con

    def key(self, article: Article) -> str:
        body = json.dumps(article.to_dict(), sort_keys=True, ensure_ascii=False)
        return hashlib.sha256(f"{self._stamp}\n{body}".encode()).hexdigest()

    def get_many(self, keys: list[str]) -> dict[str, ArticlePieces]:
        found: dict[str, ArticlePieces] = {}
        with self._connect() as con:
            for i in range(0, len(keys), 500):
                part = keys[i:i + 500]
                rows = con.execute(
                    f"SELECT key, value FROM pieces WHERE key IN ({','.join('?' * len(part))})", part
                ).fetchall()
                for key, value in rows:
                    data = json.loads(value)
                    found[key] = ArticlePieces([(s, e) for s, e in data["spans"]],
                                               [t.split(" ") if t else [] for t in data["tokens"]])
        return found

    def put_many(self, items: Iterable[tuple[str, ArticlePieces]]) -> None:
        rows = [(key, json.dumps({"spans": p.spans, "tokens": [" ".join(t) for t in p.tokens]}))
                for key, p in items]
        if rows:
            with self._connect() as con:
                con.executemany("INSERT OR REPLACE INTO pieces (key, value) VALUES (?, ?)", rows)
