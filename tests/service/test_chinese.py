"""A Chinese article added beside the English seed articles: ingested, answered over HTTP with its citation at
exact offsets, and shown on the page with the answer highlighted (real server, generator and Chromium)."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import expect

from index.embedding import Embedder
from tests.conftest import LiveServer, SeedIndex, needs_generator, rebuild_and_load, start_server
from tests.service.browser import ARTIFACTS, Session

ZH_ARTICLE = Path(__file__).resolve().parents[1] / "fixtures" / "zh" / "pkuhsc-nursing-simulation-center.txt"
ARTICLE_ID = "pkuhsc-nursing-simulation-center"
QUESTION = "中心配备了多少台高仿真模拟人？"  # "How many high-fidelity simulators does the centre have?"
ANSWER = "82台"

pytestmark = needs_generator


@pytest.fixture(scope="module")
def zh_server(tmp_path_factory: pytest.TempPathFactory, seed_index: SeedIndex,
              embedder: Embedder) -> Iterator[LiveServer]:
    """A server in the default mode (auto: the generator reads) with the Chinese article indexed beside the seed
    articles by a rebuild, as a newly published article would be."""
    server = start_server(tmp_path_factory.mktemp("zh"), seed_index, embedder, answer_mode="auto")
    try:
        shutil.copy(ZH_ARTICLE, server.articles_dir / ZH_ARTICLE.name)
        rebuild_and_load(server, 3, timeout=300)
        yield server
    finally:
        server.stop()


def test_the_chinese_article_keeps_its_metadata(zh_server: LiveServer) -> None:
    article = httpx.get(f"{zh_server.url}/articles/{ARTICLE_ID}").json()
    assert article["title"] == "北京大学护理学院临床模拟教学中心正式启用"
    assert article["date"] == "2024-05-20"


def test_a_chinese_question_gets_the_span_with_an_exact_citation(zh_server: LiveServer) -> None:
    answer = httpx.post(f"{zh_server.url}/ask", json={"question": QUESTION}, timeout=180).json()
    assert answer["answer"] == ANSWER, answer
    text = httpx.get(f"{zh_server.url}/articles/{ARTICLE_ID}").json()["text"]
    citation = next(c for c in answer["citations"] if c["article_id"] == ARTICLE_ID)
    assert text[citation["start"]:citation["end"]] == citation["quote"]
    assert ANSWER in citation["quote"] and citation["quote"].endswith("。")


def test_the_page_highlights_the_chinese_answer(zh_server: LiveServer, desktop: Session) -> None:
    desktop.open(zh_server.url)
    card = desktop.ask(QUESTION)
    expect(card.locator(".answer-text")).to_have_text(ANSWER)
    expect(card.locator(".answer-text")).to_have_attribute("lang", "zh")
    marks = card.locator(".citation .passage-text mark")
    expect(marks.first).to_be_visible()
    highlighted = [marks.nth(i).inner_text() for i in range(marks.count())]
    assert any(ANSWER in m and m.endswith("。") for m in highlighted), highlighted
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    assert len(desktop.page.screenshot(path=str(ARTIFACTS / "screenshot-chinese.png"))) > 10_000
    assert desktop.page_errors == []
