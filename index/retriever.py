"""Hybrid retrieval: BM25 and dense (FAISS) candidates fused by weighted reciprocal rank."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date

import numpy as np

from core.config import RetrievalSettings
from core.documents import Article, Chunk
from core.text import is_chinese
from index.analysis import lexical_terms
from index.backends.base import IndexSnapshot, SearchFilters, TermStats
from index.embedding import Embedder, reads_language

__all__ = ["DatePreference", "HybridRetriever", "RetrievalConfig", "ScoredChunk", "SearchFilters", "SearchResult"]


@dataclass(frozen=True)
class DatePreference:
    """Soft preference for articles near a reference day (recency) or within a year, applied after fusion."""

    reference: date
    half_life_days: float | None = None
    year: int | None = None
    weight: float = 0.5

    def factors(self, ordinals: np.ndarray) -> np.ndarray:
        boost = np.zeros(len(ordinals), dtype=np.float64)
        known = ordinals >= 0
        if self.half_life_days:
            age = np.clip(self.reference.toordinal() - ordinals, 0, None)
            boost = np.where(known, np.power(0.5, age / self.half_life_days), 0.0)
        if self.year is not None:
            start, end = date(self.year, 1, 1).toordinal(), date(self.year, 12, 31).toordinal()
            boost = np.maximum(boost, np.where(known & (ordinals >= start) & (ordinals <= end + 90), 1.0, 0.0))
        return 1.0 + self.weight * boost


@dataclass(frozen=True)
class RetrievalConfig:
    candidates: int = 50
    rrf_k: int = 60
    dense_weight: float = 1.0
    lexical_weight: float = 1.0
    fusion: str = "rrf"
    other_language: int = 1  # dense passages always kept from the question's other language (multilingual model)

    @classmethod
    def of(cls, settings: RetrievalSettings) -> RetrievalConfig:
        """The search part of the retrieval settings."""
        return cls(settings.candidates, settings.rrf_k, settings.dense_weight, settings.lexical_weight, settings.fusion,
                   settings.other_language_passages)


@dataclass(frozen=True)
class ScoredChunk:
    chunk: Chunk
    article: Article
    score: float
    rank: int
    dense_score: float | None
    lexical_score: float | None


@dataclass(frozen=True)
class SearchResult:
    hits: list[ScoredChunk]
    query_vector: np.ndarray


def rrf_fusion(dense: dict[int, float], lexical: dict[int, float], cfg: RetrievalConfig) -> dict[int, float]:
    """Weighted reciprocal rank fusion: robust when the two scores live on unrelated scales."""
    fused: dict[int, float] = {}
    for ranking, weight in ((dense, cfg.dense_weight), (lexical, cfg.lexical_weight)):
        for rank, idx in enumerate(sorted(ranking, key=lambda i: -ranking[i])):
            fused[idx] = fused.get(idx, 0.0) + weight / (cfg.rrf_k + rank + 1)
    return fused


def convex_fusion(dense: dict[int, float], lexical: dict[int, float], cfg: RetrievalConfig) -> dict[int, float]:
    """Weighted sum of min-max normalised scores over the candidates: keeps how far ahead a hit is."""
    def norm(scores: dict[int, float]) -> dict[int, float]:
        if not scores:
            return {}
        lo, hi = min(scores.values()), max(scores.values())
        span = hi - lo or 1.0
        return {i: (s - lo) / span for i, s in scores.items()}

    nd, nl = norm(dense), norm(lexical)
    total = cfg.dense_weight + cfg.lexical_weight or 1.0
    return {i: (cfg.dense_weight * nd.get(i, 0.0) + cfg.lexical_weight * nl.get(i, 0.0)) / total
            for i in set(nd) | set(nl)}


FUSIONS = {"rrf": rrf_fusion, "convex": convex_fusion}


class HybridRetriever:
    """Searches one index version on any backend; a new version gets a new retriever, so searches never see a
    half swap. Fusion happens here, so every backend ranks alike."""

    def __init__(self, snapshot: IndexSnapshot, embedder: Embedder, config: RetrievalConfig) -> None:
        if snapshot.model_id != embedder.model_id:
            raise ValueError(f"snapshot embedded with {snapshot.model_id}, service uses {embedder.model_id}")
        self.snapshot = snapshot
        self.embedder = embedder
        self.config = config
        chinese = {a.id: is_chinese(a.text) for a in snapshot.articles.values()}
        self.chinese = np.array([chinese.get(c.article_id, False) for c in snapshot.chunks], dtype=bool)
        self.mixed = bool(self.chinese.any() and not self.chinese.all())

    def reads(self, query: str) -> bool:
        """Whether the embedder was trained on the question's language: an English-only model embeds a Chinese
        question as noise, and fusing that ranking would push BM25's right passage down (CMRC 2018: gold paragraph
        first for 95 % of questions by BM25 alone, 62 % fused with MiniLM)."""
        return reads_language(self.embedder.multilingual, query)

    def term_stats(self) -> TermStats:
        """The index's BM25 document frequencies (vocabulary, frequency per term, chunk count) for IDF weights."""
        return self.snapshot.term_stats()

    def _other_language(self, best: list[int], dense: dict[int, float], query: str, within: int) -> list[int]:
        """``best`` with the best dense passages in the language the question is not in placed within the first
        ``within``: a multilingual embedder finds them, but BM25 matches only the question's own language, so
        fusion would rank them below every passage that merely shares the question's words."""
        wanted = self.config.other_language if self.embedder.multilingual and self.mixed else 0
        if not wanted or not best:
            return best
        own = is_chinese(query)
        within = min(within, len(best))
        others = [i for i in sorted(dense, key=lambda i: -dense[i]) if self.chinese[i] != own][:wanted]
        missing = [i for i in others if i not in best[:within]]
        if not missing:
            return best
        keep = [i for i in best if i not in missing]
        place = max(0, within - len(missing))
        return (keep[:place] + missing + keep[place:])[:len(best)]

    def search(self, query: str, k: int, filters: SearchFilters | None = None,
               prefer: DatePreference | None = None, query_vector: np.ndarray | None = None,
               reserve_by: int | None = None) -> SearchResult:
        """The ``k`` best passages; ``reserve_by``: where a passage kept for the other language must rank at the
        latest (by default within ``k``)."""
        snap = self.snapshot
        qvec = self.embedder.encode_query(query) if query_vector is None else query_vector
        if not snap.chunks:
            return SearchResult([], qvec)
        dense, lexical = snap.candidates(qvec, lexical_terms(query), max(self.config.candidates, k), filters)

        config = self.config if self.reads(query) else replace(self.config, dense_weight=0.0)
        fused = FUSIONS[config.fusion](dense, lexical, config)
        if prefer is not None and fused:
            ids = np.fromiter(fused, dtype=np.int64)
            factors = prefer.factors(snap.chunk_dates[ids])
            fused = {int(i): fused[int(i)] * float(f) for i, f in zip(ids, factors, strict=True)}
        best = self._other_language(sorted(fused, key=lambda i: -fused[i])[:k], dense, query, reserve_by or k)
        hits = [
            ScoredChunk(
                chunk=snap.chunks[i], article=snap.articles[snap.chunks[i].article_id], score=fused[i],
                rank=r + 1, dense_score=dense.get(i), lexical_score=lexical.get(i),
            )
            for r, i in enumerate(best)
        ]
        return SearchResult(hits, qvec)
