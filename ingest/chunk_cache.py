"""Work a rebuild can skip for unchanged articles: cleaning (by raw document) and splitting and tokenising
(by cleaned article), stored in SQLite in the data folder."""

from __future__ import annotations

import hashlib
import json
import sqlite3
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from core.documents import Article, RawDocument
from index.fsutil import open_cache_db

# Bump when cleaning, chunking or the lexical analyser change behaviour without a settings change.
FORMAT = 2  # 2: Chinese sentences, dates, credit lines and character bigrams


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
        with self._connect() as con:
            con.execute("CREATE TABLE IF NOT EXISTS pieces (key TEXT PRIMARY KEY, value TEXT NOT NULL)")

    def _connect(self) -> sqlite3.Connection:
        return open_cache_db(self._path)

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


class CleanCache:
    """Cleaned articles keyed by (format, assigned id, the whole raw document); an open connection per build."""

    def __init__(self, path: Path) -> None:
        self._con = open_cache_db(path)
        self._con.execute("CREATE TABLE IF NOT EXISTS articles (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
        self._fresh: list[tuple[str, str]] = []

    @staticmethod
    def key(raw: RawDocument, article_id: str) -> str:
        body = json.dumps([FORMAT, article_id, raw.key, raw.source, raw.text, raw.title, raw.date, raw.url,
                           list(raw.authors), raw.doc_id, raw.fmt], ensure_ascii=False)
        return hashlib.sha256(body.encode()).hexdigest()

    def get(self, key: str) -> Article | None:
        row = self._con.execute("SELECT value FROM articles WHERE key = ?", (key,)).fetchone()
        return Article.from_dict(json.loads(row[0])) if row else None

    def put(self, key: str, article: Article) -> None:
        self._fresh.append((key, json.dumps(article.to_dict(), ensure_ascii=False)))

    def close(self) -> None:
        """Store what was cleaned in this build (one transaction) and close."""
        with self._con:
            self._con.executemany("INSERT OR REPLACE INTO articles (key, value) VALUES (?, ?)", self._fresh)
        self._con.close()
