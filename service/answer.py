"""The answering stage: question -> retrieval -> reading (extractive, generative or both) -> cited answer."""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import date
from enum import StrEnum

import numpy as np

from core.config import Settings
from core.errors import GeneratorBusyError, GeneratorUnavailableError, InvalidQuestionError
from index.analysis import analyze
from index.backends.base import IndexSnapshot
from index.embedding import Embedder
from index.retriever import HybridRetriever, RetrievalConfig, ScoredChunk, SearchFilters
from service import grounding, temporal
from service.confidence import ConfidenceModels
from service.generator import Generator, Proposal
from service.model_files import GeneratorProfile, profile
from service.question import Question, analyze_question
from service.reader import Evidence, ExtractiveReader, ReaderConfig, Reading, Span, TermWeights


def _overlaps(a: Span, b: Span) -> bool:
    return a.article.id == b.article.id and a.start < b.end and b.start < a.end


def _same_answer(a: str, b: str) -> bool:
    """Two answers agree when one's words contain the other's ("Ford" and "Ford Motor Co")."""
    wa, wb = analyze(a), analyze(b)
    if not wa or not wb:
        return False
    short, long = (wa, wb) if len(wa) <= len(wb) else (wb, wa)
    return any(long[i:i + len(short)] == short for i in range(len(long) - len(short) + 1))


@dataclass(frozen=True)
class Grounded:
    """The grounding check's verdict: the supported span with its score, or why there is none."""

    span: Span | None = None
    score: float = 0.0
    note: str = ""
    agrees: bool = False
    failure: str = ""


