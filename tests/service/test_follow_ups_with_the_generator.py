"""The seed follow-up ("Who wrote that article?" after the founding question) with the real generator, in every
mode and over every API: the byline reaches the model as a passage it may copy from, and "that article" is
named by its headline."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.conftest import LiveServer, needs_generator
from tests.service.test_openai_api import FOUNDED, MANCHESTER_ID, assert_cites, client, ext, user
from tests.service.test_stream import stream

FOLLOW_UP = "Who wrote that article?"
AUTHOR = "Lang Lang"
MODES = ["auto", "generative"]


def history() -> list[dict[str, str]]:
    return [{"role": "user", "content": FOUNDED}, {"role": "assistant", "content": "2014"}]


@needs_generator
@pytest.mark.parametrize("mode", MODES)
def test_the_follow_up_is_answered_from_the_byline_over_ask(live_server: LiveServer, mode: str) -> None:
    r = httpx.post(f"{live_server.url}/ask", json={"question": FOLLOW_UP, "history": history(), "mode": mode},
                   timeout=300)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["answer"] == AUTHOR and not body["abstained"], body
    assert body["citations"][0]["article_id"] == MANCHESTER_ID and AUTHOR in body["citations"][0]["quote"]


@needs_generator
@pytest.mark.parametrize("mode", MODES)
def test_the_follow_up_is_answered_from_the_byline_over_ask_stream(live_server: LiveServer, mode: str) -> None:
    events = stream(live_server, {"question": FOLLOW_UP, "history": history(), "mode": mode}, timeout=300)
    final = events[-1][1]
    assert events[-1][0] == "final" and final["answer"] == AUTHOR, final
    assert final["citations"][0]["article_id"] == MANCHESTER_ID


@needs_generator
@pytest.mark.parametrize("model", [f"article-qa-{m}" for m in MODES])
def test_the_follow_up_is_answered_from_the_byline_over_chat_completions(live_server: LiveServer, model: str) -> None:
    messages: list[Any] = [user(FOUNDED), {"role": "assistant", "content": "2014"}, user(FOLLOW_UP)]
    completion = client(live_server).chat.completions.create(model=model, messages=messages)
    extension = ext(completion)
    assert extension["answer"] == AUTHOR, extension
    assert_cites(live_server, extension, MANCHESTER_ID)
