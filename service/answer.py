"""The answering stage: question -> retrieval -> reading (extractive, generative or both) -> cited answer."""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum

from core.config import Settings
from core.errors import GeneratorUnavailableError, InvalidQuestionError
from index.embedding import Embedder
from index.retriever import HybridRetriever, RetrievalConfig, ScoredChunk, SearchFilters
from index.snapshot import Snapshot
from service import grounding, temporal
from service.generator import Generator, Proposal
from service.question import Question, analyze_question
from service.reader import Evidence, ExtractiveReader, ReaderConfig, Reading, Span, TermWeights


def _overlaps(a: Span, b: Span) -> bool:
    return a.article.id == b.article.id and a.start < b.end and b.start < a.end


class AnswerMode(StrEnum):
    EXTRACTIVE = "extractive"
    GENERATIVE = "generative"
    AUTO = "auto"


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
    mode: str = "extractive"
    timings_ms: dict[str, float] = field(default_factory=dict)
    signals: dict[str, float | str | None] = field(default_factory=dict)


GeneratorProvider = Callable[[], Generator]


class Answerer:
    """Everything needed to answer from one snapshot; swapped as a whole when a new snapshot arrives."""

    def __init__(self, snapshot: Snapshot, embedder: Embedder, settings: Settings,
                 generator: GeneratorProvider | None = None) -> None:
        self.snapshot = snapshot
        self.settings = settings
        self.embedder = embedder
        self.generator = generator
        self.retriever = HybridRetriever(
            snapshot, embedder,
            RetrievalConfig(settings.retrieval_candidates, settings.rrf_k, settings.dense_weight,
                            settings.lexical_weight, settings.fusion),
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

    def ask(self, question: str, top_k: int | None = None, filters: SearchFilters | None = None,
            mode: AnswerMode | str | None = None, on_token: Callable[[str], None] | None = None,
            as_of: date | None = None,
            on_sources: Callable[[list[ScoredChunk]], None] | None = None) -> AnswerResult:
        """Answer from the snapshot; ``on_sources`` sees the ranked passages before reading starts."""
        t0 = time.perf_counter()
        text = self.validate(question)
        chosen = AnswerMode(mode or self.settings.answer_mode)
        k = min(top_k or self.settings.default_top_k, self.settings.max_top_k)
        parsed = analyze_question(text)
        filters, prefer = temporal.scope(text, filters, as_of, self.settings.recency_half_life_days)
        result = self.retriever.search(text, max(k, self.reader.config.passages), filters, prefer)
        if on_sources is not None:
            on_sources(result.hits[:k])
        t1 = time.perf_counter()
        evidence = self.reader.evidence(parsed, result.hits, result.query_vector)
        reading = self.reader.read(parsed, result.hits, result.query_vector, evidence)
        t2 = time.perf_counter()
        timings = {"retrieve": (t1 - t0) * 1000, "read": (t2 - t1) * 1000}
        hits = result.hits[:k]
        extractive_ok = reading.span is not None and reading.confidence >= self.settings.abstain_threshold
        use_generator = chosen == AnswerMode.GENERATIVE or (
            chosen == AnswerMode.AUTO and reading.confidence < self.settings.auto_accept_confidence)
        signals: dict[str, float | str | None] = {
            "extractive_answer": reading.span.text if reading.span else None,
            "extractive_confidence": round(reading.confidence, 4),
        }
        if chosen == AnswerMode.GENERATIVE and self.generator is None:
            raise GeneratorUnavailableError(
                "generative answers need the local generator: run scripts/install.sh --generator "
                "(or ask with mode 'extractive')")
        if not use_generator or self.generator is None or not evidence:
            if extractive_ok and reading.span is not None and chosen != AnswerMode.GENERATIVE:
                return self._answer(text, reading.span, reading.confidence, reading.reason, hits, chosen, timings,
                                    signals)
            return self._abstain(text, reading, hits, chosen, timings, signals)

        t3 = time.perf_counter()
        windows = grounding.windows(evidence, self.settings.generator_passages)
        proposal = self.generator().propose(text, [w.prompt_text() for w in windows],
                                            self.settings.generator_max_tokens, on_token)
        timings["generate"] = (time.perf_counter() - t3) * 1000
        timings["first_token"] = proposal.first_token_seconds * 1000
        signals.update(generated=proposal.answer, generated_passage=proposal.passage, raw=proposal.raw[:200])
        grounded = self._ground(parsed, proposal, windows, evidence, reading)
        signals["grounded"] = "yes" if grounded is not None else "no"
        ext = reading.span if extractive_ok else None
        if grounded is not None:
            span, confidence, note = grounded
            fuller = ext is not None and ext.article.id == span.article.id and ext.start <= span.start \
                and span.end <= ext.end and (ext.start, ext.end) != (span.start, span.end)
            if fuller and ext is not None:
                signals["chosen"] = "extractive (contains the generated answer)"
                return self._answer(text, ext, max(confidence, reading.confidence), ext.note or reading.reason,
                                    hits, chosen, timings, signals)
            if ext is not None and reading.confidence > confidence and not _overlaps(ext, span):
                signals["chosen"] = "extractive (more confident, disagrees)"
                return self._answer(text, ext, reading.confidence * 0.8, reading.reason, hits, chosen, timings,
                                    signals)
            if confidence >= self.settings.abstain_threshold:
                signals["chosen"] = "generated"
                return self._answer(text, span, confidence, note, hits, chosen, timings, signals)
        if ext is not None:
            signals["chosen"] = "extractive (generated answer unsupported)"
            return self._answer(text, ext, reading.confidence * 0.85, reading.reason, hits, chosen, timings, signals)
        reason = ("The model's answer was not found in the passages, so it is not shown."
                  if proposal.answer and grounded is None else
                  "The passages do not contain the answer." if proposal.answer is None else
                  "The answer was not supported strongly enough.")
        return self._abstain(text, Reading(None, reading.confidence, reason, evidence), hits, chosen, timings,
                             signals)

    def _ground(self, question: Question, proposal: Proposal, windows: list[grounding.Window],
                evidence: list[Evidence], reading: Reading) -> tuple[Span, float, str] | None:
        """The proposal as a verbatim article span, if it is in the passage it names and that passage fits."""
        if proposal.answer is None:
            return None
        named = proposal.passage if proposal.passage and 1 <= proposal.passage <= len(windows) else None
        order = ([windows[named - 1]] if named else []) + [w for i, w in enumerate(windows, 1) if i != named]
        found = next(((w, loc) for w in order if (loc := grounding.locate(proposal.answer, w)) is not None), None)
        if found is None:
            return None
        window, (start, end) = found
        article = window.article
        if article.text[start:end].lower() in question.text.lower():
            return None
        s_start, s_end = grounding.sentence_around(article, start, end)
        sentence = article.text[s_start:s_end]
        previous = article.text[max(0, s_start - 300):s_start]
        coverage = self.reader.coverage(question, sentence, article.title, previous)
        if coverage < self.reader.config.min_coverage:
            return None
        dense = next((ev.dense for ev in evidence if ev.article.id == article.id and ev.start == s_start), None)
        if dense is None:
            dense = float(self.embedder.encode([sentence])[0] @ self.embedder.encode_query(question.text))
        agree = reading.span is not None and reading.span.article.id == article.id and (
            reading.span.start < end and start < reading.span.end)
        raw = -2.6 + 4.0 * coverage + 3.0 * max(dense, 0.0) + (1.0 if agree else 0.0)
        confidence = float(1.0 / (1.0 + math.exp(-raw)))
        ev = Evidence(article, s_start, s_end, 0, coverage, dense, coverage)
        note = "Generated, checked against the cited sentence" + (" and the extractive reader." if agree else ".")
        return Span(article, start, end, 1.0, ev, note), confidence, note

    def _answer(self, question: str, span: Span, confidence: float, reason: str, hits: list[ScoredChunk],
                mode: AnswerMode, timings: dict[str, float], signals: dict[str, float | str | None]) -> AnswerResult:
        ev, article = span.evidence, span.article
        citation = CitationOut(
            article_id=article.id, title=article.title, date=article.date, source=article.source, url=article.url,
            quote=article.text[ev.start:ev.end], start=ev.start, end=ev.end,
        )
        return AnswerResult(question, span.text, False, round(confidence, 4), reason, [citation], hits,
                            self.snapshot.version, mode.value, timings, signals)

    def _abstain(self, question: str, reading: Reading, hits: list[ScoredChunk], mode: AnswerMode,
                 timings: dict[str, float], signals: dict[str, float | str | None]) -> AnswerResult:
        reason = (reading.reason if reading.span is None
                  else "The best candidate answer was not supported strongly enough.")
        return AnswerResult(question, None, True, round(min(reading.confidence, 1.0), 4), reason, [], hits,
                            self.snapshot.version, mode.value, timings, signals)
