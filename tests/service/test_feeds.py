"""``serve --feed`` and ``ingest --feed`` against a real local news site: new articles are answered and cited
within two polls with no failed question, and bad sources are reported while the service keeps answering."""

from __future__ import annotations

import shutil
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from cli.main import _settings, build_parser, main
from core.documents import Article
from ingest.fetch import normalise_url
from ingest.pipeline import read_tombstones
from service import library
from tests.conftest import LiveServer, SeedIndex
from tests.ingest.feed_site import BIOBANK, HTML_PAGE, LIBRARY, NURSING, FeedSite
from tests.service.conftest import FEED_POLL_SECONDS, FeedServer
from tests.service.test_rebuild import AskLoop, wait_for

BIOBANK_QUESTION = "How many patients' samples does the rare disease biobank store?"
LIBRARY_QUESTION = "How many study seats did the medical library add?"
NURSING_QUESTION = "How many nursing students from each university will spend a semester at the partner school?"


def ask(url: str, question: str) -> dict[str, Any]:
    r = httpx.post(f"{url}/ask", json={"question": question}, timeout=60)
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body


def test_feed_articles_are_answered_with_their_url(feed_server: FeedServer) -> None:
    body = ask(feed_server.server.url, NURSING_QUESTION)
    assert body["answer"] == "15"
    citation = body["citations"][0]
    assert citation["url"] == citation["source"] == feed_server.site.url(NURSING.path)
    assert citation["title"] == NURSING.title and citation["date"] == "2025-04-08"
    article = httpx.get(f"{feed_server.server.url}/articles/{citation['article_id']}").json()
    assert article["byline"] == "Zhao Min" and article["text"][citation["start"]:citation["end"]] == citation["quote"]


def test_new_article_is_answered_within_two_polls_without_a_failed_question(feed_server: FeedServer) -> None:
    url, site = feed_server.server.url, feed_server.site
    assert "12,000" not in (ask(url, BIOBANK_QUESTION)["answer"] or "")

    def biobank_answered() -> bool:
        body = ask(url, BIOBANK_QUESTION)
        return bool(body["citations"]) and body["citations"][0]["url"] == site.url(BIOBANK.path) \
            and body["answer"] == "12,000"

    with AskLoop(feed_server.server) as loop:
        published = time.monotonic()
        site.publish(BIOBANK)
        assert wait_for(biobank_answered, 2 * FEED_POLL_SECONDS + 30), "never answered"
        elapsed = time.monotonic() - published
        assert wait_for(lambda: loop.count >= 20, 60)
    assert loop.errors == [] and loop.count >= 20
    assert elapsed <= 2 * FEED_POLL_SECONDS, f"answered {elapsed:.1f} s after publishing"

    feed = feed_server.source("/feed.xml")
    assert feed["state"] == "ok" and feed["fetched_total"] >= 2
    index = httpx.get(f"{url}/index").json()
    assert index["sources"]["feed_pages"] == 3 and index["counts"]["articles"] == 5


def test_bad_sources_are_reported_and_nothing_indexed_is_lost(feed_server: FeedServer) -> None:
    url, site = feed_server.server.url, feed_server.site
    html = feed_server.source("/news/")
    assert html["state"] == "failed" and html["failures"] >= 1 and html["next_poll"]
    assert html["last"]["error"] == "an HTML page, not an RSS or Atom feed"
    assert "not an RSS or Atom feed" in feed_server.source("/broken.xml")["last"]["error"]
    assert feed_server.source("/sitemap.xml")["state"] == "ok"
    assert ask(url, LIBRARY_QUESTION)["answer"] == "260"
    total = httpx.get(f"{url}/articles").json()["total"]

    polls = feed_server.source("/desk/feed.xml")["polls"]
    site.set("/desk/feed.xml", HTML_PAGE)  # the desk's feed turns into an HTML page, its article into an error
    site.set(LIBRARY.path, b"<html><body>Internal error</body></html>", status=500)
    try:
        assert wait_for(lambda: feed_server.source("/desk/feed.xml")["polls"] > polls, 3 * FEED_POLL_SECONDS)
        desk = feed_server.source("/desk/feed.xml")
        assert desk["state"] == "failed" and desk["last"]["error"] == "an HTML page, not an RSS or Atom feed"
        body = ask(url, LIBRARY_QUESTION)
        assert body["answer"] == "260" and body["citations"][0]["url"] == site.url(LIBRARY.path)
        assert httpx.get(f"{url}/articles").json()["total"] == total
    finally:
        site.set("/desk/feed.xml", site.atom([LIBRARY]), "application/atom+xml")
        site.set(LIBRARY.path, LIBRARY.html())


