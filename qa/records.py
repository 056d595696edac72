"""The typed records the answering stages pass along: each stage's ``run`` returns one of these, frozen."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum

import numpy as np

from core.documents import Article
from index.retriever import DatePreference, ScoredChunk, SearchFilters


class AnswerMode(StrEnum):
    """How the answer is read: the rule-based extractive reader, the language model, or the best installed."""

    EXTRACTIVE = "extractive"
    GENERATIVE = "generative"
    AUTO = "auto"


class AnswerType(StrEnum):
    DATE = "date"
    NUMBER = "number"
    MONEY = "money"
    PERSON = "person"
    PLACE = "place"
    ENTITY = "entity"


@dataclass(frozen=True)
class Turn:
    """One earlier exchange, as the client remembers it (the service keeps no conversation state)."""

    question: str
    answer: str | None = None
    article_ids: tuple[str, ...] = ()
    rewritten_question: str | None = None

    @property
    def standalone(self) -> str:
        return self.rewritten_question or self.question


@dataclass(frozen=True)
class AskInput:
    """One question with everything that shapes its answer."""

    question: str
    history: tuple[Turn, ...] = ()
    top_k: int | None = None
    filters: SearchFilters | None = None
    mode: AnswerMode | str | None = None
    as_of: date | None = None


@dataclass(frozen=True)
class QuestionAnalysis:
    """What a question asks for: the expected answer type, its focus word and its content terms."""

    text: str
    answer_type: AnswerType
    focus: tuple[str, ...]
    terms: tuple[str, ...]
    meta_field: str | None = None
    surfaces: tuple[str, ...] = ()
    wants_name: bool = False

    @property
    def focus_stems(self) -> tuple[str, ...]:
        from index.analysis import stem

        return tuple(stem(f) for f in self.focus)


@dataclass(frozen=True)
class Query:
    """The question stage's output: the standalone question and how to search for it."""

    asked: str
    text: str
    analysis: QuestionAnalysis
    mode: AnswerMode
    top_k: int
    filters: SearchFilters | None = None
    prefer: DatePreference | None = None
    as_of: date | None = None

    @property
    def rewritten(self) -> str | None:
        """The standalone question when it differs from what was asked."""
        return self.text if self.text != " ".join(self.asked.split()) else None


@dataclass(frozen=True)
class Retrieved:
    hits: tuple[ScoredChunk, ...]
    query_vector: np.ndarray = field(compare=False)


@dataclass(frozen=True)
class Evidence:
    """A candidate sentence, located by article offsets, with how well it matches the question."""

    article: Article
    start: int
    end: int
    hit_rank: int
    coverage: float
    dense: float
    score: float

    @property
    def text(self) -> str:
        return self.article.text[self.start:self.end]


@dataclass(frozen=True)
class Passage:
    """A stretch of one article shown to the generator as one numbered passage."""

    article: Article
    start: int
    end: int
    rank: int

    @property
    def text(self) -> str:
        return self.article.text[self.start:self.end]


@dataclass(frozen=True)
class EvidenceSet:
    """The evidence stage's output: ranked sentences, re-ranked passages and the generator's passages."""

    sentences: tuple[Evidence, ...]
    hits: tuple[ScoredChunk, ...]
    passages: tuple[Passage, ...]


@dataclass(frozen=True)
class Span:
    """An answer as a slice of an article, with the sentence that supports it."""

    article: Article
    start: int
    end: int
    score: float
    evidence: Evidence
    note: str = ""

    @property
    def text(self) -> str:
        return self.article.text[self.start:self.end]


@dataclass(frozen=True)
class Reading:
    """The extractive reader's output: its span (or none), its own score and why."""

    span: Span | None
    score: float
    reason: str


@dataclass(frozen=True)
class Citation:
    article_id: str
    title: str
    date: str | None
    source: str
    url: str | None
    quote: str
    start: int
    end: int


@dataclass(frozen=True)
class Answer:
    """The cited answer (or the abstention) with everything that explains it."""

    question: str
    rewritten_question: str | None
    answer: str | None
    abstained: bool
    confidence: float
    reason: str
    citations: tuple[Citation, ...]
    hits: tuple[ScoredChunk, ...]
    snapshot: str
    mode: str
    final: bool = True
    timings_ms: dict[str, float] = field(default_factory=dict)
    signals: dict[str, float | str | None] = field(default_factory=dict)
    features: dict[str, float] = field(default_factory=dict)
    candidates: tuple[dict[str, object], ...] = ()  # every reader's candidate with its features, for calibration

