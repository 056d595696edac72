"""Feeds and sitemaps as sources: listing, downloading new and changed pages, storing them, indexing them.

Everything runs against a real HTTP server on 127.0.0.1 serving seed-style article pages.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import shutil
from pathlib import Path

import pytest

from core.config import Settings
from core.errors import InvalidArticleError
from ingest.collect import FeedCollector
from ingest.feed_store import FeedStore
from ingest.feeds import FEED, SITEMAP, Link, doc_id_for, extract_page
from ingest.fetch import Download, Fetcher, FetchPolicy, Validators
from ingest.pipeline import add_tombstone, build_snapshot
from tests.conftest import SEED_ARTICLES, make_settings
from tests.ingest.feed_site import BIOBANK, NURSING, FeedSite, redirect


def collector(data: Path, **policy: object) -> FeedCollector:
    options: dict[str, object] = {"allow_private": True, "host_interval_seconds": 0.0, "timeout_seconds": 10.0}
    return FeedCollector(data, Fetcher(FetchPolicy(**{**options, **policy})))  # type: ignore[arg-type]


def page_hits(site: FeedSite) -> list[str]:
    return [h.path for h in site.hits if h.path.startswith("/news/")]


def test_feed_articles_are_downloaded_once_then_asked_for_conditionally(site: FeedSite, tmp_path: Path) -> None:
    c = collector(tmp_path)
    first = c.collect(FEED, site.url("/feed.xml"))
    assert first.ok and first.fetched == [site.url(NURSING.path)] and first.links == 1
    record = FeedStore(tmp_path).record(site.url(NURSING.path))
    assert record is not None
    assert (FeedStore(tmp_path).root / record.page).read_bytes() == NURSING.html()  # the raw page, as served
    doc = record.raw_document()
    assert doc.title == NURSING.title and doc.date == "2025-04-08" and doc.authors == ("Zhao Min",)
    assert doc.url == site.url(NURSING.path) and "15 nursing students" in doc.text

    second = c.collect(FEED, site.url("/feed.xml"))
    assert second.ok and second.not_modified and second.fetched == [] and second.unchanged == 1
    assert [h.status for h in site.requests_to("/feed.xml")] == [200, 304]
    assert page_hits(site) == [NURSING.path]  # the feed's <updated> did not change: no page request at all

    site.publish(BIOBANK)
    third = c.collect(FEED, site.url("/feed.xml"))
    assert third.fetched == [site.url(BIOBANK.path)] and third.unchanged == 1
    assert page_hits(site) == [NURSING.path, BIOBANK.path]


def test_changed_article_is_downloaded_again(site: FeedSite, tmp_path: Path) -> None:
    c = collector(tmp_path)
    c.collect(FEED, site.url("/feed.xml"))
    corrected = dataclasses.replace(NURSING, paragraphs=(*NURSING.paragraphs[:1], "Each year 18 nursing students "
                                                         "from each university will spend a semester abroad."))
    site.set(NURSING.path, corrected.html())
    site.set("/feed.xml", site.atom([corrected]).replace(b"2025-04-08T09:00:00+08:00</updated>",
                                                         b"2025-04-09T10:00:00+08:00</updated>"),
             "application/atom+xml")
    report = c.collect(FEED, site.url("/feed.xml"))
    assert report.fetched == [site.url(NURSING.path)]
    record = FeedStore(tmp_path).record(site.url(NURSING.path))
    assert record is not None and "18 nursing students" in record.raw_document().text


def test_sitemap_index_is_followed_and_pages_without_changes_cost_a_304(site: FeedSite, tmp_path: Path) -> None:
    site.publish(BIOBANK)
    site.set("/sitemap-index.xml", f"""<?xml version="1.0" encoding="UTF-8"?>
<sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">
<sitemap><loc>{site.url('/sitemap.xml')}</loc></sitemap>
<sitemap><loc>http://elsewhere.example/sitemap.xml</loc></sitemap>
</sitemapindex>""".encode(), "application/xml")
    c = collector(tmp_path)
    report = c.collect(SITEMAP, site.url("/sitemap-index.xml"))
    assert report.ok and sorted(report.fetched) == sorted([site.url(NURSING.path), site.url(BIOBANK.path)])
    assert report.fetched[0] == site.url(BIOBANK.path)  # newest <lastmod> first
    assert report.skipped == {"http://elsewhere.example/sitemap.xml": "outside the site 127.0.0.1"}
    again = c.collect(SITEMAP, site.url("/sitemap-index.xml"))
    assert again.unchanged == 2 and again.fetched == [] and again.not_modified


def test_pages_without_a_listing_stamp_are_revalidated(site: FeedSite, tmp_path: Path) -> None:
    site.set("/urls.txt", f"{site.url(NURSING.path)}\n".encode(), "text/plain")
    c = collector(tmp_path)
    assert c.collect(SITEMAP, site.url("/urls.txt")).fetched == [site.url(NURSING.path)]
    assert c.collect(SITEMAP, site.url("/urls.txt")).unchanged == 1
    assert [h.status for h in site.requests_to(NURSING.path)] == [200, 304]


def test_feed_articles_are_indexed_with_url_byline_and_date(site: FeedSite, tmp_path: Path) -> None:
    articles, data = tmp_path / "articles", tmp_path / "data"
    shutil.copytree(SEED_ARTICLES, articles)
    settings = make_settings(articles, data)
    assert collector(data).collect(FEED, site.url("/feed.xml")).fetched
    report = build_snapshot(articles, data, settings)
    article_id = "news-2025-karolinska-nursing-exchange"
    assert report.published and article_id in report.added and report.articles == 3
    stored = {a["id"]: a for a in map(json.loads, (data / "snapshots" / str(report.version) / "articles.jsonl")
                                      .read_text().splitlines())}
    article = stored[article_id]
    assert article["url"] == article["source"] == site.url(NURSING.path)
    assert article["byline"] == "Zhao Min" and article["date"] == "2025-04-08"
    assert article["title"] == NURSING.title and article["source_office"] == "Office of International Cooperation"

    assert not build_snapshot(articles, data, settings).published  # nothing new: nothing published

    add_tombstone(data, site.url(NURSING.path))  # what DELETE /articles/{id} does for a feed article
    after = build_snapshot(articles, data, settings)
    assert after.removed == [article_id]
    skipped = collector(data).collect(FEED, site.url("/feed.xml")).skipped
    assert skipped == {site.url(NURSING.path): "deleted from the index by an admin"}


def test_a_redirected_link_is_cited_with_the_page_address_it_landed_on(site: FeedSite, tmp_path: Path) -> None:
    """A listing may point at a short or old address; the citation links to where the article really is."""
    articles, data = tmp_path / "articles", tmp_path / "data"
    articles.mkdir()
    site.set("/go/nursing", redirect(NURSING.path, status=301))
    site.set("/urls.txt", f"{site.url('/go/nursing')}\n".encode(), "text/plain")
    assert collector(data).collect(SITEMAP, site.url("/urls.txt")).fetched == [site.url("/go/nursing")]
    report = build_snapshot(articles, data, make_settings(articles, data))
    stored = [json.loads(line) for line in (data / "snapshots" / str(report.version) / "articles.jsonl")
              .read_text().splitlines()]
    assert [(a["url"], a["title"]) for a in stored] == [(site.url(NURSING.path), NURSING.title)]


def test_article_ids_come_from_the_url_path() -> None:
    assert doc_id_for("http://office.example/news/2025/robotics-lab.html") == "news-2025-robotics-lab"
    assert doc_id_for("http://office.example/article.php?id=42") == "article-id-42"
    assert doc_id_for("http://office.example/") == "office-example"


def test_page_text_that_looks_like_a_url_is_not_fetched(site: FeedSite) -> None:
    """htmldate downloads a string that looks like a URL; pages are parsed first so it never gets one."""
    site.set("/secret.html", b"<html><body><p>internal</p></body></html>")
    url = site.url("/news/odd.html")
    download = Download(url, 200, site.url("/secret.html").encode(), "text/html", "utf-8", Validators())
    with contextlib.suppress(InvalidArticleError):
        extract_page(download, Link(url))
    assert site.requests_to("/secret.html") == []


def test_settings_read_feed_lists_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ARTICLE_QA_FEEDS", "http://office.example/feed.xml, http://office.example/rss")
    monkeypatch.setenv("ARTICLE_QA_SITEMAPS", '["http://office.example/sitemap.xml"]')
    settings = Settings()
    assert settings.feed.urls == ["http://office.example/feed.xml", "http://office.example/rss"]
    assert settings.feed.sitemaps == ["http://office.example/sitemap.xml"]
