"""``POST /ask/stream``: the answer as Server-Sent Events, so the page shows sources before reading ends.

Events, in order: ``question`` (the standalone question), ``sources`` (ranked passages), ``draft`` (the
extractive answer, when the generator will read next), ``token`` (the generator's answer as it is written,
already a verbatim copy of a passage), ``final`` (the decided answer, as ``/ask`` returns it) or ``error``
(``{error, message, status}``). The stream always ends after ``final`` or ``error``.
"""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator
from typing import Any

from fastapi import APIRouter
from sse_starlette import EventSourceResponse, ServerSentEvent

from core.errors import ArticleQAError
from qa.pipeline import DraftEvent, Event, QuestionEvent, SourcesEvent, TokenEvent
from service.bridge import PipelineRun
from service.convert import ask_input, ask_response, passage
from service.deps import SettingsDep, StateDep
from service.errors import ERROR_RESPONSES, error_body, status_for
from service.schemas import AskRequest
from service.state import IndexState

log = logging.getLogger(__name__)
router = APIRouter()


def _payload(body: AskRequest, event: Event) -> tuple[str, dict[str, Any]]:
    """The SSE event name and data of one pipeline event."""
    if isinstance(event, QuestionEvent):
        return "question", {"question": body.question, "rewritten_question": event.query.rewritten}
    if isinstance(event, SourcesEvent):
        return "sources", {"passages": [passage(h) for h in event.hits], "snapshot": event.snapshot}
    if isinstance(event, DraftEvent):
        return "draft", ask_response(event.answer).model_dump(mode="json")
    if isinstance(event, TokenEvent):
        return "token", {"text": event.text}
    return "final", ask_response(event.answer).model_dump(mode="json")


def _sse(name: str, data: dict[str, Any]) -> ServerSentEvent:
    return ServerSentEvent(data=json.dumps(data, ensure_ascii=False), event=name)


async def _stream(body: AskRequest, state: IndexState) -> AsyncIterator[ServerSentEvent]:
    """Each pipeline event as it happens; every failure becomes a typed ``error`` event that ends the stream."""
    try:
        run = PipelineRun(state.pipeline, ask_input(body))
        while (event := await run.next()) is not None:
            yield _sse(*_payload(body, event))
    except ArticleQAError as exc:
        yield _sse("error", {**error_body(exc.code, str(exc)), "status": status_for(exc)})
    except Exception as exc:  # the stream must end with a typed event, never break off
        log.exception("streamed answer failed")
        yield _sse("error", {**error_body("internal_error", f"the answer failed: {type(exc).__name__}"),
                             "status": 500})


@router.post("/ask/stream", responses={200: {"content": {"text/event-stream": {}},
                                             "description": "Server-Sent Events: question, sources, draft?, "
                                             "token*, then final or error."}, **ERROR_RESPONSES},
             response_class=EventSourceResponse, tags=["questions"])
async def ask_stream(body: AskRequest, state: StateDep, settings: SettingsDep) -> EventSourceResponse:
    """Like ``/ask`` but streamed: sources first, then generator tokens, then the verified answer."""
    return EventSourceResponse(_stream(body, state), ping=settings.service.stream_ping_seconds,
                               headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"})
