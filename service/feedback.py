"""Ratings of answers kept in SQLite in the data folder, so answer quality can be reviewed and exported."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from contextlib import closing
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

SCHEMA = """
CREATE TABLE IF NOT EXISTS feedback (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    created_at TEXT NOT NULL,
    rating TEXT NOT NULL CHECK (rating IN ('up', 'down')),
    question TEXT NOT NULL,
    rewritten_question TEXT,
    answer TEXT,
    citations TEXT NOT NULL,
    snapshot TEXT,
    comment TEXT
)
"""
COLUMNS = ("id", "created_at", "rating", "question", "rewritten_question", "answer", "citations", "snapshot",
           "comment")


class FeedbackStore:
    """One SQLite file; each call opens its own connection so request threads never share one."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def _connect(self) -> sqlite3.Connection:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(self.path, timeout=10)
        conn.execute(SCHEMA)
        return conn

    def add(self, entry: dict[str, Any]) -> dict[str, Any]:
        """Store one rating; returns its id and time."""
        created = datetime.now(UTC).isoformat(timespec="seconds")
        with closing(self._connect()) as conn, conn:
            cursor = conn.execute(
                "INSERT INTO feedback (created_at, rating, question, rewritten_question, answer, citations, "
                "snapshot, comment) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (created, entry["rating"], entry["question"], entry.get("rewritten_question"), entry.get("answer"),
                 json.dumps(entry.get("citations") or [], ensure_ascii=False), entry.get("snapshot"),
                 entry.get("comment")),
            )
            return {"id": int(cursor.lastrowid or 0), "created_at": created}

    def rows(self) -> Iterator[dict[str, Any]]:
        """Every rating, oldest first, with citations decoded."""
        if not self.path.exists():
            return
        with closing(self._connect()) as conn:
            for row in conn.execute(f"SELECT {', '.join(COLUMNS)} FROM feedback ORDER BY id"):
                item = dict(zip(COLUMNS, row, strict=True))
                item["citations"] = json.loads(item["citations"])
                yield item

    def export(self, out: IO[str]) -> int:
        """Write the ratings as JSON Lines; returns how many."""
        count = 0
        for row in self.rows():
            out.write(json.dumps(row, ensure_ascii=False) + "\n")
            count += 1
        return count
