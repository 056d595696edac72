from __future__ import annotations

import shutil
from datetime import date
from pathlib import Path

import pytest

from index.backends.local import LocalBackend
from index.embedding import Embedder
from index.retriever import HybridRetriever, RetrievalConfig, SearchFilters
from ingest.pipeline import build_snapshot
from tests.conftest import SeedIndex, make_settings

ZH_ARTICLES = Path(__file__).resolve().parents[1] / "fixtures" / "zh"


def _retriever(seed_index: SeedIndex, embedder: Embedder) -> HybridRetriever:
    return HybridRetriever(seed_index.snapshot, embedder, RetrievalConfig())


def test_hybrid_search_ranks_the_answering_chunk_high(seed_index: SeedIndex, embedder: Embedder) -> None:
    hits = _retriever(seed_index, embedder).search("When was the Manchester joint centre founded?", 3).hits
    assert any("established in 2014" in h.chunk.text for h in hits)
    assert all(h.dense_score is not None or h.lexical_score is not None for h in hits)
    assert [h.rank for h in hits] == [1, 2, 3]


def test_date_and_source_filters(seed_index: SeedIndex, embedder: Embedder) -> None:
    retriever = _retriever(seed_index, embedder)
    after = retriever.search("medical cooperation", 10, SearchFilters(published_after=date(2024, 1, 1))).hits
    assert after and {h.article.id for h in after} == {"polyu-pkuhsc-medical-technology-mou"}
    before = retriever.search("medical cooperation", 10, SearchFilters(published_before=date(2022, 1, 1))).hits
    assert before and {h.article.id for h in before} == {"pkuhsc-manchester-joint-webinar"}
    source = retriever.search("medical", 10, SearchFilters(source="pkuhsc-manchester-joint-webinar.txt")).hits
    assert source and {h.article.source for h in source} == {"pkuhsc-manchester-joint-webinar.txt"}
    none = retriever.search("medical", 10, SearchFilters(published_after=date(2030, 1, 1))).hits
    assert none == []


@pytest.fixture(scope="module")
def bilingual(tmp_path_factory: pytest.TempPathFactory, seed_index: SeedIndex, embedder: Embedder) -> HybridRetriever:
    """The seed articles with the two Chinese fixture articles (one Simplified, one Traditional), MiniLM."""
    root = tmp_path_factory.mktemp("bilingual")
    articles = root / "articles"
    shutil.copytree(seed_index.articles_dir, articles)
    for article in ZH_ARTICLES.glob("*.txt"):
        shutil.copy(article, articles / article.name)
    settings = make_settings(articles, root / "data")
    build_snapshot(articles, settings.data_dir, settings)
    return HybridRetriever(LocalBackend(settings.data_dir).load_latest()[0], embedder, RetrievalConfig())


def test_a_question_in_simplified_finds_the_article_in_traditional(bilingual: HybridRetriever) -> None:
    """The Hong Kong forum article is in Traditional script; a reader asks in Simplified (and the reverse)."""
    for simplified, traditional, wanted in (
            ("大湾区健康科技论坛有多少人参加？", "大灣區健康科技論壇有多少人參加？", "polyu-bay-area-health-forum"),
            ("临床模拟教学中心配备了多少台高仿真模拟人？", "臨床模擬教學中心配備了多少台高仿真模擬人？",
             "pkuhsc-nursing-simulation-center")):
        ours, theirs = bilingual.search(simplified, 3).hits, bilingual.search(traditional, 3).hits
        assert ours[0].article.id == theirs[0].article.id == wanted
        assert ours[0].lexical_score is not None and ours[0].lexical_score == theirs[0].lexical_score


def test_an_english_only_embedder_leaves_a_chinese_question_to_bm25(bilingual: HybridRetriever) -> None:
    """MiniLM embeds Chinese as noise, so a Chinese question is ranked by BM25 alone; an English one is fused."""
    assert not bilingual.reads("模拟教学中心有多大？") and bilingual.reads("How large is the simulation center?")
    hits = bilingual.search("护理学院临床模拟教学中心的面积是多少？", 8).hits
    lexical = [h.lexical_score for h in hits if h.lexical_score is not None]
    assert len(lexical) >= 2 and lexical == sorted(lexical, reverse=True)
    assert [h.lexical_score is None for h in hits] == sorted(h.lexical_score is None for h in hits)
    assert hits[0].article.id == "pkuhsc-nursing-simulation-center"
    rrf_k = bilingual.config.rrf_k
    assert [h.score for h in hits[:2]] == pytest.approx([1 / (rrf_k + 1), 1 / (rrf_k + 2)])  # BM25's ranks alone
    english = bilingual.search("How large is the nursing simulation center?", 3).hits
    assert english[0].score > 1 / (rrf_k + 1)  # both rankings count
