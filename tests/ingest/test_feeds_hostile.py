"""Bad and hostile sources: each is reported and skipped, and nothing already stored or indexed is lost.

A real HTTP server on 127.0.0.1 plays the bad site: not XML, HTML instead of a feed, a page that never answers,
redirects in a loop, an endless body, text that is not UTF-8, links to other sites, a private address.
"""

from __future__ import annotations

import shutil
import time
from pathlib import Path

import pytest

from ingest.collect import FeedCollector
from ingest.feed_store import FeedStore
from ingest.feeds import FEED, SITEMAP
from ingest.fetch import Fetcher, FetchPolicy
from ingest.pipeline import build_snapshot
from tests.conftest import SEED_ARTICLES, make_settings
from tests.ingest.feed_site import BIOBANK, HTML_PAGE, NURSING, FeedSite, Handler, endless, loop, slow

TIMEOUT = 1.5  # seconds: the slow routes answer after 5; good pages on a busy machine within it
MAX_BYTES = 300_000
LATIN1_FEED = ('<?xml version="1.0"?><feed xmlns="http://www.w3.org/2005/Atom"><title>Caf\xe9 news</title>'
               '</feed>').encode("latin-1")
ENTITY_BOMB = ('<?xml version="1.0"?><!DOCTYPE feed [<!ENTITY l0 "lol">'
               + "".join(f'<!ENTITY l{i} "{f"&l{i - 1};" * 10}">' for i in range(1, 10))
               + ']><feed xmlns="http://www.w3.org/2005/Atom"><title>&l9;</title></feed>').encode()

# (route body or handler, content type, the reason the report must give)
BAD_FEEDS: dict[str, tuple[bytes | Handler, str, str]] = {
    "not XML": (b"Welcome! This is not a feed at all.", "application/xml", "not an RSS or Atom feed"),
    "broken XML": (b"<rss version='2.0'><channel><item><title>x</ti", "application/rss+xml",
                   "not well-formed XML"),
    "HTML instead of a feed": (HTML_PAGE, "text/html; charset=utf-8", "an HTML page, not an RSS or Atom feed"),
    "timeout": (slow(5.0), "", f"no answer within {TIMEOUT:g} s"),
    "redirect loop": (loop(), "", "redirects loop back to"),
    "huge": (endless(), "", f"more than the limit of {MAX_BYTES} bytes"),
    "not UTF-8": (LATIN1_FEED, "application/atom+xml", "not valid UTF-8"),
    "XML entity bomb": (ENTITY_BOMB, "application/atom+xml", "limit on input amplification"),
}


def collector(data: Path, **policy: object) -> FeedCollector:
    options: dict[str, object] = {"allow_private": True, "host_interval_seconds": 0.0, "timeout_seconds": TIMEOUT,
                                  "max_bytes": MAX_BYTES}
    return FeedCollector(data, Fetcher(FetchPolicy(**{**options, **policy})))  # type: ignore[arg-type]


def set_route(site: FeedSite, path: str, body: bytes | Handler, content_type: str) -> None:
    if callable(body):
        site.set(path, body)
    else:
        site.set(path, body, content_type)


@pytest.mark.parametrize("case", list(BAD_FEEDS))
def test_bad_feed_is_reported_and_skipped(site: FeedSite, tmp_path: Path, case: str) -> None:
    body, content_type, reason = BAD_FEEDS[case]
    set_route(site, "/bad", body, content_type)
    started = time.monotonic()
    report = collector(tmp_path).collect(FEED, site.url("/bad"))
    assert report.state == "failed" and reason in str(report.error), report.error
    assert report.fetched == [] and FeedStore(tmp_path).count() == 0
    assert time.monotonic() - started < TIMEOUT + 2.5


def test_html_or_garbage_where_a_sitemap_was_expected(site: FeedSite, tmp_path: Path) -> None:
    site.set("/news/", HTML_PAGE)
    site.set("/sitemap-broken.xml", b"Not a sitemap", "application/xml")
    c = collector(tmp_path)
    assert c.collect(SITEMAP, site.url("/news/")).error == "an HTML page, not a sitemap"
    assert "not a sitemap" in str(c.collect(SITEMAP, site.url("/sitemap-broken.xml")).error)


