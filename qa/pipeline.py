"""The answering pipeline: question -> retrieval -> evidence -> reading -> grounding -> decision -> cited answer.

``events`` runs the stages in order and yields what each produced as it happens (the standalone question, the
sources, an extractive draft, the generator's tokens, the final answer); ``run`` is the same pipeline drained
to its final answer. Everything needed to answer from one snapshot lives here and is swapped as a whole when a
new snapshot arrives.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import date

from core.config import Settings
from core.errors import GeneratorBusyError, GeneratorUnavailableError
from index.backends.base import IndexSnapshot
from index.embedding import Embedder
from index.retriever import HybridRetriever, RetrievalConfig, ScoredChunk, SearchFilters
from qa.decision import Decision, DecisionModels, DecisionStage
from qa.evidence import EvidenceConfig, EvidenceStage, TermWeights
from qa.generation.base import Piece
from qa.generation.models import profile
from qa.grounding import GroundingStage
from qa.question import QuestionStage
from qa.readers.extractive import ExtractiveReader
from qa.readers.generative import Generated, GenerativeConfig, GenerativeReader, GeneratorProvider
from qa.records import Answer, AnswerMode, AskInput, EvidenceSet, Query, Reading, Turn
from qa.retrieval import RetrievalStage


@dataclass(frozen=True)
class QuestionEvent:
    query: Query


@dataclass(frozen=True)
class SourcesEvent:
    hits: tuple[ScoredChunk, ...]
    snapshot: str


@dataclass(frozen=True)
class DraftEvent:
    """The extractive answer, shown at once while the generator reads; the final answer replaces it."""

    answer: Answer


@dataclass(frozen=True)
class TokenEvent:
    text: str


@dataclass(frozen=True)
class FinalEvent:
    answer: Answer


Event = QuestionEvent | SourcesEvent | DraftEvent | TokenEvent | FinalEvent


def evidence_config(settings: Settings) -> EvidenceConfig:
    """The evidence settings, with the generator model's own prompt shape where a setting leaves it open."""
    shape = profile(settings.generator.model)
    return EvidenceConfig(
        rerank_weight=settings.evidence.rerank_weight,
        window_limit=settings.generator.passages if settings.generator.passages is not None else shape.passages,
        window_sentences=(settings.generator.neighbours if settings.generator.neighbours is not None
                          else shape.neighbours),
        window_words=settings.generator.context_words if settings.generator.context_words is not None
        else shape.words,
    )


