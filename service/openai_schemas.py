"""Request and response models of the OpenAI-compatible chat API (``/v1``), in OpenAI's wire format plus one
documented extension field, ``article_qa``, that carries the citations."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from service.schemas import Citation, Filters

MAX_MESSAGES = 200
MAX_CONTENT_CHARS = 20_000


def accepted(*values: object) -> dict[str, Any]:
    """The schema of a parameter whose other values are accepted by validation but refused with a 400 naming it."""
    return {"anyOf": [{"enum": list(values)}]}


class ContentPart(BaseModel):
    """One part of a message's content; only text parts are read."""

    model_config = ConfigDict(extra="allow")

    type: str = Field(..., max_length=50, description="'text' is read; other kinds are refused in the question.")
    text: str | None = Field(None, max_length=MAX_CONTENT_CHARS)


Content = Annotated[str, Field(max_length=MAX_CONTENT_CHARS)] | Annotated[list[ContentPart], Field(max_length=100)]


class _Message(BaseModel):
    model_config = ConfigDict(extra="ignore")

    name: str | None = Field(None, max_length=200)


class UserMessage(_Message):
    """A question; the last message must be one. Its content is text or text parts."""

    role: Literal["user"]
    content: (Annotated[str, Field(min_length=1, max_length=MAX_CONTENT_CHARS)]
              | Annotated[list[ContentPart], Field(min_length=1, max_length=100)])


class AssistantMessage(_Message):
    """An earlier answer; one this API wrote gives back the articles it cited."""

    role: Literal["assistant"]
    content: Content | None = None


class InstructionMessage(_Message):
    """A system or developer message: ignored, the answer is quoted from the articles."""

    role: Literal["system", "developer"]
    content: Content


class ToolMessage(_Message):
    """A tool's or function's result: ignored."""

    role: Literal["tool", "function"]
    content: Content | None = None


AnyMessage = UserMessage | AssistantMessage | InstructionMessage | ToolMessage
RequestMessage = Annotated[AnyMessage, Field(discriminator="role")]


class StreamOptions(BaseModel):
    model_config = ConfigDict(extra="ignore")

    include_usage: bool | None = Field(None, description="Send a last chunk with the usage (empty choices).")


class ResponseFormat(BaseModel):
    model_config = ConfigDict(extra="allow")

    type: str = Field(..., max_length=50, description="Only 'text' is supported.", json_schema_extra=accepted("text"))


class ArticleQAOptions(BaseModel):
    """Extension: what ``POST /ask`` can be told beyond the question."""

    model_config = ConfigDict(extra="forbid")

    top_k: int | None = Field(None, ge=1, le=50, description="How many passages to retrieve.")
    filters: Filters | None = None
    as_of: dt.date | None = Field(None, description="Answer as of this day: later articles are ignored.")


