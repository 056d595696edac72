"""The typed records the answering stages pass along: each stage's ``run`` returns one of these, frozen."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, fields
from datetime import date
from enum import StrEnum
from typing import Any

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
class SpanMatch:
    """Where a finished output sits: passage index and character offsets inside that passage's text."""

    passage: int
    start: int
    end: int


@dataclass(frozen=True)
class Piece:
    """A piece of the answer as the model writes it (already inside the constraint)."""

    text: str


@dataclass(frozen=True)
class SpanGeneration:
    """The finished constrained reading and the probabilities the decision learns from.

    Log-probabilities are under the model's own (unconstrained) distribution; ``allowed_mass`` is how much of
    its first step the constraint allowed (how readily it copies rather than writes).
    """

    text: str | None
    matches: tuple[SpanMatch, ...] = ()
    none_logprob: float = -math.inf
    span_logprob: float = 0.0
    first_logprob: float = 0.0
    min_logprob: float = 0.0
    allowed_mass: float = 0.0
    tokens: int = 0
    prompt_tokens: int = 0
    cached_tokens: int = 0
    seconds: float = 0.0
    first_token_seconds: float = 0.0
    raw: str = ""
    notes: tuple[str, ...] = field(default_factory=tuple)

    @property
    def said_none(self) -> bool:
        return self.text is None


@dataclass(frozen=True)
class Generated:
    """The generator's reading: its span in an article (or None: NONE, or nothing usable) and its probabilities."""

    span: Span | None
    generation: SpanGeneration
    passage: Passage | None
    passages: tuple[Passage, ...]
    extractive_scores: tuple[float, ...] | None = None


@dataclass(frozen=True)
class Grounded:
    """A checked answer with its citation, or why it cannot be shown."""

    span: Span | None
    citation: Citation | None
    failure: str = ""


@dataclass(frozen=True)
class DecisionFeatures:
    """Everything the decision may weigh, for the candidate answer it is deciding on (0 where not measured).

    Stored as-is in eval reports (``features``) and read back by ``calibrate``; the model of each reader uses
    the subset named in its ``features`` list.
    """

    top_dense: float = 0.0  # best dense similarity of a retrieved passage
    dense_margin: float = 0.0  # ... minus the best of another article
    lexical_top: float = 0.0  # log(1 + best BM25 score)
    reader: float = 0.0  # the extractive reader's own score for its span
    coverage: float = 0.0  # share of the question's weighted terms in the candidate's sentence
    dense: float = 0.0  # dense similarity of the candidate's sentence (or its passage's best sentence)
    span_score: float = 0.0  # the extractive span's shape fit
    typed: float = 0.0  # the question expects a date, number, amount, person or place
    type_fit: float = 0.0  # the candidate looks like what the question expects (a date for "when", ...)
    focus_missing: float = 0.0  # the candidate's sentence lacks the question's focus word
    extractive_none: float = 0.0  # the extractive reader found no span
    generated: float = 0.0  # the candidate is the generator's answer (else the extractive span)
    gen_none: float = 0.0  # the generator answered NONE
    none_prob: float = 0.0  # the generator's probability of starting "NONE"
    first_prob: float = 0.0  # its probability of the answer's first token
    mean_logprob: float = 0.0  # its mean log-probability per answer token
    min_prob: float = 0.0  # its least probable answer token
    copy_mass: float = 0.0  # its probability mass on tokens the span constraint allowed, at the first step
    agree: float = 0.0  # the generated and extractive answers agree
    passage_rank: float = 0.0  # 1 / rank of the passage the generated answer came from
    answer_words: float = 0.0  # log(1 + words in the candidate)
    field_value: float = 0.0  # the question asks for a credit or date line and the candidate is its value
    field_elsewhere: float = 0.0  # ... the cited article has that line, and the candidate is not in it
    focus_after: float = 0.0  # share of a "how many <noun>" question's focus words right after the candidate

    def as_dict(self) -> dict[str, float]:
        return {k: round(float(v), 5) for k, v in asdict(self).items()}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> DecisionFeatures:
        known = {f.name for f in fields(cls)}
        return cls(**{k: float(v) for k, v in data.items() if k in known and v is not None})


@dataclass(frozen=True)
class Candidate:
    """One reader's answer with its features and the probability the fitted model gives it."""

    span: Span
    source: str  # "generated" or "extractive"
    features: DecisionFeatures
    probability: float


@dataclass(frozen=True)
class Decision:
    """The decision stage's output: the best candidate, whether to show it, its calibrated confidence and why."""

    candidate: Span | None
    answered: bool
    confidence: float
    threshold: float
    reason: str
    chosen: str
    features: DecisionFeatures
    reader: str
    candidates: tuple[Candidate, ...] = ()

    @property
    def span(self) -> Span | None:
        """The answer to show, or None to abstain."""
        return self.candidate if self.answered else None


@dataclass(frozen=True)
class Signals:
    """What the stages reported about one answer besides the answer: for logs, eval reports and the API.

    The generator's part (``generated`` ... ``cached_tokens``) is present only when it read; ``generator`` says
    why it did not, ``grounding`` why the chosen candidate was refused.
    """

    extractive_answer: str | None = None
    extractive_score: float = 0.0
    chosen: str = ""
    candidate: str | None = None
    threshold: float = 0.0
    reader: str = ""
    generated: str | None = None
    raw: str | None = None
    prompt_tokens: int | None = None
    cached_tokens: int | None = None
    generator: str | None = None
    grounding: str | None = None

    def as_dict(self) -> dict[str, float | str | None]:
        out: dict[str, float | str | None] = {
            "extractive_answer": self.extractive_answer, "extractive_score": self.extractive_score}
        if self.raw is not None:
            out.update(generated=self.generated, raw=self.raw, prompt_tokens=self.prompt_tokens,
                       cached_tokens=self.cached_tokens)
        if self.generator is not None:
            out["generator"] = self.generator
        out.update(chosen=self.chosen, candidate=self.candidate, threshold=self.threshold, reader=self.reader)
        if self.grounding is not None:
            out["grounding"] = self.grounding
        return out


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
    signals: Signals = field(default_factory=Signals)
    features: dict[str, float] = field(default_factory=dict)
    candidates: tuple[dict[str, object], ...] = ()  # every reader's candidate with its features, for calibration

