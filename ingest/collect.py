"""One pass over a feed or sitemap: list its articles, download the new or changed pages, store them.

Everything that goes wrong is written into the ``SourceReport`` (the source itself failing, or one page) and the
pass carries on; stored pages are never removed here, so a bad poll costs nothing already indexed.
"""

from __future__ import annotations

import hashlib
import logging
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from core.config import Settings
from core.errors import ArticleQAError, FeedError, FetchRefusedError, InvalidArticleError
from ingest.feed_store import FeedStore, now_iso
from ingest.feeds import FEED, SITEMAP, Link, Listing, ListingReader, extract_page, reader_for
from ingest.fetch import Fetcher, FetchPolicy, Validators, site_of
from ingest.pipeline import read_tombstones

log = logging.getLogger(__name__)

PAGE_ACCEPT = "text/html, application/xhtml+xml;q=0.9, */*;q=0.1"
REPORT_LIMIT = 50  # URLs listed per category in a report; the counts stay exact


@dataclass
class SourceReport:
    """What one pass over one feed or sitemap did."""

    url: str
    kind: str
    state: str = "ok"
    error: str | None = None
    not_modified: bool = False
    links: int = 0
    fetched: list[str] = field(default_factory=list)
    unchanged: int = 0
    skipped: dict[str, str] = field(default_factory=dict)
    failed: dict[str, str] = field(default_factory=dict)
    started_at: str = ""
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return self.state == "ok"

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["fetched"] = self.fetched[:REPORT_LIMIT]
        data["skipped"] = dict(list(self.skipped.items())[:REPORT_LIMIT])
        data["failed"] = dict(list(self.failed.items())[:REPORT_LIMIT])
        data["counts"] = {"fetched": len(self.fetched), "unchanged": self.unchanged,
                          "skipped": len(self.skipped), "failed": len(self.failed)}
        return data

    def summary(self) -> str:
        head = f"{self.kind} {self.url}: "
        if not self.ok:
            return head + f"failed: {self.error}"
        return head + (f"{self.links} links; fetched {len(self.fetched)}, unchanged {self.unchanged}, "
                       f"skipped {len(self.skipped)}, failed {len(self.failed)}"
                       + (" (not modified)" if self.not_modified else ""))


def sources_of(settings: Settings) -> list[tuple[str, str]]:
    """The configured feeds and sitemaps as ``(kind, url)``, each once."""
    pairs = [(FEED, u) for u in settings.feed.urls] + [(SITEMAP, u) for u in settings.feed.sitemaps]
    return list(dict.fromkeys(pairs))


def _reason(exc: Exception, url: str) -> str:
    return str(exc).removeprefix(f"{url}: ")