class ChatCompletionRequest(BaseModel):
    """OpenAI's chat-completions request. Sampling parameters are accepted and ignored (answers are quoted from
    the articles); parameters asking for what the service cannot do are refused with a 400; unknown ones are
    ignored."""

    model_config = ConfigDict(extra="ignore")

    model: str = Field("article-qa", min_length=1, max_length=200,
                       description="The answer mode, one of GET /v1/models: article-qa (the service's default), "
                                   "article-qa-extractive, article-qa-generative, article-qa-auto.")
    messages: list[RequestMessage] = Field(
        ..., min_length=1, max_length=MAX_MESSAGES,
        description="The conversation, oldest first; the last message is the user's question.")
    stream: bool | None = Field(False, description="Answer as Server-Sent Events chunks ending with data: [DONE].")
    stream_options: StreamOptions | None = None
    n: int | None = Field(None, description="Only 1 is supported.", json_schema_extra=accepted(1, None))
    temperature: float | None = Field(None, description="Ignored.")
    top_p: float | None = Field(None, description="Ignored.")
    max_tokens: int | None = Field(None, description="Ignored: answers are short quotes.")
    max_completion_tokens: int | None = Field(None, description="Ignored: answers are short quotes.")
    stop: str | list[str] | None = Field(None, description="Ignored.")
    presence_penalty: float | None = Field(None, description="Ignored.")
    frequency_penalty: float | None = Field(None, description="Ignored.")
    logit_bias: dict[str, float] | None = Field(None, description="Ignored.")
    seed: int | None = Field(None, description="Ignored: answers are deterministic.")
    user: str | None = Field(None, max_length=500, description="Ignored.")
    logprobs: bool | None = Field(None, description="Not supported when true.", json_schema_extra=accepted(False, None))
    top_logprobs: int | None = Field(None, description="Not supported above 0.", json_schema_extra=accepted(0, None))
    response_format: ResponseFormat | None = Field(None, description="Only {'type': 'text'} is supported.")
    tools: list[dict[str, Any]] | None = Field(None, max_length=128,
                                               description="Accepted, never called: the answer is a message.")
    tool_choice: str | dict[str, Any] | None = Field(None, description="'none' or 'auto'; forcing a tool is refused.",
                                                     json_schema_extra=accepted("none", "auto", None))
    parallel_tool_calls: bool | None = Field(None, description="Ignored.")
    modalities: list[str] | None = Field(
        None, max_length=4, description="Only ['text'] is supported.",
        json_schema_extra={"anyOf": [{"type": "array", "items": accepted("text"), "maxItems": 4}, {"type": "null"}]})
    article_qa: ArticleQAOptions | None = Field(None, description="Extension: retrieval options of POST /ask.")


class AssistantMessageOut(BaseModel):
    role: Literal["assistant"] = "assistant"
    content: str = Field(..., description="The answer with numbered references and a Sources footer, or a "
                                          "sentence saying the articles do not hold the answer.")
    refusal: None = None


class Choice(BaseModel):
    index: int = 0
    message: AssistantMessageOut
    finish_reason: Literal["stop"] = "stop"
    logprobs: None = None


class Usage(BaseModel):
    """Words, not model tokens: the extractive reader has no tokenizer."""

    prompt_tokens: int
    completion_tokens: int
    total_tokens: int


class ArticleQAResult(BaseModel):
    """Extension: the answer as ``POST /ask`` gives it, with its citations."""

    question: str
    rewritten_question: str | None = Field(None, description="The standalone question answered, for a follow-up.")
    answer: str | None = Field(..., description="The verbatim answer, or null when the service abstained.")
    abstained: bool
    confidence: float
    confidence_label: str
    reason: str | None = None
    mode: str = Field(..., description="Which reader produced the answer: extractive or generative.")
    snapshot: str
    citations: list[Citation] = Field(..., description="[n] in the message text is citations[n-1]; each quote is "
                                                       "exactly the article's text between start and end.")


class ChatCompletion(BaseModel):
    id: str
    object: Literal["chat.completion"] = "chat.completion"
    created: int
    model: str
    system_fingerprint: str | None = Field(None, description="The index snapshot that answered.")
    choices: list[Choice]
    usage: Usage
    article_qa: ArticleQAResult


class Delta(BaseModel):
    role: Literal["assistant"] | None = None
    content: str | None = None


class ChunkChoice(BaseModel):
    index: int = 0
    delta: Delta
    finish_reason: Literal["stop"] | None = None
    logprobs: None = None


class ChatCompletionChunk(BaseModel):
    """One streamed chunk; the one with ``finish_reason`` also carries ``article_qa``."""

    id: str
    object: Literal["chat.completion.chunk"] = "chat.completion.chunk"
    created: int
    model: str
    system_fingerprint: str | None = None
    choices: list[ChunkChoice]
    usage: Usage | None = None
    article_qa: ArticleQAResult | None = None


class ModelInfo(BaseModel):
    """Extension: what a model id means here."""

    mode: Literal["extractive", "generative", "auto"]
    description: str


class Model(BaseModel):
    id: str
    object: Literal["model"] = "model"
    created: int
    owned_by: str = "article-qa"
    article_qa: ModelInfo


class ModelList(BaseModel):
    object: Literal["list"] = "list"
    data: list[Model]


class OpenAIError(BaseModel):
    message: str
    type: str
    param: str | None = None
    code: str | None = None


class OpenAIErrorBody(BaseModel):
    error: OpenAIError
