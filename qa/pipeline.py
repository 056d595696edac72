"""The answering pipeline: question -> retrieval -> evidence -> reading -> grounding -> decision -> cited answer.

``events`` runs the stages in order and yields what each produced as it happens (the standalone question, the
sources, an extractive draft, the generator's tokens, the final answer); ``run`` is the same pipeline drained
to its final answer. Everything needed to answer from one snapshot lives here and is swapped as a whole when a
new snapshot arrives.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import date

from core.config import Settings
from core.errors import GeneratorBusyError, GeneratorUnavailableError
from index.backends.base import IndexSnapshot
from index.embedding import Embedder
from index.retriever import HybridRetriever, RetrievalConfig, ScoredChunk, SearchFilters
from qa.assembly import AnswerAssembly
from qa.decision import DecisionModels, DecisionStage
from qa.evidence import EvidenceConfig, EvidenceStage, TermWeights
from qa.fallbacks import extractive_fallback, reads_with_generator
from qa.generation.models import profile
from qa.grounding import GroundingStage, keep_if_grounded
from qa.question import QuestionStage
from qa.readers.extractive import ExtractiveReader
from qa.readers.generative import GenerativeConfig, GenerativeReader, GeneratorProvider
from qa.records import Answer, AnswerMode, AskInput, Generated, Piece, Query, Signals, Turn
from qa.retrieval import RetrievalStage
from qa.timing import StageClock


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
                                      snapshot.sentences, cross_language=embedder.multilingual and retriever.mixed,
                                      multilingual=embedder.multilingual)
        self.extractive = ExtractiveReader(weights)
        self.generative = GenerativeReader(generator, GenerativeConfig(settings.generator.max_tokens)) \
            if generator is not None else None
        self.grounding = GroundingStage()
        self.assembly = AnswerAssembly(snapshot.version)
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
        clock = StageClock()
        query = self.question.run(request, self.default_mode, self.find_article, self.article_title)
        use_generator = reads_with_generator(query, self.generative is not None)
        clock.lap("question")
        yield QuestionEvent(query)
        retrieved = self.retrieval.run(query)
        clock.lap("retrieve")
        evidence = self.evidence.run(query, retrieved)
        clock.lap("evidence")
        yield SourcesEvent(evidence.hits[:query.top_k], self.snapshot.version)
        extracted = self.extractive.run(query, retrieved, evidence)
        checked = [self.grounding.run(query, extracted.span)]
        reading = keep_if_grounded(extracted, checked[0])
        clock.lap("read")
        draft = self.decision.run(query, retrieved, reading, None, "extractive")
        signals = Signals(extractive_answer=reading.span.text if reading.span else None,
                          extractive_score=round(reading.score, 4))
        if not use_generator or self.generative is None or not evidence.passages:
            yield FinalEvent(self.assembly.run(query, evidence, draft, checked, clock.timings, signals, final=True))
            return
        yield DraftEvent(self.assembly.run(query, evidence, draft, checked, clock.timings, signals, final=False))
        generated: Generated | None = None
        try:
            rival = reading.span.text if reading.span is not None else None
            for item in self.generative.stream(query, evidence, rival):
                if isinstance(item, Piece):
                    yield TokenEvent(item.text)
                else:
                    generated = item
        except (GeneratorBusyError, GeneratorUnavailableError) as exc:
            signals = replace(signals, generator=extractive_fallback(query, exc))
            yield FinalEvent(self.assembly.run(query, evidence, draft, checked, clock.timings, signals, final=True))
            return
        assert generated is not None
        checked.append(self.grounding.run(query, generated.span))
        generated = replace(generated, span=checked[-1].span)
        clock.lap("generate")
        gen = generated.generation
        clock.record("first_token", gen.first_token_seconds * 1000)
        signals = replace(signals, generated=generated.span.text if generated.span else None, raw=gen.raw[:200],
                          prompt_tokens=gen.prompt_tokens, cached_tokens=gen.cached_tokens)
        decision = self.decision.run(query, retrieved, reading, generated, self.generator_reader)
        clock.lap("decide")
        yield FinalEvent(self.assembly.run(query, evidence, decision, checked, clock.timings, signals, final=True))
