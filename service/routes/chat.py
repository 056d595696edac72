"""``/v1``: an OpenAI-compatible chat API, so chat UIs, notebooks and agent frameworks can ask article-qa.

``POST /v1/chat/completions`` answers the last user message with the answering pipeline; the earlier messages
are the conversation (a follow-up is made standalone as on ``/ask``) and ``model`` picks the answer mode
(``GET /v1/models``). Streamed, the chunks are: the assistant role at once; nothing while the pipeline reads
(the generator's tokens are drafts that grounding may still replace, so a chat client never sees them); then
the decided answer, its Sources footer, and a chunk with ``finish_reason`` and the ``article_qa`` extension;
then ``data: [DONE]``. The streamed text is exactly the non-streamed message.
"""

from __future__ import annotations

import json
import logging
import time
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import asdict, dataclass
from typing import Any

from fastapi import APIRouter, Response
from sse_starlette import EventSourceResponse, ServerSentEvent
from starlette.concurrency import run_in_threadpool

from core.errors import ArticleQAError, InvalidChatRequestError, ModelNotFoundError, UnsupportedParameterError
from qa.pipeline import FinalEvent
from qa.records import Answer, AnswerMode, AskInput
from service import chat_text
from service.bridge import PipelineRun
from service.confidence import confidence_label
from service.convert import search_filters
from service.deps import MetricsDep, OpenAIKeyDep, RateLimitDep, SettingsDep, StateDep
from service.errors import openai_error_body, status_for
from service.metrics import Metrics
from service.openai_schemas import (
    AnyMessage,
    ArticleQAOptions,
    ArticleQAResult,
    AssistantMessageOut,
    ChatCompletion,
    ChatCompletionChunk,
    ChatCompletionRequest,
    Choice,
    ChunkChoice,
    Delta,
    Model,
    ModelInfo,
    ModelList,
    OpenAIErrorBody,
    Usage,
)
from service.schemas import Citation
from service.state import IndexState

log = logging.getLogger(__name__)
router = APIRouter(prefix="/v1", tags=["openai"], dependencies=[OpenAIKeyDep])
OPENAI_ERRORS: dict[int | str, dict[str, Any]] = {
    code: {"model": OpenAIErrorBody} for code in (400, 401, 404, 413, 429, 503)
}
STARTED = int(time.time())
DONE = "[DONE]"


@dataclass(frozen=True)
class ModelSpec:
    mode: AnswerMode | None  # None: the service's default (ARTICLE_QA_ANSWER_MODE)
    description: str
    needs_generator: bool = False


MODELS: dict[str, ModelSpec] = {
    "article-qa": ModelSpec(None, "The service's default answer mode (ARTICLE_QA_ANSWER_MODE)."),
    "article-qa-extractive": ModelSpec(AnswerMode.EXTRACTIVE, "The extractive reader: a verbatim span, fast."),
    "article-qa-generative": ModelSpec(AnswerMode.GENERATIVE, "The local language model's answer, kept only when "
                                       "it is found verbatim in a passage that covers the question.", True),
    "article-qa-auto": ModelSpec(AnswerMode.AUTO, "Extractive first, then the local language model when it is "
                                 "installed."),
}


def served_models(state: IndexState) -> dict[str, ModelSpec]:
    """The models this service can answer with: the generative one only when the generator is installed."""
    return {name: spec for name, spec in MODELS.items() if not spec.needs_generator or state.generator is not None}


def _model(name: str, spec: ModelSpec, default: str) -> Model:
    mode = (spec.mode or AnswerMode(default)).value
    return Model(id=name, created=STARTED, article_qa=ModelInfo(mode=mode, description=spec.description))


@router.get("/models", response_model=ModelList, responses=OPENAI_ERRORS)
def list_models(state: StateDep, settings: SettingsDep) -> ModelList:
    """The answer modes, as OpenAI model objects (``article_qa.mode`` says which reader each one uses)."""
    return ModelList(data=[_model(n, s, settings.decision.answer_mode) for n, s in served_models(state).items()])


@router.get("/models/{model}", response_model=Model, responses=OPENAI_ERRORS)
def get_model(model: str, state: StateDep, settings: SettingsDep) -> Model:
    return _model(model, _spec(model, state), settings.decision.answer_mode)