def test_private_address_is_refused_without_a_request(site: FeedSite, tmp_path: Path) -> None:
    report = collector(tmp_path, allow_private=False).collect(FEED, site.url("/feed.xml"))
    assert report.state == "failed" and "non-public address 127.0.0.1" in str(report.error)
    assert "ARTICLE_QA_FEED_ALLOW_PRIVATE" in str(report.error)
    assert site.hits == []


def test_each_bad_page_of_a_feed_is_reported_and_the_good_one_is_stored(site: FeedSite, tmp_path: Path) -> None:
    bad: dict[str, tuple[bytes | Handler, str]] = {
        "/news/slow.html": (slow(5.0), ""),
        "/news/loop.html": (loop(), ""),
        "/news/huge.html": (endless(), ""),
        "/news/latin1.html": ("<html><body><p>Caf\xe9 opening ceremony in Z\xfcrich</p></body></html>"
                              .encode("latin-1"), "text/html"),
        "/news/report.pdf": (b"%PDF-1.7 not html", "application/pdf"),
        "/news/empty.html": (b"<html><body><script>var x = 1;</script><img src='a.png'></body></html>", "text/html"),
        "/private/internal.html": (NURSING.html(), "text/html"),
    }
    for path, (body, content_type) in bad.items():
        set_route(site, path, body, content_type)
    outside = [f"http://localhost:{site.port}/news/copied.html", "https://elsewhere.example/news/story.html"]
    site.publish(BIOBANK)
    feed = site.atom(site.articles, extra_links=(*[site.url(p) for p in bad], site.url("/news/missing.html"),
                                                 *outside))
    site.set("/feed.xml", feed, "application/atom+xml")

    report = collector(tmp_path).collect(FEED, site.url("/feed.xml"))
    assert report.ok, report.error
    assert sorted(report.fetched) == sorted([site.url(NURSING.path), site.url(BIOBANK.path)])
    failed = report.failed
    assert "no answer within" in failed[site.url("/news/slow.html")]
    assert "redirects loop back to" in failed[site.url("/news/loop.html")]
    assert "more than the limit" in failed[site.url("/news/huge.html")]
    assert "not valid UTF-8" in failed[site.url("/news/latin1.html")]
    assert "not an HTML page (application/pdf)" in failed[site.url("/news/report.pdf")]
    assert "no article text" in failed[site.url("/news/empty.html")]
    assert "HTTP 404" in failed[site.url("/news/missing.html")]
    skipped = report.skipped
    assert skipped[site.url("/private/internal.html")] == "disallowed by the site's robots.txt"
    for url in outside:
        assert skipped[url] == "outside the site 127.0.0.1"
    assert site.requests_to("/private/internal.html") == []
    assert not any(h.path == "/news/copied.html" for h in site.hits)
    assert FeedStore(tmp_path).count() == 2


def test_a_source_that_turns_bad_loses_nothing_already_indexed(site: FeedSite, tmp_path: Path) -> None:
    articles, data = tmp_path / "articles", tmp_path / "data"
    shutil.copytree(SEED_ARTICLES, articles)
    settings = make_settings(articles, data)
    c = collector(data)
    assert c.collect(FEED, site.url("/feed.xml")).fetched
    indexed = build_snapshot(articles, data, settings)
    assert "news-2025-karolinska-nursing-exchange" in indexed.added

    for case, (body, content_type, _) in BAD_FEEDS.items():
        set_route(site, "/feed.xml", body, content_type)
        site.set(NURSING.path, b"<html><body>gone</body></html>", status=500)
        report = c.collect(FEED, site.url("/feed.xml"))
        assert report.state == "failed", case
        after = build_snapshot(articles, data, settings)
        assert not after.published and after.version == indexed.version, case
        assert "news-2025-karolinska-nursing-exchange" in after.unchanged, case
