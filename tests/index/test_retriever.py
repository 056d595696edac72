from __future__ import annotations

from datetime import date

from index.embedding import Embedder
from index.retriever import HybridRetriever, RetrievalConfig, SearchFilters
from tests.conftest import SeedIndex


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
