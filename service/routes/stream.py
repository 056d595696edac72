"""``POST /ask/stream``: the answer as Server-Sent Events, so the page shows sources before reading ends.

Events, in order: ``question`` (the standalone question), ``sources`` (ranked passages), ``draft`` (the
extractive answer, when the generator will read next), ``token`` (the generator's answer as it is written,
already a verbatim copy of a passage), ``final`` (the decided answer, as ``/ask`` returns it) or ``error``
(``{error, message, status}``). The stream always ends after ``final`` or ``error``.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import AsyncIterator, Callable
from typing import Any

from fastapi import APIRouter
from sse_starlette import EventSourceResponse, ServerSentEvent

from core.errors import ArticleQAError
from qa.pipeline import DraftEvent, FinalEvent, QuestionEvent, SourcesEvent, TokenEvent
from service.convert import ask_input, ask_response, passage
from service.deps import SettingsDep, StateDep
from service.errors import ERROR_RESPONSES, error_body, status_for
from service.schemas import AskRequest
from service.state import IndexState

log = logging.getLogger(__name__)
router = APIRouter()
Emit = Callable[[str, dict[str, Any]], None]
DONE: tuple[str, dict[str, Any]] = ("", {})


def answer_events(body: AskRequest, state: IndexState, emit: Emit) -> None:
    """Run the answering pipeline and pass each of its events on; every failure becomes an ``error`` event."""
    try:
        pipeline = state.pipeline
        for event in pipeline.events(ask_input(body)):
            if isinstance(event, QuestionEvent):
                emit("question", {"question": body.question, "rewritten_question": event.query.rewritten})
            elif isinstance(event, SourcesEvent):
                emit("sources", {"passages": [passage(h) for h in event.hits], "snapshot": event.snapshot})
            elif isinstance(event, DraftEvent):
                emit("draft", ask_response(event.answer).model_dump(mode="json"))
            elif isinstance(event, TokenEvent):
                emit("token", {"text": event.text})
            elif isinstance(event, FinalEvent):
                emit("final", ask_response(event.answer).model_dump(mode="json"))
    except ArticleQAError as exc:
        emit("error", {**error_body(exc.code, str(exc)), "status": status_for(exc)})
    except Exception as exc:  # the stream must end with a typed event, never break off
        log.exception("streamed answer failed")
        emit("error", {**error_body("internal_error", f"the answer failed: {type(exc).__name__}"), "status": 500})


async def _stream(body: AskRequest, state: IndexState) -> AsyncIterator[ServerSentEvent]:
    loop = asyncio.get_running_loop()
    queue: asyncio.Queue[tuple[str, dict[str, Any]]] = asyncio.Queue()

    def emit(event: str, data: dict[str, Any]) -> None:
        with contextlib.suppress(RuntimeError):  # the loop is gone after a shutdown: drop the event
            loop.call_soon_threadsafe(queue.put_nowait, (event, data))

    def work() -> None:
        try:
            answer_events(body, state, emit)
        finally:
            emit(*DONE)

    worker = loop.run_in_executor(None, work)
    while True:
        event, data = await queue.get()
        if not event:
            break
        yield ServerSentEvent(data=json.dumps(data, ensure_ascii=False), event=event)
    await worker


@router.post("/ask/stream", responses={200: {"content": {"text/event-stream": {}},
                                             "description": "Server-Sent Events: question, sources, draft?, "
                                             "token*, then final or error."}, **ERROR_RESPONSES},
             response_class=EventSourceResponse, tags=["questions"])
async def ask_stream(body: AskRequest, state: StateDep, settings: SettingsDep) -> EventSourceResponse:
    """Like ``/ask`` but streamed: sources first, then generator tokens, then the verified answer."""
    return EventSourceResponse(_stream(body, state), ping=settings.service.stream_ping_seconds,
                               headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"})
