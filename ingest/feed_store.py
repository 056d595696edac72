"""Article pages downloaded from feeds and sitemaps, kept under ``<data>/feeds/`` and read by every build.

Layout::

    feeds/pages/<name>.html      the page exactly as downloaded
    feeds/records/<name>.json    the article extracted from it (what a build indexes) and its validators
    feeds/listings/<name>.json   the last listing of each feed or sitemap URL and its validators
    feeds/.lock                  held while a collector writes

Each file is replaced atomically, the page before its record, so a crash leaves the previous record usable.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Iterator
from contextlib import AbstractContextManager
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from core.documents import RawDocument
from index.fsutil import exclusive_lock, write_atomic
from ingest.cleaning import slugify

log = logging.getLogger(__name__)

FEEDS_DIR = "feeds"


@dataclass(frozen=True)
class PageRecord:
    """One stored article page: the extracted document plus what is needed to ask for it again cheaply."""

    document: dict[str, Any]
    listed_by: str
    stamp: str | None = None
    etag: str | None = None
    last_modified: str | None = None
    sha256: str = ""
    fetched_at: str = ""
    page: str = ""

    @property
    def url(self) -> str:
        return str(self.document["key"])

    def raw_document(self) -> RawDocument:
        doc = dict(self.document)
        doc["authors"] = tuple(doc.get("authors") or ())
        return RawDocument(**doc)

    def to_json(self) -> bytes:
        return json.dumps(asdict(self), ensure_ascii=False, indent=1).encode("utf-8")


@dataclass
class StoredDocuments:
    """Every stored article as a ``RawDocument``, and records that could not be read (by file name)."""

    documents: list[RawDocument] = field(default_factory=list)
    skipped: dict[str, str] = field(default_factory=dict)


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


class FeedStore:
    """The ``feeds/`` folder of a data folder."""

    def __init__(self, data_dir: Path) -> None:
        self.root = data_dir / FEEDS_DIR

    @staticmethod
    def name_for(url: str) -> str:
        """A file name for a URL: readable path words, then a hash that makes it unique."""
        digest = hashlib.sha256(url.encode("utf-8")).hexdigest()[:16]
        return f"{slugify(urlsplit(url).path, 48)}-{digest}"

    def lock(self) -> AbstractContextManager[None]:
        return exclusive_lock(self.root / ".lock")

    def record(self, url: str) -> PageRecord | None:
        path = self.root / "records" / f"{self.name_for(url)}.json"
        try:
            return self._load(path)
        except FileNotFoundError:
            return None
        except (OSError, ValueError, TypeError, KeyError) as exc:
            log.warning("stored feed record %s is unreadable (%s); the page will be fetched again", path, exc)
            return None

    @staticmethod
    def _load(path: Path) -> PageRecord:
        data = json.loads(path.read_text(encoding="utf-8"))
        record = PageRecord(**data)
        record.raw_document()
        return record

    def save(self, url: str, body: bytes, document: RawDocument, listed_by: str, stamp: str | None,
             etag: str | None, last_modified: str | None) -> PageRecord:
        name = self.name_for(url)
        for folder in ("pages", "records"):
            (self.root / folder).mkdir(parents=True, exist_ok=True)
        write_atomic(self.root / "pages" / f"{name}.html", body)
        doc = asdict(document)
        doc["authors"] = list(document.authors)
        record = PageRecord(doc, listed_by, stamp, etag, last_modified, hashlib.sha256(body).hexdigest(),
                            now_iso(), f"pages/{name}.html")
        write_atomic(self.root / "records" / f"{name}.json", record.to_json())
        return record

    def touch(self, record: PageRecord, stamp: str | None, etag: str | None, last_modified: str | None) -> None:
        """Remember new validators of a page that did not change, so the next poll can skip it."""
        if (stamp, etag, last_modified) == (record.stamp, record.etag, record.last_modified):
            return
        updated = PageRecord(record.document, record.listed_by, stamp, etag or record.etag,
                             last_modified or record.last_modified, record.sha256, record.fetched_at, record.page)
        write_atomic(self.root / "records" / f"{self.name_for(record.url)}.json", updated.to_json())

    def listing(self, url: str) -> dict[str, Any] | None:
        try:
            data = json.loads((self.root / "listings" / f"{self.name_for(url)}.json").read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        return data if isinstance(data, dict) else None

    def save_listing(self, url: str, data: dict[str, Any]) -> None:
        (self.root / "listings").mkdir(parents=True, exist_ok=True)
        write_atomic(self.root / "listings" / f"{self.name_for(url)}.json",
                     json.dumps({"url": url, **data}, ensure_ascii=False).encode("utf-8"))

    def _record_paths(self) -> Iterator[Path]:
        folder = self.root / "records"
        if folder.is_dir():
            yield from sorted(p for p in folder.glob("*.json") if not p.name.startswith("."))

    def count(self) -> int:
        return sum(1 for _ in self._record_paths())

    def documents(self) -> StoredDocuments:
        """What a build indexes from feeds: every stored record (an unreadable one is skipped and named)."""
        stored = StoredDocuments()
        for path in self._record_paths():
            try:
                stored.documents.append(self._load(path).raw_document())
            except (OSError, ValueError, TypeError, KeyError) as exc:
                stored.skipped[f"{FEEDS_DIR}/records/{path.name}"] = f"unreadable stored feed record ({exc})"
        return stored
