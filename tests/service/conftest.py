"""Browser fixtures for the page tests (one Chromium per session, a fresh context per test), and a server
that polls a local news site's feeds."""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser, sync_playwright

from index.embedding import Embedder
from tests.conftest import LiveServer, SeedIndex, start_server
from tests.ingest.feed_site import HTML_PAGE, LIBRARY, NURSING, FeedSite
from tests.service.browser import CHROMIUM, CHROMIUM_ARGS, Session, open_session

FEED_POLL_SECONDS = 6.0  # short, so "answered within two polls" is quick to check


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing: install Debian's chromium package")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture()
def desktop(browser: Browser) -> Iterator[Session]:
    yield from open_session(browser, 1280, 900)


@pytest.fixture()
def phone(browser: Browser) -> Iterator[Session]:
    yield from open_session(browser, 390, 844)


@dataclass
class FeedServer:
    """A real server polling a real local news site: a good feed, a second desk's feed, a sitemap, and two
    sources that are not feeds at all."""

    site: FeedSite
    server: LiveServer

    def source(self, path: str) -> dict[str, Any]:
        feeds = httpx.get(f"{self.server.url}/index", timeout=10).json()["feeds"]
        found: dict[str, Any] = next(s for s in feeds["sources"] if s["url"] == self.site.url(path))
        return found


@pytest.fixture(scope="session")
def feed_server(tmp_path_factory: pytest.TempPathFactory, seed_index: SeedIndex,
                embedder: Embedder) -> Iterator[FeedServer]:
    site = FeedSite().start()
    site.publish(NURSING)
    site.set(LIBRARY.path, LIBRARY.html())
    site.set("/desk/feed.xml", site.atom([LIBRARY]), "application/atom+xml")
    site.set("/news/", HTML_PAGE)
    site.set("/broken.xml", b"Welcome! This is not a feed.", "application/xml")
    feeds = [site.url(p) for p in ("/feed.xml", "/desk/feed.xml", "/news/", "/broken.xml")]
    server = start_server(tmp_path_factory.mktemp("feeds"), seed_index, embedder, feeds=feeds,
                          sitemaps=[site.url("/sitemap.xml")], feed_poll_seconds=FEED_POLL_SECONDS,
                          feed_allow_private=True, feed_host_interval_seconds=0.0, feed_timeout_seconds=10.0)
    deadline = time.monotonic() + 120
    while httpx.get(f"{server.url}/articles", timeout=10).json()["total"] < 4:  # 2 seed articles + 2 fetched
        assert time.monotonic() < deadline, "the feed articles were never indexed"
        time.sleep(0.2)
    yield FeedServer(site, server)
    server.stop()
    site.stop()
