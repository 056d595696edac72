"""``POST /ask/stream`` over a real server: event order, conversation history, typed errors."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from tests.conftest import LiveServer, needs_generator

MANCHESTER_ID = "pkuhsc-manchester-joint-webinar"


def stream(server: LiveServer, body: Any, timeout: float = 120) -> list[tuple[str, dict[str, Any]]]:
    """The events of one streamed answer, parsed from the raw text/event-stream body."""
    events: list[tuple[str, dict[str, Any]]] = []
    with httpx.stream("POST", f"{server.url}/ask/stream", json=body, timeout=timeout) as response:
        assert response.status_code == 200, response.read()
        assert response.headers["content-type"].startswith("text/event-stream")
        name, data = "message", list[str]()
        for line in response.iter_lines():
            if line == "":
                if data:
                    events.append((name, json.loads("\n".join(data))))
                name, data = "message", []
            elif line.startswith("event:"):
                name = line[6:].strip()
            elif line.startswith("data:"):
                data.append(line[5:].strip())
    return events


def test_sources_come_first_then_the_verified_answer(live_server: LiveServer) -> None:
    question = "When was the Manchester joint centre founded?"
    events = stream(live_server, {"question": question})
    assert [name for name, _ in events] == ["question", "sources", "final"]
    sources, final = events[1][1], events[2][1]
    assert sources["passages"] and sources["passages"][0]["article_id"] == MANCHESTER_ID
    assert sources["snapshot"] == final["snapshot"]
    assert final["answer"] == "2014" and final["abstained"] is False
    assert final["citations"][0]["article_id"] == MANCHESTER_ID and final["rewritten_question"] is None
    plain = httpx.post(f"{live_server.url}/ask", json={"question": question}, timeout=60).json()
    assert (final["answer"], final["citations"]) == (plain["answer"], plain["citations"])
    assert [p["chunk_id"] for p in sources["passages"]] == [p["chunk_id"] for p in final["passages"]]


def test_follow_up_is_answered_from_the_article_of_the_first_turn(live_server: LiveServer) -> None:
    alone = httpx.post(f"{live_server.url}/ask", json={"question": "When was it founded?"}, timeout=60).json()
    assert alone["abstained"] is True

    first = "What is the PKUHSC-Manchester Joint Research Center for Medical Genetics?"
    turn = httpx.post(f"{live_server.url}/ask", json={"question": first}, timeout=60).json()
    history = [{"question": first, "answer": turn["answer"],
                "article_ids": [c["article_id"] for c in turn["citations"]]}]
    body = {"question": "When was it founded?", "history": history}
    answer = httpx.post(f"{live_server.url}/ask", json=body, timeout=60).json()
    assert answer["question"] == "When was it founded?"
    assert answer["rewritten_question"] == (
        "When was the PKUHSC-Manchester Joint Research Center for Medical Genetics founded?")
    assert answer["answer"] == "2014" and answer["citations"][0]["article_id"] == MANCHESTER_ID

    events = dict(stream(live_server, body))
    assert events["question"]["rewritten_question"] == answer["rewritten_question"]
    assert events["final"]["answer"] == "2014"


def test_that_article_is_answered_from_the_cited_article_only(live_server: LiveServer) -> None:
    history = [{"question": "How many graduates has PolyU trained?", "answer": "over 52,000",
                "article_ids": ["polyu-pkuhsc-medical-technology-mou"]}]
    events = dict(stream(live_server, {"question": "Who wrote that article?", "history": history}))
    assert {p["article_id"] for p in events["sources"]["passages"]} == {"polyu-pkuhsc-medical-technology-mou"}
    history = [{"question": "When was the Manchester joint centre founded?", "answer": "2014",
                "article_ids": [MANCHESTER_ID]}]
    events = dict(stream(live_server, {"question": "Who wrote that article?", "history": history}))
    assert events["final"]["answer"] == "Lang Lang"


def test_errors_during_answering_are_a_typed_event(live_server: LiveServer) -> None:
    events = stream(live_server, {"question": "   "})
    assert events[-1] == ("error", {"error": "invalid_question", "message": "the question is empty", "status": 422})
    assert "final" not in [name for name, _ in events]


@pytest.mark.parametrize(("body", "needle"), [
    ({"question": "x", "history": "not a list"}, "history"),
    ({"question": "x", "history": [{"answer": "no question"}]}, "history.0.Turn.question"),
    ({"question": "x", "history": [{"question": "q"}] * 41}, "history"),
    ({"question": "x", "history": [{"role": "robot", "content": "hi"}]}, "history.0.ChatMessage.role"),
    ({"question": "x", "history": [{"question": "q", "extra": 1}]}, "extra"),
])
def test_bad_request_bodies_are_json_422_before_any_stream(live_server: LiveServer, body: Any, needle: str) -> None:
    for path in ("/ask/stream", "/ask"):
        r = httpx.post(f"{live_server.url}{path}", json=body, timeout=30)
        assert r.status_code == 422 and r.headers["content-type"] == "application/json"
        assert r.json()["error"] == "invalid_request" and needle in r.json()["message"]


@needs_generator
def test_the_draft_then_the_generators_tokens_stream_before_the_final_answer(live_server: LiveServer) -> None:
    events = stream(live_server, {"question": "Which hospital has held the China-UK clinical genomics training "
                                              "program?", "mode": "auto"}, timeout=300)
    names = [name for name, _ in events]
    assert names[:3] == ["question", "sources", "draft"] and names[-1] == "final"
    draft = events[2][1]
    assert draft["final"] is False and draft["mode"] == "extractive" and draft["answer"] == "PKU First Hospital"
    tokens = [data["text"] for name, data in events if name == "token"]
    assert tokens and names.index("token") < names.index("final")
    final = events[-1][1]
    assert final["mode"] == "generative" and final["final"] is True and final["confidence_label"]
    if not final["abstained"]:  # the shown answer is what the model wrote, a verbatim slice of its quote
        assert final["answer"] == "".join(tokens).strip()
        assert final["answer"] in final["citations"][0]["quote"]
