"""``serve --feed``: polls feeds and sitemaps on an interval and queues a rebuild when new articles arrive.

Each source is polled every ``ARTICLE_QA_FEED_POLL_SECONDS``; a failing one waits twice as long after each
failure in a row (up to ``ARTICLE_QA_FEED_MAX_BACKOFF_SECONDS``). What every pass fetched, skipped and failed is
kept for ``GET /index`` and the admin panel.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi import FastAPI

from core.config import Settings
from ingest.collect import FeedCollector, SourceReport, sources_of

log = logging.getLogger(__name__)


class Backoff:
    """The wait before the next poll of a source: the interval, doubled per failure in a row, capped."""

    def __init__(self, interval: float, cap: float) -> None:
        self.interval = interval
        self.cap = max(cap, interval)

    def delay(self, failures: int) -> float:
        return min(self.interval * 2 ** min(failures, 32), self.cap)


@dataclass
class SourceState:
    kind: str
    url: str
    failures: int = 0
    due: float = 0.0
    next_poll: str | None = None
    polls: int = 0
    fetched_total: int = 0
    last: SourceReport | None = None

    def to_dict(self) -> dict[str, Any]:
        state = "pending" if self.last is None else self.last.state
        return {"kind": self.kind, "url": self.url, "state": state, "failures": self.failures,
                "polls": self.polls, "fetched_total": self.fetched_total, "next_poll": self.next_poll,
                "last": self.last.to_dict() if self.last else None}


class FeedPoller:
    """Polls every configured source on its own schedule in one background thread."""

    def __init__(self, settings: Settings, on_new: Callable[[str], Any],
                 collector: FeedCollector | None = None) -> None:
        self.settings = settings
        self.on_new = on_new
        self.collector = collector or FeedCollector.from_settings(settings)
        self.backoff = Backoff(settings.feed.poll_seconds, settings.feed.max_backoff_seconds)
        self.sources = [SourceState(kind, url) for kind, url in sources_of(settings)]
        self.last_rebuild: dict[str, Any] | None = None
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._thread = threading.Thread(target=self._run, name="feed-poller", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        self._thread.join(timeout=2)
        if not self._thread.is_alive():
            self.collector.close()

    def poll_due(self) -> list[SourceReport]:
        """Poll the sources whose time has come; queue one rebuild if any of them stored new pages."""
        reports = []
        for source in self.sources:
            if self._stop.is_set():
                break
            if source.due > time.monotonic():
                continue
            report = self.collector.collect(source.kind, source.url)
            reports.append(report)
            with self._lock:
                source.last, source.polls = report, source.polls + 1
                source.fetched_total += len(report.fetched)
                source.failures = 0 if report.ok else source.failures + 1
                wait = self.backoff.delay(source.failures)
                source.due = time.monotonic() + wait
                source.next_poll = (datetime.now(UTC) + timedelta(seconds=wait)).isoformat(timespec="seconds")
            if not report.ok:
                log.warning("feed %s failed (%d in a row); next poll in %.0f s: %s", source.url, source.failures,
                            wait, report.error)
        if any(r.fetched for r in reports):
            job = self.on_new("feed")
            with self._lock:
                self.last_rebuild = job if isinstance(job, dict) else None
        return reports

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.poll_due()
            except Exception:  # the poller must outlive any surprise; the service keeps answering
                log.exception("polling feeds failed; trying again later")
            with self._lock:
                next_due = min((s.due for s in self.sources), default=time.monotonic() + self.backoff.interval)
            self._wake.wait(max(0.05, next_due - time.monotonic()))
            self._wake.clear()

    def poll_now(self) -> None:
        """Make every source due, failing ones too, and wake the polling thread, which polls them at once."""
        with self._lock:
            for source in self.sources:
                source.due = 0.0
        self._wake.set()

    def status(self) -> dict[str, Any]:
        with self._lock:
            sources = [s.to_dict() for s in self.sources]
            rebuild = self.last_rebuild
        return {"poll_seconds": self.settings.feed.poll_seconds, "stored_pages": self.collector.store.count(),
                "sources": sources, "last_rebuild_job": rebuild["id"] if rebuild else None}


def start_feeds(settings: Settings, on_new: Callable[[str], Any]) -> FeedPoller | None:
    """A running poller when feeds or sitemaps are configured, else None."""
    if not sources_of(settings):
        return None
    poller = FeedPoller(settings, on_new)
    poller.start()
    log.info("polling %d feeds and sitemaps every %.0f s", len(poller.sources), settings.feed.poll_seconds)
    return poller


def poller_of(app: FastAPI) -> FeedPoller | None:
    """The app's running poller, None when it was started with no feeds or sitemaps."""
    poller: FeedPoller | None = getattr(app.state, "feeds", None)
    return poller


def feeds_status(app: FastAPI) -> dict[str, Any] | None:
    poller = poller_of(app)
    return poller.status() if poller is not None else None
