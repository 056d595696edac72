"""The answering stage: question -> retrieval -> extractive reading -> cited answer or abstention."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from core.config import Settings
from core.errors import InvalidQuestionError
from index.embedding import Embedder
from index.retriever import HybridRetriever, RetrievalConfig, ScoredChunk, SearchFilters
from index.snapshot import Snapshot
from service.question import analyze_question
from service.reader import ExtractiveReader, ReaderConfig, TermWeights


@dataclass(frozen=True)
class CitationOut:
    article_id: str
    title: str
    date: str | None
    source: str
    url: str | None
    quote: str
    start: int
    end: int


@dataclass(frozen=True)
class AnswerResult:
    question: str
    answer: str | None
    abstained: bool
    confidence: float
    reason: str
    citations: list[CitationOut]
    hits: list[ScoredChunk]
    snapshot: str
    timings_ms: dict[str, float] = field(default_factory=dict)


class Answerer:
    """Everything needed to answer from one snapshot; swapped as a whole when a new snapshot arrives."""

    def __init__(self, snapshot: Snapshot, embedder: Embedder, settings: Settings) -> None:
        self.snapshot = snapshot
        self.settings = settings
        self.retriever = HybridRetriever(
            snapshot, embedder,
            RetrievalConfig(settings.retrieval_candidates, settings.rrf_k, settings.dense_weight,
                            settings.lexical_weight),
        )
        self.reader = ExtractiveReader(
            TermWeights.from_bm25(snapshot.lexical), lambda texts: embedder.encode(texts, batch_size=16),
            ReaderConfig(),
        )

    def validate(self, question: str) -> str:
        cleaned = " ".join(question.split())
        if not cleaned:
            raise InvalidQuestionError("the question is empty")
        if len(cleaned) > self.settings.max_question_chars:
            raise InvalidQuestionError(
                f"the question is {len(cleaned)} characters long; the limit is {self.settings.max_question_chars}"
            )
        return cleaned

    def search(self, query: str, k: int, filters: SearchFilters | None = None) -> list[ScoredChunk]:
        return self.retriever.search(self.validate(query), k, filters).hits

    def ask(self, question: str, top_k: int | None = None, filters: SearchFilters | None = None) -> AnswerResult:
        t0 = time.perf_counter()
        text = self.validate(question)
        k = min(top_k or self.settings.default_top_k, self.settings.max_top_k)
        parsed = analyze_question(text)
        result = self.retriever.search(text, max(k, self.reader.config.passages), filters)
        t1 = time.perf_counter()
        reading = self.reader.read(parsed, result.hits, result.query_vector)
        t2 = time.perf_counter()
        timings = {"retrieve": (t1 - t0) * 1000, "read": (t2 - t1) * 1000}
        span = reading.span
        if span is None or reading.confidence < self.settings.abstain_threshold:
            reason = reading.reason if span is None else "The best candidate answer was not supported strongly enough."
            return AnswerResult(text, None, True, round(reading.confidence, 4), reason, [], result.hits[:k],
                                self.snapshot.version, timings)
        ev = span.evidence
        article = span.article
        citation = CitationOut(
            article_id=article.id, title=article.title, date=article.date, source=article.source, url=article.url,
            quote=article.text[ev.start:ev.end], start=ev.start, end=ev.end,
        )
        return AnswerResult(text, span.text, False, round(reading.confidence, 4), reading.reason, [citation],
                            result.hits[:k], self.snapshot.version, timings)
