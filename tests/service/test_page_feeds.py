"""Browser test: a feed article's citation links to the original page on the office's site, and the admin
panel shows what each feed's last poll fetched, skipped and failed."""

from __future__ import annotations

import re

from playwright.sync_api import expect

from tests.conftest import ADMIN_TOKEN
from tests.ingest.feed_site import NURSING
from tests.service.browser import Session
from tests.service.conftest import FeedServer
from tests.service.test_feeds import NURSING_QUESTION


def test_feed_citation_link_opens_the_original_article(feed_server: FeedServer, desktop: Session) -> None:
    desktop.open(feed_server.server.url)
    card = desktop.ask(NURSING_QUESTION)
    expect(card.locator(".answer-text")).to_have_text("15")
    link = card.locator(".citations a.citation-source").first
    original = feed_server.site.url(NURSING.path)
    expect(link).to_have_attribute("href", original)
    expect(link).to_have_attribute("rel", "noopener noreferrer")
    expect(link).to_have_text(original)

    with desktop.page.context.expect_page() as opened:
        link.click()
    article = opened.value
    article.wait_for_load_state()
    assert article.url == original
    expect(article.locator("h1")).to_have_text(NURSING.title)
    assert any(h.path == NURSING.path and h.headers.get("User-Agent", "").startswith("Mozilla")
               for h in feed_server.site.requests_to(NURSING.path))  # the browser itself went there
    article.close()
    assert desktop.page_errors == []


def test_admin_panel_reports_each_feed(feed_server: FeedServer, desktop: Session) -> None:
    desktop.open(feed_server.server.url)
    page = desktop.page
    page.locator("#open-admin").click()
    section = page.locator("#feeds-section")
    expect(section).to_be_visible()
    expect(page.locator("#feeds-hint")).to_contain_text("Checked every 6 seconds")
    rows = section.locator(".feed-row")
    expect(rows).to_have_count(5)
    good = rows.filter(has_text=feed_server.site.url("/feed.xml"))
    expect(good).to_have_attribute("data-state", "ok")
    expect(good.locator(".feed-meta")).to_contain_text(re.compile(r"Checked .*\d+ fetched, \d+ unchanged"))
    html = rows.filter(has_text=feed_server.site.url("/news/"))
    expect(html).to_have_attribute("data-state", "failed")
    expect(html.locator(".feed-error")).to_have_text("an HTML page, not an RSS or Atom feed")
    expect(rows.filter(has_text=feed_server.site.url("/sitemap.xml")).locator(".feed-kind")).to_have_text("Sitemap")
    assert desktop.axe("#admin") == []
    assert desktop.page_errors == []


def test_admin_panel_checks_the_feeds_on_demand(feed_server: FeedServer, desktop: Session) -> None:
    desktop.open(feed_server.server.url)
    page = desktop.page
    page.locator("#open-admin").click()
    page.locator("#admin-token").fill(ADMIN_TOKEN)
    page.locator("#admin-token").press("Enter")
    with page.expect_response(lambda r: r.url.endswith("/feeds/poll")) as polled:
        page.locator("#poll-feeds").click()
    assert polled.value.status == 202
    expect(page.locator("#admin-message")).to_have_text("Checking 5 sources now.")
    assert desktop.page_errors == []