def test_ingest_command_fetches_feeds_and_reports_bad_ones(tmp_path: Path, seed_index: SeedIndex,
                                                            monkeypatch: pytest.MonkeyPatch,
                                                            capsys: pytest.CaptureFixture[str]) -> None:
    site = FeedSite().start()
    try:
        site.publish(NURSING)
        site.set("/news/", HTML_PAGE)
        articles, data = tmp_path / "articles", tmp_path / "data"
        shutil.copytree(seed_index.articles_dir, articles)
        shutil.copytree(seed_index.data_dir, data)
        monkeypatch.setenv("ARTICLE_QA_FEED_ALLOW_PRIVATE", "1")
        monkeypatch.setenv("ARTICLE_QA_FEED_HOST_INTERVAL_SECONDS", "0")
        base = ["ingest", str(articles), "--data", str(data), "--quiet"]
        assert main([*base, "--feed", site.url("/feed.xml"), "--sitemap", site.url("/news/")]) == 3
        out, err = capsys.readouterr()
        assert "added 1" in out and "3 articles" in out
        assert f"feed {site.url('/feed.xml')}: 1 links; fetched 1" in err
        assert f"sitemap {site.url('/news/')}: failed: an HTML page, not a sitemap" in err

        monkeypatch.setenv("ARTICLE_QA_FEEDS", site.url("/feed.xml"))  # the setting instead of the option
        assert main(base) == 0
        out, err = capsys.readouterr()
        assert "unchanged 3" in out and "(not modified)" in err
    finally:
        site.stop()


def test_serve_takes_repeatable_feed_and_sitemap_options() -> None:
    args = build_parser().parse_args(["serve", "--feed", "http://a.example/feed.xml", "--feed",
                                      "http://b.example/rss", "--sitemap", "http://a.example/sitemap.xml"])
    settings = _settings(args)
    assert settings.feed.urls == ["http://a.example/feed.xml", "http://b.example/rss"]
    assert settings.feed.sitemaps == ["http://a.example/sitemap.xml"]


def test_deleting_a_feed_article_never_touches_the_articles_folder(tmp_path: Path) -> None:
    """A hostile feed link like ``http://site/../../victim.txt`` must not make a delete remove a file."""
    articles, data = tmp_path / "articles", tmp_path / "data"
    articles.mkdir()
    (articles / "victim.txt").write_text("An article that must stay.\n")
    key = "http://site/../../victim.txt"
    assert normalise_url(key) == "http://site/victim.txt"
    article = Article(id="victim", title="t", text="x", source=key, content_hash="h", url=key, source_key=key)
    assert library.remove(articles, data, article) == f"excluded {key} from future builds"
    assert (articles / "victim.txt").is_file() and key in read_tombstones(data)


def test_feeds_resource_lists_sources_and_polls_on_demand(feed_server: FeedServer) -> None:
    url = feed_server.server.url
    listed = httpx.get(f"{url}/feeds", timeout=10).json()
    assert listed["configured"] is True and len(listed["sources"]) == 5
    indexed = httpx.get(f"{url}/index", timeout=10).json()["feeds"]["sources"]
    assert [s["url"] for s in listed["sources"]] == [s["url"] for s in indexed]
    assert httpx.post(f"{url}/feeds/poll", timeout=10).status_code == 401

    assert wait_for(lambda: feed_server.source("/news/")["failures"] >= 2, 4 * FEED_POLL_SECONDS)
    broken = feed_server.source("/news/")  # failing twice in a row: its next poll is at least 4 polls away
    r = httpx.post(f"{url}/feeds/poll", headers=feed_server.server.admin(), timeout=10)
    assert r.status_code == 202 and r.headers["location"] == "/feeds"
    assert wait_for(lambda: feed_server.source("/news/")["polls"] > broken["polls"], FEED_POLL_SECONDS / 2)


def test_feeds_resource_without_feeds_says_how_to_add_one(live_server: LiveServer) -> None:
    server = live_server
    listed = httpx.get(f"{server.url}/feeds", timeout=10).json()
    assert listed["configured"] is False and listed["sources"] == [] and "ARTICLE_QA_FEEDS" in listed["hint"]
    r = httpx.post(f"{server.url}/feeds/poll", headers=server.admin(), timeout=10)
    assert r.status_code == 409 and r.json()["error"] == "feeds_not_configured"