def _spec(model: str, state: IndexState) -> ModelSpec:
    spec = served_models(state).get(model)
    if spec is not None:
        return spec
    if model in MODELS:
        raise ModelNotFoundError(f"the model {model!r} needs the local generator, which is not installed "
                                 "(scripts/install.sh --generator)", "model")
    raise ModelNotFoundError(f"the model {model!r} does not exist here; GET /v1/models lists the answer modes: "
                             f"{', '.join(served_models(state))}", "model")


def refuse_unsupported(body: ChatCompletionRequest) -> None:
    """Refuse what the service cannot do (several choices, log probabilities, JSON output, forced tools); the
    sampling parameters are accepted and have no effect on an answer quoted from an article."""
    if body.n not in (None, 1):
        raise UnsupportedParameterError("only one choice is made: n must be 1", "n")
    if body.logprobs or body.top_logprobs:
        raise UnsupportedParameterError("log probabilities are not available: answers are quoted from the "
                                        "articles", "logprobs" if body.logprobs else "top_logprobs")
    if body.response_format is not None and body.response_format.type != "text":
        raise UnsupportedParameterError("only text responses are made (response_format type 'text')",
                                        "response_format")
    if body.tool_choice is not None and body.tool_choice not in ("none", "auto"):
        raise UnsupportedParameterError("article-qa answers with a message and never calls tools", "tool_choice")
    if body.modalities is not None and set(body.modalities) - {"text"}:
        raise UnsupportedParameterError("only text output is made (modalities ['text'])", "modalities")


def message_text(message: AnyMessage, where: str | None = None) -> str:
    """A message's text; a question (``where`` names it) must be text only."""
    if message.content is None or isinstance(message.content, str):
        return message.content or ""
    other = next((p.type for p in message.content if p.type != "text"), None)
    if where is not None and other is not None:
        raise UnsupportedParameterError(f"only text is read: the question has {other!r} content", where)
    return "\n".join(p.text or "" for p in message.content if p.type == "text")


def chat_input(body: ChatCompletionRequest, mode: AnswerMode | None, known: Callable[[str], bool]) -> AskInput:
    """The pipeline's request: the last message is the question, the ones before it the conversation."""
    *earlier, last = body.messages
    if last.role != "user":
        raise InvalidChatRequestError(f"the last message must be the user's question, not a {last.role!r} "
                                      "message", f"messages.[{len(body.messages) - 1}].role")
    question = message_text(last, f"messages.[{len(body.messages) - 1}].content")
    turns = chat_text.history([(m.role, message_text(m)) for m in earlier], known)
    options = body.article_qa or ArticleQAOptions()
    return AskInput(question, turns, options.top_k, search_filters(options.filters), mode, options.as_of)


def _words(text: str) -> int:
    return len(text.split())


@dataclass(frozen=True)
class Completion:
    """One chat completion's identity, shared by the response or by every chunk of its stream."""

    model: str
    snapshot: str
    prompt_words: int
    id: str = ""
    created: int = 0

    @classmethod
    def start(cls, model: str, snapshot: str, prompt_words: int) -> Completion:
        return cls(model, snapshot, prompt_words, f"chatcmpl-{uuid.uuid4().hex}", int(time.time()))

    def usage(self, message: chat_text.AssistantMessage) -> Usage:
        done = _words(message.text)
        return Usage(prompt_tokens=self.prompt_words, completion_tokens=done, total_tokens=self.prompt_words + done)

    def response(self, answer: Answer) -> ChatCompletion:
        message = chat_text.compose(answer)
        return ChatCompletion(id=self.id, created=self.created, model=self.model, system_fingerprint=self.snapshot,
                              choices=[Choice(message=AssistantMessageOut(content=message.text))],
                              usage=self.usage(message), article_qa=result(answer))

    def chunk(self, delta: Delta | None, finished: bool = False, extension: ArticleQAResult | None = None,
              usage: Usage | None = None) -> dict[str, Any]:
        """A chunk as OpenAI sends it: the delta holds only what it adds; ``usage`` and ``article_qa`` appear
        only on the chunks that carry them."""
        choices = [] if delta is None else [ChunkChoice(delta=delta, finish_reason="stop" if finished else None)]
        data = ChatCompletionChunk(id=self.id, created=self.created, model=self.model,
                                   system_fingerprint=self.snapshot, choices=choices, usage=usage,
                                   article_qa=extension).model_dump(mode="json")
        for choice in data["choices"]:
            choice["delta"] = {k: v for k, v in choice["delta"].items() if v is not None}
        return {k: v for k, v in data.items() if v is not None or k not in ("usage", "article_qa")}