def rerank(hits: list[ScoredChunk], evidence: list[Evidence], weight: float) -> list[ScoredChunk]:
    """Lift passages whose article holds the best-matching sentence: sentence-level evidence ranks more sharply.

    Fused scores are scaled to the top hit; each article adds ``weight`` times its best evidence score.
    """
    if weight <= 0 or not hits or not evidence:
        return hits
    best: dict[str, float] = {}
    for ev in evidence:
        best[ev.article.id] = max(best.get(ev.article.id, 0.0), 0.6 * ev.coverage + 0.4 * ev.dense)
    top = max(h.score for h in hits) or 1.0
    ordered = sorted(hits, key=lambda h: -(h.score / top + weight * best.get(h.article.id, 0.0)))
    return [replace(h, rank=i) for i, h in enumerate(ordered, start=1)]


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

    def __init__(self, snapshot: IndexSnapshot, embedder: Embedder, settings: Settings,
                 generator: GeneratorProvider | None = None, confidence: ConfidenceModels | None = None) -> None:
        self.snapshot = snapshot
        self.confidence = confidence if confidence is not None else ConfidenceModels.load(settings.confidence_model)
        self.settings = settings
        self.embedder = embedder
        self.generator = generator
        self.profile = self._profile(settings)
        self.retriever = HybridRetriever(
            snapshot, embedder,
            RetrievalConfig(settings.retrieval_candidates, settings.rrf_k, settings.dense_weight,
                            settings.lexical_weight, settings.fusion),
        )
        self.reader = ExtractiveReader(
            TermWeights(*self.retriever.term_stats()), lambda texts: embedder.encode(texts, batch_size=16),
            ReaderConfig(),
        )

    @staticmethod
    def _profile(settings: Settings) -> GeneratorProfile:
        """The configured model's prompt shape and trust, with any setting overriding its own value."""
        base = profile(settings.generator_model)
        return GeneratorProfile(
            base.passages if settings.generator_passages is None else settings.generator_passages,
            base.neighbours if settings.generator_neighbours is None else settings.generator_neighbours,
            base.override_margin if settings.generator_override_margin is None else settings.generator_override_margin,
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
        filters, prefer = temporal.scope(text, filters, as_of, self.settings.recency_half_life_days,
                                         self.settings.recency_weight)
        result = self.retriever.search(text, max(k, self.reader.config.passages), filters, prefer)
        if on_sources is not None:
            on_sources(result.hits[:k])
        t1 = time.perf_counter()
        evidence = self.reader.evidence(parsed, result.hits, result.query_vector)
        reading = self.reader.read(parsed, result.hits, result.query_vector, evidence)
        t2 = time.perf_counter()
        timings = {"retrieve": (t1 - t0) * 1000, "read": (t2 - t1) * 1000}
        hits = rerank(result.hits, evidence, self.settings.evidence_rerank_weight)[:k]
        use_generator = chosen == AnswerMode.GENERATIVE or (
            chosen == AnswerMode.AUTO and reading.confidence < self.settings.auto_accept_confidence)
        features = self._features(parsed, reading, result.hits)
        signals: dict[str, float | str | None] = {
            "extractive_answer": reading.span.text if reading.span else None,
            "extractive_confidence": round(reading.confidence, 4),
        }
        if chosen == AnswerMode.GENERATIVE and self.generator is None:
            raise GeneratorUnavailableError(
                "generative answers need the local generator: run scripts/install.sh --generator "
                "(or ask with mode 'extractive')")
        if not use_generator or self.generator is None or not evidence:
            return self._extractive(text, reading, features, hits, chosen, timings, signals)

        t3 = time.perf_counter()
        windows = grounding.windows(evidence, self.profile.passages, self.profile.neighbours)
        try:
            proposal = self.generator().propose(text, [w.prompt_text(self.settings.generator_titles)
                                                       for w in windows], self.settings.generator_max_tokens, on_token)
        except GeneratorBusyError:
            if chosen != AnswerMode.AUTO:
                raise
            signals["generator"] = "busy: answered extractively"
            return self._extractive(text, reading, features, hits, chosen, timings, signals)
        timings["generate"] = (time.perf_counter() - t3) * 1000
        timings["first_token"] = proposal.first_token_seconds * 1000
        signals.update(generated=proposal.answer, generated_passage=proposal.passage, raw=proposal.raw[:200])
        if proposal.unusable:
            signals["generator"] = "unusable reply: answered extractively"
            return self._extractive(text, reading, features, hits, chosen, timings, signals)
        grounded = self._ground(parsed, proposal, windows, evidence, reading, result.query_vector)
        signals["grounded"] = "yes" if grounded.span is not None else f"no: {grounded.failure}"
        ext = reading.span
        span: Span | None = ext
        note = reading.reason
        signals["chosen"] = "extractive (generated answer unsupported)" if proposal.answer else \
            "extractive (the generator found no answer)"
        agree = False
        if grounded.span is not None:
            gen_span, gen_score, gen_note = grounded.span, grounded.score, grounded.note
            signals["generated_support"] = round(gen_score, 4)
            agree = grounded.agrees
            fuller = ext is not None and ext.article.id == gen_span.article.id and ext.start <= gen_span.start \
                and gen_span.end <= ext.end and (ext.start, ext.end) != (gen_span.start, gen_span.end)
            if fuller:
                signals["chosen"] = "extractive (contains the generated answer)"
                note = (ext.note if ext is not None else "") or reading.reason
            elif ext is not None and not agree and \
                    reading.confidence > gen_score + self.profile.override_margin:
                signals["chosen"] = "extractive (more confident, disagrees)"
            else:
                span, note = gen_span, gen_note
                signals["chosen"] = "generated"
        features.update(gen_none=float(proposal.answer is None), gen_grounded=float(grounded.span is not None),
                        gen_agree=float(agree), gen_chosen=float(signals["chosen"] == "generated"))
        if span is not None and span is not ext:
            features.update(self._span_features(parsed, span))
        confidence, threshold = self._calibrated("generative", features, reading.confidence)
        self._record(signals, features, span, confidence, threshold)
        if span is not None and confidence >= threshold:
            return self._answer(text, span, confidence, note, hits, chosen, timings, signals)
        reason = ("The model's answer was not found in the passages, so it is not shown."
                  if proposal.answer and grounded.span is None else
                  "The passages do not contain the answer." if proposal.answer is None else
                  "The answer was not supported strongly enough.")
        return self._abstain(text, Reading(None, reading.confidence, reason, evidence), hits, chosen, timings,
                             signals, confidence)

    def _extractive(self, text: str, reading: Reading, features: dict[str, float], hits: list[ScoredChunk],
                    mode: AnswerMode, timings: dict[str, float],
                    signals: dict[str, float | str | None]) -> AnswerResult:
        """The extractive span, answered or abstained on by the extractive confidence model."""
        confidence, threshold = self._calibrated("extractive", features, reading.confidence)
        self._record(signals, features, reading.span, confidence, threshold)
        if reading.span is not None and confidence >= threshold:
            return self._answer(text, reading.span, confidence, reading.reason, hits, mode, timings, signals)
        return self._abstain(text, reading, hits, mode, timings, signals, confidence)

    def _calibrated(self, mode: str, features: dict[str, float], fallback: float) -> tuple[float, float]:
        """The calibrated confidence and the threshold to answer at (the setting overrides the fitted one)."""
        model = self.confidence.model(mode)
        if model is None:
            threshold = self.settings.abstain_threshold if self.settings.abstain_threshold is not None else 0.35
            return fallback, threshold
        threshold = self.settings.abstain_threshold if self.settings.abstain_threshold is not None \
            else model.threshold
        return model.probability(features), threshold

    @staticmethod
    def _record(signals: dict[str, float | str | None], features: dict[str, float], span: Span | None,
                confidence: float, threshold: float) -> None:
        """Keep every candidate and its features in the signals, so calibration can replay any threshold."""
        signals["candidate"] = span.text if span is not None else None
        signals["calibrated_confidence"] = round(confidence, 4)
        signals["threshold"] = round(threshold, 4)
        signals.update({f"f_{k}": round(v, 4) for k, v in features.items()})

    def _features(self, question: Question, reading: Reading, hits: list[ScoredChunk]) -> dict[str, float]:
        """Retrieval scores and margins plus the reader's evidence for its span (zeros when it has none)."""
        dense = sorted(((h.dense_score or 0.0), h.article.id) for h in hits)[::-1]
        top_dense = dense[0][0] if dense else 0.0
        other = next((d for d, a in dense if dense and a != dense[0][1]), 0.0)
        lexical = max((h.lexical_score or 0.0) for h in hits) if hits else 0.0
        features = {"reader": reading.confidence, "top_dense": top_dense, "dense_margin": top_dense - other,
                    "lexical_top": math.log1p(lexical), "typed": float(question.answer_type != "entity"),
                    "coverage": 0.0, "dense": 0.0, "span_score": 0.0, "focus_missing": 0.0}
        if reading.span is not None:
            features.update(self._span_features(question, reading.span))
        return features

    @staticmethod
    def _span_features(question: Question, span: Span) -> dict[str, float]:
        ev = span.evidence
        focus = set(question.focus_stems)
        missing = bool(focus) and not (focus & set(analyze(ev.text)))
        return {"coverage": ev.coverage, "dense": ev.dense, "span_score": min(span.score, 3.0),
                "focus_missing": float(missing)}

    def _ground(self, question: Question, proposal: Proposal, windows: list[grounding.Window],
                evidence: list[Evidence], reading: Reading, query_vector: np.ndarray) -> Grounded:
        """The proposal as a verbatim article span, if a passage shown holds it and that passage fits the question.

        The named passage is tried first. "Fits" is judged on the whole window the model read (with its
        title), since the sentence holding an answer often does not repeat the question's words.
        """
        if proposal.answer is None:
            return Grounded(failure="the generator found no answer")
        named = proposal.passage if proposal.passage and 1 <= proposal.passage <= len(windows) else None
        order = ([windows[named - 1]] if named else []) + [w for i, w in enumerate(windows, 1) if i != named]
        found = next(((w, loc) for w in order if (loc := grounding.locate(proposal.answer, w)) is not None), None)
        if found is None:
            return Grounded(failure="not found in the passages")
        window, (start, end) = found
        article = window.article
        if article.text[start:end].lower() in question.text.lower():
            return Grounded(failure="repeats the question")
        s_start, s_end = grounding.sentence_around(article, start, end)
        sentence = article.text[s_start:s_end]
        previous = article.text[max(0, window.start - 300):window.start]
        coverage = max(self.reader.coverage(question, sentence, article.title, previous),
                       self.reader.coverage(question, window.text, article.title, previous))
        if coverage < self.settings.grounding_min_coverage:
            return Grounded(failure=f"its passage covers too little of the question ({coverage:.2f})")
        dense = next((ev.dense for ev in evidence if ev.article.id == article.id and ev.start == s_start), None)
        if dense is None:
            dense = float(self.embedder.encode([sentence])[0] @ query_vector)
        ev = Evidence(article, s_start, s_end, 0, coverage, dense, coverage)
        span = Span(article, start, end, 1.0, ev, "")
        agree = reading.span is not None and (_overlaps(reading.span, span)
                                              or _same_answer(reading.span.text, span.text))
        raw = -2.6 + 4.0 * coverage + 3.0 * max(dense, 0.0) + (1.0 if agree else 0.0)
        confidence = float(1.0 / (1.0 + math.exp(-raw)))
        note = "Generated, checked against the cited sentence" + (" and the extractive reader." if agree else ".")
        return Grounded(replace(span, note=note), confidence, note, agree)

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
                 timings: dict[str, float], signals: dict[str, float | str | None],
                 confidence: float | None = None) -> AnswerResult:
        reason = (reading.reason if reading.span is None
                  else "The best candidate answer was not supported strongly enough.")
        shown = reading.confidence if confidence is None else confidence
        return AnswerResult(question, None, True, round(min(max(shown, 0.0), 1.0), 4), reason, [], hits,
                            self.snapshot.version, mode.value, timings, signals)
