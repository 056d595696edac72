"""A clone alone: the service starts on an empty articles folder, says how to add articles over the API and on
the page, and answers once an article is copied into the watched folder."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import expect

from index.embedding import Embedder
from tests.conftest import SEED_ARTICLES, make_settings, serve
from tests.service.browser import Session

READY_WAIT = 180.0  # seconds for the watched folder's first build, on a loaded machine


@pytest.fixture()
def empty_server(tmp_path: Path, embedder: Embedder) -> Iterator[tuple[str, Path]]:
    articles = tmp_path / "articles"
    articles.mkdir()
    settings = make_settings(articles, tmp_path / "data", watch_debounce_ms=200)
    server = serve(settings, embedder, watch=True, ready=lambda r: r.json().get("error") == "no_articles")
    yield server.url, articles
    server.stop()


def test_an_empty_folder_says_how_to_add_articles_then_answers_what_is_added(
        empty_server: tuple[str, Path], desktop: Session) -> None:
    url, articles = empty_server
    ready = httpx.get(f"{url}/readyz")
    assert ready.status_code == 503 and ready.json()["error"] == "no_articles"
    assert "articles folder" in ready.json()["message"] and "ARTICLE_QA_FEEDS" in ready.json()["message"]
    ask = httpx.post(f"{url}/ask", json={"question": "When was the Manchester joint centre founded?"})
    assert ask.status_code == 503 and ask.json()["error"] == "no_articles"

    desktop.page.goto(url + "/")
    help_text = desktop.page.locator("#empty-help")
    expect(help_text).to_be_visible(timeout=30_000)
    expect(help_text).to_contain_text("No articles yet")
    expect(desktop.page.locator("#status")).to_have_attribute("data-state", "empty")

    shutil.copy(SEED_ARTICLES / "pkuhsc-manchester-joint-webinar.txt", articles)
    expect(desktop.page.locator("#status")).to_have_attribute("data-state", "ready", timeout=READY_WAIT * 1000)
    expect(help_text).to_be_hidden()
    answer = httpx.post(f"{url}/ask", json={"question": "When was the Manchester joint centre founded?"},
                        timeout=60).json()
    assert "2014" in (answer["answer"] or "")
    assert desktop.page_errors == []