class FeedCollector:
    """Lists and downloads articles of feeds and sitemaps into a data folder's ``FeedStore``."""

    def __init__(self, data_dir: Path, fetcher: Fetcher, max_items: int = 200, max_sitemaps: int = 20) -> None:
        self.data_dir = data_dir
        self.store = FeedStore(data_dir)
        self.fetcher = fetcher
        self.max_items = max_items
        self.max_sitemaps = max_sitemaps

    @classmethod
    def from_settings(cls, settings: Settings) -> FeedCollector:
        return cls(settings.data_dir, Fetcher(FetchPolicy.from_settings(settings)), settings.feed.max_items,
                   settings.feed.max_sitemaps)

    def close(self) -> None:
        self.fetcher.close()

    def collect(self, kind: str, url: str) -> SourceReport:
        report = SourceReport(url, kind, started_at=now_iso())
        started = time.perf_counter()
        try:
            reader = reader_for(kind)
            with self.store.lock():
                links = self._links(reader, url, report)
                self._pages(links, url, report)
        except (ArticleQAError, ValueError) as exc:
            report.state, report.error = "failed", _reason(exc, url)
        except Exception as exc:  # a broken source must never stop the others or the service
            log.exception("collecting %s failed", url)
            report.state, report.error = "failed", f"{type(exc).__name__}: {exc}"
        report.seconds = round(time.perf_counter() - started, 3)
        log.info("feeds: %s", report.summary())
        return report

    def _links(self, reader: ListingReader, url: str, report: SourceReport) -> list[Link]:
        """Every article the source lists (following a sitemap index), newest first, at most ``max_items``."""
        site = site_of(url)
        queue, seen = [url], set[str]()
        links: dict[str, Link] = {}
        while queue and len(seen) < self.max_sitemaps:
            current = queue.pop(0)
            if current in seen:
                continue
            seen.add(current)
            if site_of(current) != site:
                report.skipped[current] = f"outside the site {site}"
                continue
            try:
                listing = self._listing(reader, current, site, report, root=current == url)
            except FeedError as exc:
                if current == url:
                    raise
                report.failed[current] = _reason(exc, current)
                continue
            for link in listing.links:
                links.setdefault(link.url, link)
            queue.extend(listing.sitemaps)
        report.links = len(links)
        return list(links.values())[: self.max_items]

    def _listing(self, reader: ListingReader, url: str, site: str, report: SourceReport, root: bool) -> Listing:
        cached = self.store.listing(url)
        validators = Validators(cached.get("etag"), cached.get("last_modified")) if cached else None
        download = self.fetcher.get(url, validators, site=site, accept=reader.accept)
        if download.not_modified and cached is not None:
            report.not_modified = report.not_modified or root
            return Listing([Link.from_dict(d) for d in cached.get("links", [])], list(cached.get("sitemaps", [])))
        if download.not_modified:
            raise FeedError(f"{url}: answered 304 Not Modified to a request that was not conditional")
        listing = reader.read(download)
        self.store.save_listing(url, {"etag": download.validators.etag,
                                      "last_modified": download.validators.last_modified,
                                      "links": [link.to_dict() for link in listing.links],
                                      "sitemaps": listing.sitemaps, "read_at": now_iso()})
        return listing

    def _pages(self, links: list[Link], source: str, report: SourceReport) -> None:
        site = site_of(source)
        deleted = read_tombstones(self.data_dir)
        for link in links:
            if not link.url.startswith(("http://", "https://")):
                report.skipped[link.url] = "not an http or https link"
            elif site_of(link.url) != site:
                report.skipped[link.url] = f"outside the site {site}"
            elif link.url in deleted:
                report.skipped[link.url] = "deleted from the index by an admin"
            else:
                try:
                    self._page(link, site, source, report)
                except FetchRefusedError as exc:
                    report.skipped[link.url] = _reason(exc, link.url)
                except (FeedError, InvalidArticleError) as exc:
                    report.failed[link.url] = _reason(exc, link.url)
                except Exception as exc:  # one hostile page must not end the pass
                    log.exception("reading %s failed", link.url)
                    report.failed[link.url] = f"{type(exc).__name__}: {exc}"

    def _page(self, link: Link, site: str, source: str, report: SourceReport) -> None:
        known = self.store.record(link.url)
        if known is not None and link.stamp and known.stamp == link.stamp:
            report.unchanged += 1
            return
        validators = Validators(known.etag, known.last_modified) if known else None
        download = self.fetcher.get(link.url, validators, site=site, accept=PAGE_ACCEPT)
        found = download.validators
        if known is not None and (download.not_modified
                                  or hashlib.sha256(download.body).hexdigest() == known.sha256):
            self.store.touch(known, link.stamp, found.etag, found.last_modified)
            report.unchanged += 1
            return
        if download.not_modified:
            raise FeedError(f"{link.url}: answered 304 Not Modified to a request that was not conditional")
        document = extract_page(download, link)
        self.store.save(link.url, download.body, document, source, link.stamp, found.etag, found.last_modified)
        report.fetched.append(link.url)


def collect_all(settings: Settings) -> list[SourceReport]:
    """One pass over every configured feed and sitemap (what ``article-qa ingest --feed`` does)."""
    collector = FeedCollector.from_settings(settings)
    try:
        return [collector.collect(kind, url) for kind, url in sources_of(settings)]
    finally:
        collector.close()
