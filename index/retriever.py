"""Hybrid retrieval: BM25 and dense (FAISS) candidates fused by weighted reciprocal rank."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import faiss
import numpy as np

from core.documents import Article, Chunk
from index.analysis import analyze
from index.embedding import Embedder
from index.snapshot import Snapshot


@dataclass(frozen=True)
class SearchFilters:
    published_after: date | None = None
    published_before: date | None = None
    source: str | None = None
    article_ids: frozenset[str] | None = None

    def active(self) -> bool:
        return any(v is not None for v in (self.published_after, self.published_before, self.source,
                                           self.article_ids))


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
    """Searches one snapshot; a new snapshot gets a new retriever, so searches never see a half swap."""

    def __init__(self, snapshot: Snapshot, embedder: Embedder, config: RetrievalConfig) -> None:
        if snapshot.model_id != embedder.model_id:
            raise ValueError(f"snapshot embedded with {snapshot.model_id}, service uses {embedder.model_id}")
        self.snapshot = snapshot
        self.embedder = embedder
        self.config = config

    def _mask(self, filters: SearchFilters | None) -> np.ndarray | None:
        if filters is None or not filters.active():
            return None
        snap = self.snapshot
        mask = np.ones(len(snap.chunks), dtype=bool)
        if filters.published_after is not None:
            mask &= snap.chunk_dates >= filters.published_after.toordinal()
        if filters.published_before is not None:
            mask &= (snap.chunk_dates <= filters.published_before.toordinal()) & (snap.chunk_dates >= 0)
        if filters.source is not None:
            wanted = filters.source.strip().lower()
            mask &= np.array([s.lower() == wanted for s in snap.chunk_sources], dtype=bool)
        if filters.article_ids is not None:
            mask &= np.isin(snap.chunk_articles, list(filters.article_ids))
        return mask

    def search(self, query: str, k: int, filters: SearchFilters | None = None,
               prefer: DatePreference | None = None, query_vector: np.ndarray | None = None) -> SearchResult:
        snap = self.snapshot
        qvec = self.embedder.encode_query(query) if query_vector is None else query_vector
        n = len(snap.chunks)
        if n == 0:
            return SearchResult([], qvec)
        mask = self._mask(filters)
        allowed = np.flatnonzero(mask) if mask is not None else None
        if allowed is not None and len(allowed) == 0:
            return SearchResult([], qvec)
        depth = min(max(self.config.candidates, k), n if allowed is None else len(allowed))

        params = None
        if allowed is not None:
            selector = faiss.IDSelectorBatch(allowed.astype(np.int64))
            params = faiss.SearchParameters(sel=selector)  # type: ignore[call-arg]
        dense_scores, dense_ids = snap.dense.search(qvec.reshape(1, -1), depth, params=params)
        dense = {int(i): float(s) for i, s in zip(dense_ids[0], dense_scores[0], strict=True) if i >= 0}

        lexical: dict[int, float] = {}
        tokens = analyze(query)
        if tokens:
            scores = np.asarray(snap.lexical.get_scores(tokens), dtype=np.float32)
            if mask is not None:
                scores = np.where(mask, scores, 0.0)
            top = np.argpartition(-scores, min(depth, n - 1))[:depth] if depth < n else np.arange(n)
            lexical = {int(i): float(scores[i]) for i in top if scores[i] > 0}

        fused = FUSIONS[self.config.fusion](dense, lexical, self.config)
        if prefer is not None and fused:
            ids = np.fromiter(fused, dtype=np.int64)
            factors = prefer.factors(snap.chunk_dates[ids])
            fused = {int(i): fused[int(i)] * float(f) for i, f in zip(ids, factors, strict=True)}
        best = sorted(fused, key=lambda i: -fused[i])[:k]
        hits = [
            ScoredChunk(
                chunk=snap.chunks[i], article=snap.articles[snap.chunks[i].article_id], score=fused[i],
                rank=r + 1, dense_score=dense.get(i), lexical_score=lexical.get(i),
            )
            for r, i in enumerate(best)
        ]
        return SearchResult(hits, qvec)
