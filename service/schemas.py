"""Request and response models of the HTTP API; they are also the OpenAPI schema at ``/docs``."""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field


class Filters(BaseModel):
    """Optional restrictions on which articles may be used."""

    model_config = ConfigDict(extra="forbid")

    published_after: dt.date | None = Field(None, description="Only articles published on or after this day.")
    published_before: dt.date | None = Field(None, description="Only articles published on or before this day.")
    source: str | None = Field(None, description="Only articles whose source (file name or URL) equals this.")


class Turn(BaseModel):
    """One earlier exchange of the conversation, sent back by the client (the server keeps no state)."""

    model_config = ConfigDict(extra="forbid")

    question: str = Field(..., min_length=1, max_length=1000)
    answer: str | None = Field(None, max_length=2000)
    article_ids: list[str] = Field([], max_length=10, description="Articles the answer cited.")
    rewritten_question: str | None = Field(None, max_length=2000,
                                           description="The standalone form the service made of the question.")


class ChatMessage(BaseModel):
    """An earlier message in the chat-completions shape other chat APIs use."""

    model_config = ConfigDict(extra="forbid")

    role: Literal["system", "user", "assistant"]
    content: str = Field(..., max_length=4000)


class AskRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    question: str = Field(..., description="A question in plain language.",
                          examples=["When was the Manchester joint centre founded?"])
    top_k: int | None = Field(None, ge=1, le=50, description="How many passages to retrieve.")
    filters: Filters | None = None
    mode: Literal["extractive", "generative", "auto"] | None = Field(
        None, description="auto (default: an extractive draft, then the local language model's grounded answer "
                          "when it is installed), generative (the language model only) or extractive (rules, fast).")
    as_of: dt.date | None = Field(
        None, description="Answer as of this day: later articles are ignored, recent ones preferred when asked.")
    history: list[Turn | ChatMessage] = Field(
        [], max_length=40, description="Earlier turns, oldest first, as {question, answer} turns or as chat "
                                       "messages {role, content}; a follow-up question is rewritten with them.")


class Citation(BaseModel):
    article_id: str
    title: str
    date: str | None
    source: str
    url: str | None = None
    quote: str = Field(..., description="Exactly the cited article's text between start and end.")
    start: int
    end: int


class Passage(BaseModel):
    chunk_id: str
    article_id: str
    title: str
    date: str | None
    source: str
    url: str | None = None
    text: str = Field(..., description="The article's text between start and end.")
    start: int
    end: int
    score: float
    rank: int


class AskResponse(BaseModel):
    question: str
    mode: str = Field("extractive", description="Which reader produced the answer: generative or extractive.")
    answer: str | None
    abstained: bool
    confidence: float = Field(..., ge=0.0, le=1.0,
                              description="Calibrated probability that the answer is right (docs/evaluation.md).")
    confidence_label: str = Field("", description="The confidence in words: very likely right, likely right, "
                                                  "may be right, uncertain, or not in the articles.")
    final: bool = Field(True, description="False for the extractive draft streamed before the final answer.")
    reason: str | None = Field(None, description="Why the service abstained, or how it found the answer.")
    citations: list[Citation]
    passages: list[Passage]
    snapshot: str
    timings_ms: dict[str, float] = {}
    rewritten_question: str | None = Field(
        None, description="The standalone question actually answered, when the follow-up was rewritten.")


class SearchHit(Passage):
    dense_score: float | None = None
    lexical_score: float | None = None


class SearchResponse(BaseModel):
    query: str
    hits: list[SearchHit]
    snapshot: str


class ArticleSummary(BaseModel):
    id: str
    title: str
    date: str | None
    source: str
    url: str | None = None
    byline: str | None = None


class ArticleDetail(ArticleSummary):
    text: str = Field(..., description="Cleaned text; citation offsets refer to it.")
    editor: str | None = None
    source_office: str | None = None


class ArticleList(BaseModel):
    articles: list[ArticleSummary]
    total: int
    snapshot: str


class ArticleIn(BaseModel):
    """An article posted as JSON; stored in the articles folder as ``<slug>.json``."""

    model_config = ConfigDict(extra="forbid")

    title: str = Field(..., min_length=1, max_length=500)
    text: str = Field(..., min_length=1)
    date: dt.date | None = None
    url: str | None = Field(None, max_length=2000)
    authors: list[str] = []
    filename: str | None = Field(None, max_length=200, description="File name stem to save under.")


JobState = Literal["queued", "running", "succeeded", "failed"]


class Job(BaseModel):
    id: str
    kind: str
    state: JobState
    created_at: str
    started_at: str | None = None
    finished_at: str | None = None
    snapshot: str | None = None
    summary: dict[str, Any] | None = None
    error: str | None = None
    progress: dict[str, Any] | None = Field(None, description="{stage, done, total} while the job runs.")


class ArticleAccepted(BaseModel):
    article: ArticleSummary
    job: Job


class ErrorBody(BaseModel):
    error: str = Field(..., description="Stable machine-readable error code.")
    message: str
    detail: Any | None = None


class FeedbackIn(BaseModel):
    """A thumbs up or down on one answer, stored with what was shown."""

    model_config = ConfigDict(extra="forbid")

    question: str = Field(..., min_length=1, max_length=2000)
    answer: str | None = Field(None, max_length=5000)
    citations: list[Citation] = Field([], max_length=20)
    snapshot: str | None = Field(None, max_length=200)
    rating: Literal["up", "down"]
    comment: str | None = Field(None, max_length=2000)
    rewritten_question: str | None = Field(None, max_length=2000)


class FeedbackStored(BaseModel):
    id: int
    created_at: str