class AnswerPipeline:
    """All answering stages over one snapshot."""

    def __init__(self, snapshot: IndexSnapshot, embedder: Embedder, settings: Settings,
                 generator: GeneratorProvider | None = None, decisions: DecisionModels | None = None) -> None:
        self.snapshot = snapshot
        self.settings = settings
        self.embedder = embedder
        config = evidence_config(settings)
        retriever = HybridRetriever(snapshot, embedder, RetrievalConfig.of(settings.retrieval))
        weights = TermWeights(*retriever.term_stats(), config)
        self.question = QuestionStage(settings)
        self.retrieval = RetrievalStage(retriever, config.passages)
        self.evidence = EvidenceStage(weights, lambda texts: embedder.encode(texts, batch_size=16), config,
                                      snapshot.sentences)
        self.extractive = ExtractiveReader(weights)
        self.generative = GenerativeReader(generator, GenerativeConfig(settings.generator.max_tokens)) \
            if generator is not None else None
        self.grounding = GroundingStage()
        models = decisions if decisions is not None else DecisionModels.load(settings.decision.model)
        self.decision = DecisionStage(models, settings.decision.abstain_threshold)
        self.generator_reader = f"generative:{settings.generator.model}"

    @property
    def default_mode(self) -> AnswerMode:
        return AnswerMode(self.settings.decision.answer_mode)

    def search(self, query: str, k: int, filters: SearchFilters | None = None) -> list[ScoredChunk]:
        text = self.question.validate(query)
        return list(self.retrieval.retriever.search(text, k, filters).hits)

    def find_article(self, text: str) -> str | None:
        """The article an earlier turn was about, from its text alone (the best retrieved passage's article)."""
        hits = self.retrieval.retriever.search(text, 1).hits
        return hits[0].article.id if hits else None

    def article_title(self, article_id: str) -> str | None:
        article = self.snapshot.articles.get(article_id)
        return article.title if article is not None else None

    def ask(self, question: str, top_k: int | None = None, filters: SearchFilters | None = None,
            mode: AnswerMode | str | None = None, as_of: date | None = None,
            history: tuple[Turn, ...] = ()) -> Answer:
        return self.run(AskInput(question, history, top_k, filters, mode, as_of))

    def run(self, request: AskInput) -> Answer:
        final: Answer | None = None
        for event in self.events(request):
            if isinstance(event, FinalEvent):
                final = event.answer
        assert final is not None
        return final

    def events(self, request: AskInput) -> Iterator[Event]:
        timings: dict[str, float] = {}
        clock = time.perf_counter()

        def lap(name: str) -> None:
            nonlocal clock
            now = time.perf_counter()
            timings[name] = (now - clock) * 1000
            clock = now

        query = self.question.run(request, self.default_mode, self.find_article, self.article_title)
        use_generator = query.mode == AnswerMode.GENERATIVE or (
            query.mode == AnswerMode.AUTO and self.generative is not None)
        if query.mode == AnswerMode.GENERATIVE and self.generative is None:
            raise GeneratorUnavailableError(
                "generative answers need the local generator: run scripts/install.sh "
                "(or ask with mode 'extractive')")
        lap("question")
        yield QuestionEvent(query)
        retrieved = self.retrieval.run(query)
        lap("retrieve")
        evidence = self.evidence.run(query, retrieved)
        lap("evidence")
        yield SourcesEvent(evidence.hits[:query.top_k], self.snapshot.version)
        reading = self._grounded_reading(self.extractive.run(query, retrieved, evidence), query)
        lap("read")
        draft = self.decision.run(query, retrieved, reading, None, "extractive")
        signals: dict[str, float | str | None] = {
            "extractive_answer": reading.span.text if reading.span else None,
            "extractive_score": round(reading.score, 4)}
        if not use_generator or self.generative is None or not evidence.passages:
            yield FinalEvent(self._answer(query, evidence, draft, timings, signals, final=True))
            return
        yield DraftEvent(self._answer(query, evidence, draft, dict(timings), dict(signals), final=False))
        generated: Generated | None = None
        try:
            rival = reading.span.text if reading.span is not None else None
            for item in self.generative.stream(query, evidence, rival):
                if isinstance(item, Piece):
                    yield TokenEvent(item.text)
                else:
                    generated = item
        except (GeneratorBusyError, GeneratorUnavailableError) as exc:
            if query.mode != AnswerMode.AUTO:
                raise
            signals["generator"] = f"{exc.code}: answered extractively"
            yield FinalEvent(self._answer(query, evidence, draft, timings, signals, final=True))
            return
        assert generated is not None
        generated = replace(generated, span=self.grounding.run(generated.span, query.text).span)
        lap("generate")
        gen = generated.generation
        timings["first_token"] = gen.first_token_seconds * 1000
        signals.update(generated=generated.span.text if generated.span else None, raw=gen.raw[:200],
                       prompt_tokens=gen.prompt_tokens, cached_tokens=gen.cached_tokens)
        decision = self.decision.run(query, retrieved, reading, generated, self.generator_reader)
        lap("decide")
        yield FinalEvent(self._answer(query, evidence, decision, timings, signals, final=True))

    def _grounded_reading(self, reading: Reading, query: Query) -> Reading:
        """The reading with its span dropped when grounding refuses it (say, it only repeats the question)."""
        grounded = self.grounding.run(reading.span, query.text)
        if reading.span is None or grounded.span is not None:
            return reading
        return Reading(None, reading.score, f"The candidate answer {grounded.failure}.")

    def _answer(self, query: Query, evidence: EvidenceSet, decision: Decision, timings: dict[str, float],
                signals: dict[str, float | str | None], final: bool) -> Answer:
        hits = evidence.hits[:query.top_k]
        grounded = self.grounding.run(decision.span, query.text)
        candidate = decision.candidate.text if decision.candidate else None
        candidates = tuple({"text": c.span.text, "source": c.source, "probability": round(c.probability, 5),
                            "features": c.features.as_dict()} for c in decision.candidates)
        signals = {**signals, "chosen": decision.chosen, "candidate": candidate,
                   "threshold": round(decision.threshold, 4), "reader": decision.reader}
        mode = "generative" if decision.reader.startswith("generative") else "extractive"
        if grounded.span is None or grounded.citation is None:
            if decision.span is not None:
                signals["grounding"] = grounded.failure
            return Answer(query.asked, query.rewritten, None, True, round(decision.confidence, 4),
                          decision.reason if decision.span is None else f"Not shown: {grounded.failure}.", (),
                          hits, self.snapshot.version, mode, final, timings, signals,
                          decision.features.as_dict(), candidates)
        return Answer(query.asked, query.rewritten, grounded.span.text, False, round(decision.confidence, 4),
                      decision.reason, (grounded.citation,), hits, self.snapshot.version, mode, final, timings,
                      signals, decision.features.as_dict(), candidates)