def result(answer: Answer) -> ArticleQAResult:
    return ArticleQAResult(
        question=answer.question, rewritten_question=answer.rewritten_question, answer=answer.answer,
        abstained=answer.abstained, confidence=answer.confidence,
        confidence_label=confidence_label(answer.confidence, answer.abstained),
        reason=answer.reason, mode=answer.mode, snapshot=answer.snapshot,
        citations=[Citation(**asdict(c)) for c in answer.citations])


def _sse(data: dict[str, Any] | str) -> ServerSentEvent:
    return ServerSentEvent(data=data if isinstance(data, str) else json.dumps(data))


async def _chunks(run: PipelineRun, completion: Completion, include_usage: bool,
                  metrics: Metrics) -> AsyncIterator[ServerSentEvent]:
    yield _sse(completion.chunk(Delta(role="assistant", content="")))
    answer: Answer | None = None
    try:
        while (event := await run.next()) is not None:
            if isinstance(event, FinalEvent):
                answer = event.answer
        if answer is None:
            raise RuntimeError("the pipeline ended without an answer")
    except ArticleQAError as exc:
        yield _sse(openai_error_body(status_for(exc), exc.code, str(exc), getattr(exc, "param", None)))
        yield _sse(DONE)
        return
    except Exception as exc:  # the stream must end with an error chunk, never break off
        log.exception("streamed chat completion failed")
        yield _sse(openai_error_body(500, "internal_error", f"the answer failed: {type(exc).__name__}"))
        yield _sse(DONE)
        return
    metrics.observe_answer(answer)
    message = chat_text.compose(answer)
    yield _sse(completion.chunk(Delta(content=message.body)))
    if message.footer:
        yield _sse(completion.chunk(Delta(content=message.footer)))
    yield _sse(completion.chunk(Delta(), finished=True, extension=result(answer)))
    if include_usage:
        yield _sse(completion.chunk(None, usage=completion.usage(message)))
    yield _sse(DONE)


STREAM_RESPONSE = {"description": "The completion; with stream true, Server-Sent Events instead.",
                   "content": {"text/event-stream": {"schema": {
                       "type": "string", "description": "Lines 'data: <a chat.completion.chunk as JSON>' (the chunk "
                       "with finish_reason also carries article_qa), then 'data: [DONE]'."}}}}


@router.post("/chat/completions", response_model=ChatCompletion, dependencies=[RateLimitDep],
             responses={**OPENAI_ERRORS, 200: STREAM_RESPONSE})
async def chat_completions(body: ChatCompletionRequest, state: StateDep, settings: SettingsDep,
                           metrics: MetricsDep) -> Response | ChatCompletion:
    """Answer the last user message from the articles, in OpenAI's chat-completions format; the citations are
    numbered in the message text and listed in full in ``article_qa``."""
    refuse_unsupported(body)
    spec = _spec(body.model, state)
    pipeline = state.pipeline
    request = chat_input(body, spec.mode, pipeline.snapshot.articles.__contains__)
    completion = Completion.start(body.model, pipeline.snapshot.version,
                                  sum(_words(message_text(m)) for m in body.messages))
    if not body.stream:
        answer = await run_in_threadpool(pipeline.run, request)
        metrics.observe_answer(answer)
        return completion.response(answer)
    run = PipelineRun(pipeline, request)
    await run.next()  # the standalone question: a bad one is still a plain 400 before any stream starts
    include_usage = bool(body.stream_options and body.stream_options.include_usage)
    return EventSourceResponse(_chunks(run, completion, include_usage, metrics),
                               ping=settings.service.stream_ping_seconds,
                               headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"})
