from __future__ import annotations

import shutil
from datetime import date
from pathlib import Path

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


def test_a_question_in_simplified_finds_the_article_in_traditional(tmp_path: Path, seed_index: SeedIndex,
                                                                   embedder: Embedder) -> None:
    """The Hong Kong forum article is in Traditional script; a reader asks in Simplified (and the reverse)."""
    articles = tmp_path / "articles"
    shutil.copytree(seed_index.articles_dir, articles)
    for article in ZH_ARTICLES.glob("*.txt"):
        shutil.copy(article, articles / article.name)
    settings = make_settings(articles, tmp_path / "data")
    build_snapshot(articles, settings.data_dir, settings)
    retriever = HybridRetriever(LocalBackend(settings.data_dir).load_latest()[0], embedder, RetrievalConfig())
    for simplified, traditional, wanted in (
            ("大湾区健康科技论坛有多少人参加？", "大灣區健康科技論壇有多少人參加？", "polyu-bay-area-health-forum"),
            ("临床模拟教学中心配备了多少台高仿真模拟人？", "臨床模擬教學中心配備了多少台高仿真模擬人？",
             "pkuhsc-nursing-simulation-center")):
        ours, theirs = retriever.search(simplified, 3).hits, retriever.search(traditional, 3).hits
        assert ours[0].article.id == theirs[0].article.id == wanted
        assert ours[0].lexical_score is not None and ours[0].lexical_score == theirs[0].lexical_score
