"""The OpenAI-compatible chat API driven by the official ``openai`` client against a real server: seed questions
streamed and not, citations, follow-ups from the text of earlier messages, refused and ignored parameters in
OpenAI's error shape, and the optional API key."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any, cast

import httpx
import openai
import pytest
from openai import OpenAI

from index.embedding import Embedder
from service.routes.chat import MODELS, served_models
from tests.conftest import SEED_QUESTIONS, LiveServer, SeedIndex, needs_generator, start_server

MANCHESTER_ID = "pkuhsc-manchester-joint-webinar"
POLYU_ID = "polyu-pkuhsc-medical-technology-mou"
SEEDS = {q["id"]: q for q in map(json.loads, SEED_QUESTIONS.read_text().splitlines())}
FOUNDED = SEEDS["s01"]["question"]  # "When was the Manchester joint centre founded?" -> 2014
WHO_WROTE_IT = ('Who wrote the article "Peking University Health Science Center and the University of Manchester '
                'Hold a Joint Webinar"?')  # "Who wrote that article?" after FOUNDED: the cited article's headline
API_KEY = "sk-test-article-qa"


def client(server: LiveServer, api_key: str = "unused", retries: int = 0) -> OpenAI:
    return OpenAI(base_url=f"{server.url}/v1", api_key=api_key, max_retries=retries, timeout=120)


def user(text: str) -> Any:
    return {"role": "user", "content": text}


def assistant(text: str | None) -> Any:
    return {"role": "assistant", "content": text}


def ext(response: Any) -> dict[str, Any]:
    """The ``article_qa`` extension of a completion or chunk, as the openai client keeps an unknown field."""
    extension: dict[str, Any] = response.model_extra["article_qa"]
    return extension


def ask(server: LiveServer, messages: list[Any], model: str = "article-qa", **extra: Any) -> Any:
    return client(server).chat.completions.create(model=model, messages=messages, **extra)


def streamed(server: LiveServer, **request: Any) -> tuple[str, list[Any]]:
    """The message text and the chunks of a streamed completion, read by the openai client."""
    chunks = list(client(server).chat.completions.create(stream=True, **request))
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    return text, chunks


def article_text(server: LiveServer, article_id: str) -> str:
    text: str = httpx.get(f"{server.url}/articles/{article_id}", timeout=30).json()["text"]
    return text


def assert_cites(server: LiveServer, extension: dict[str, Any], article_id: str) -> None:
    """The extension's citations: the article, and a quote that is exactly its text between the offsets."""
    citation = extension["citations"][0]
    assert citation["article_id"] == article_id
    assert citation["quote"] == article_text(server, article_id)[citation["start"]:citation["end"]]
    assert {"title", "date", "url", "source"} <= set(citation)
    assert extension["answer"] in citation["quote"]


def test_the_client_lists_and_retrieves_the_answer_modes(live_server: LiveServer) -> None:
    models = client(live_server).models.list()
    ids = [m.id for m in models.data]
    assert ids[:2] == ["article-qa", "article-qa-extractive"] and set(ids) <= set(MODELS)
    assert all(m.object == "model" and m.owned_by == "article-qa" for m in models.data)
    found = client(live_server).models.retrieve("article-qa-extractive")
    assert found.id == "article-qa-extractive" and ext(found)["mode"] == "extractive"
    assert ext(client(live_server).models.retrieve("article-qa"))["mode"] == "extractive"
    with pytest.raises(openai.NotFoundError) as missing:
        client(live_server).models.retrieve("gpt-4o")
    assert missing.value.code == "model_not_found"


def test_the_generative_model_is_listed_only_with_the_generator() -> None:
    assert "article-qa-generative" not in served_models(cast(Any, SimpleNamespace(generator=None)))
    assert "article-qa-generative" in served_models(cast(Any, SimpleNamespace(generator=object())))


def test_a_seed_question_is_answered_with_its_citation(live_server: LiveServer) -> None:
    completion = client(live_server).chat.completions.create(model="article-qa", messages=[user(FOUNDED)])
    choice = completion.choices[0]
    assert completion.object == "chat.completion" and completion.model == "article-qa"
    assert choice.finish_reason == "stop" and choice.message.role == "assistant"
    content = choice.message.content or ""
    body, footer = content.split("\n\nSources:\n")
    assert body == "2014 [1]"
    assert footer.startswith("[1] Peking University Health Science Center and the University of Manchester Hold a "
                             "Joint Webinar (2021-01-11), article pkuhsc-manchester-joint-webinar: \"")
    extension = ext(completion)
    assert extension["answer"] == "2014" and extension["abstained"] is False
    assert_cites(live_server, extension, MANCHESTER_ID)
    assert completion.system_fingerprint == extension["snapshot"]
    assert completion.usage is not None and completion.usage.total_tokens == (
        completion.usage.prompt_tokens + completion.usage.completion_tokens) > 0
    plain = httpx.post(f"{live_server.url}/ask", json={"question": FOUNDED}, timeout=60).json()
    assert extension["citations"] == plain["citations"]


def test_a_streamed_answer_says_what_the_plain_one_says_and_ends_with_done(live_server: LiveServer) -> None:
    request: dict[str, Any] = {"model": "article-qa-extractive", "messages": [user(FOUNDED)]}
    plain = client(live_server).chat.completions.create(**request)
    text, chunks = streamed(live_server, stream_options={"include_usage": True}, **request)
    assert text == plain.choices[0].message.content and text.startswith("2014 [1]\n\nSources:\n[1] ")
    assert chunks[0].choices[0].delta.role == "assistant"
    assert len({c.id for c in chunks}) == 1 and all(c.object == "chat.completion.chunk" for c in chunks)
    finishing = [c for c in chunks if c.choices and c.choices[0].finish_reason]
    assert len(finishing) == 1 and finishing[0].choices[0].finish_reason == "stop"
    extension = ext(finishing[0])  # the last chunk with a choice carries the citations
    assert extension == ext(plain)
    assert_cites(live_server, extension, MANCHESTER_ID)
    assert chunks[-1].choices == [] and chunks[-1].usage.total_tokens == plain.usage.total_tokens

    with httpx.stream("POST", f"{live_server.url}/v1/chat/completions", json={**request, "stream": True},
                      timeout=60) as response:
        assert response.headers["content-type"].startswith("text/event-stream")
        data = [line for line in response.iter_lines() if line.startswith("data:")]
    assert data[-1] == "data: [DONE]" and len(data) == len(chunks)  # the same chunks less usage, then [DONE]


def test_an_abstention_is_a_normal_assistant_message(live_server: LiveServer) -> None:
    question = SEEDS["s14"]["question"]  # "Who won the 2022 football World Cup?"
    completion = client(live_server).chat.completions.create(model="article-qa", messages=[user(question)])
    assert completion.choices[0].finish_reason == "stop"
    assert completion.choices[0].message.content == "The articles do not hold the answer to this question."
    assert ext(completion)["abstained"] is True and ext(completion)["citations"] == []
    text, _ = streamed(live_server, model="article-qa", messages=[user(question)])
    assert text == completion.choices[0].message.content


def test_that_article_is_found_from_the_text_of_earlier_messages(live_server: LiveServer) -> None:
    first = client(live_server).chat.completions.create(model="article-qa", messages=[user(FOUNDED)])
    reply = first.choices[0].message.content or ""
    follow_up = [user(FOUNDED), {"role": "assistant", "content": reply}, user("Who wrote that article?")]
    second = client(live_server).chat.completions.create(model="article-qa", messages=follow_up)
    assert (second.choices[0].message.content or "").startswith("Lang Lang [1]\n\nSources:\n[1] ")
    assert ext(second)["rewritten_question"] == WHO_WROTE_IT
    assert_cites(live_server, ext(second), MANCHESTER_ID)
    text, chunks = streamed(live_server, model="article-qa", messages=follow_up)
    assert text == second.choices[0].message.content

    bare = [user(FOUNDED), {"role": "assistant", "content": "2014"}, user("Who wrote that article?")]
    plain_text = client(live_server).chat.completions.create(model="article-qa", messages=bare)
    assert ext(plain_text)["answer"] == "Lang Lang"
    assert_cites(live_server, ext(plain_text), MANCHESTER_ID)


def test_a_follow_up_about_the_other_article_is_answered_from_it(live_server: LiveServer) -> None:
    """The PolyU article names no author: the follow-up is read there only and never borrows Manchester's."""
    question = SEEDS["s07"]["question"]  # "How many graduates has PolyU trained in healthcare professions?"
    first = client(live_server).chat.completions.create(model="article-qa", messages=[user(question)])
    assert ext(first)["citations"][0]["article_id"] == POLYU_ID
    follow_up = [user(question), {"role": "assistant", "content": first.choices[0].message.content},
                 user("Who wrote that article?")]
    second = client(live_server).chat.completions.create(model="article-qa", messages=follow_up)
    extension = ext(second)
    assert "PolyU" in extension["rewritten_question"] and "Lang Lang" not in (second.choices[0].message.content or "")
    assert {c["article_id"] for c in extension["citations"]} <= {POLYU_ID}


def test_a_pronoun_follow_up_is_rewritten_from_the_conversation(live_server: LiveServer) -> None:
    first = "What is the PKUHSC-Manchester Joint Research Center for Medical Genetics?"
    reply = client(live_server).chat.completions.create(model="article-qa", messages=[user(first)])
    messages = [{"role": "system", "content": "You are a helpful assistant."}, user(first),
                {"role": "assistant", "content": reply.choices[0].message.content}, user("When was it founded?")]
    completion = client(live_server).chat.completions.create(model="article-qa", messages=messages)
    extension = ext(completion)
    assert extension["rewritten_question"] == (
        "When was the PKUHSC-Manchester Joint Research Center for Medical Genetics founded?")
    assert extension["answer"] == "2014"


def test_sampling_and_unknown_parameters_are_ignored(live_server: LiveServer) -> None:
    completion = client(live_server).chat.completions.create(
        model="article-qa", messages=[{"role": "user", "content": [{"type": "text", "text": FOUNDED}]}],
        temperature=1.7, top_p=0.1, max_tokens=1, max_completion_tokens=1, stop=["2014"], presence_penalty=1,
        frequency_penalty=-1, seed=7, user="someone", logit_bias={"123": 5}, n=1, logprobs=False,
        response_format={"type": "text"}, parallel_tool_calls=False, tool_choice="auto",
        tools=[{"type": "function", "function": {"name": "lookup", "parameters": {"type": "object"}}}],
        extra_body={"keep_alive": "5m", "options": {"num_ctx": 2048}})
    assert ext(completion)["answer"] == "2014"
    assert completion.choices[0].message.tool_calls is None


def test_the_retrieval_options_of_ask_travel_in_the_extension_field(live_server: LiveServer) -> None:
    later = ask(live_server, [user(FOUNDED)], extra_body={"article_qa": {"filters": {"published_after": "2024-01-01"},
                                                                        "top_k": 2}})
    assert MANCHESTER_ID not in {c["article_id"] for c in ext(later)["citations"]}  # published 2021-01-11
    as_of = ask(live_server, [user(FOUNDED)], extra_body={"article_qa": {"as_of": "2021-06-01"}})
    assert ext(as_of)["answer"] == "2014"
    with pytest.raises(openai.BadRequestError) as refused:
        ask(live_server, [user(FOUNDED)], extra_body={"article_qa": {"top_k": 0}})
    assert refused.value.param == "article_qa.top_k"


@pytest.mark.parametrize(("extra", "param"), [
    ({"n": 2}, "n"),
    ({"logprobs": True}, "logprobs"),
    ({"top_logprobs": 3}, "top_logprobs"),
    ({"response_format": {"type": "json_object"}}, "response_format"),
    ({"tool_choice": "required"}, "tool_choice"),
    ({"tool_choice": {"type": "function", "function": {"name": "lookup"}}}, "tool_choice"),
    ({"modalities": ["text", "audio"]}, "modalities"),
])
def test_parameters_asking_for_what_it_cannot_do_are_refused(live_server: LiveServer, extra: dict[str, Any],
                                                              param: str) -> None:
    for stream in (False, True):
        with pytest.raises(openai.BadRequestError) as refused:
            ask(live_server, [user(FOUNDED)], stream=stream, **extra)
        assert refused.value.status_code == 400 and refused.value.param == param
        assert refused.value.code == "unsupported_parameter" and refused.value.type == "invalid_request_error"


@pytest.mark.parametrize(("body", "status", "param", "code"), [
    ("not json", 400, None, "invalid_request"),
    ({"model": "article-qa"}, 400, "messages", "invalid_request"),
    ({"messages": []}, 400, "messages", "invalid_request"),
    ({"messages": [{"role": "wizard", "content": "x"}]}, 400, "messages.[0]", "invalid_request"),
    ({"messages": [{"role": "user"}]}, 400, "messages.[0].user.content", "invalid_request"),
    ({"messages": [user(FOUNDED), {"role": "assistant", "content": "2014"}]}, 400, "messages.[1].role",
     "invalid_request"),
    ({"messages": [user("   ")]}, 400, "messages", "invalid_question"),
    ({"messages": [user("why " * 400)]}, 400, "messages", "invalid_question"),
    ({"messages": [{"role": "user", "content": [{"type": "image_url", "image_url": {"url": "http://x/y.png"}}]}]},
     400, "messages.[0].content", "unsupported_parameter"),
    ({"messages": [user("\ud800 When?")]}, 400, "messages.[0].user.content", "invalid_request"),
    ({"model": "gpt-4o", "messages": [user(FOUNDED)]}, 404, "model", "model_not_found"),
    ({"messages": [user("x" * 70_000)]}, 413, None, "payload_too_large"),
])
def test_bad_requests_get_openais_error_shape_streamed_or_not(live_server: LiveServer, body: Any, status: int,
                                                              param: str | None, code: str) -> None:
    for stream in (False, True):
        payload = {**body, "stream": stream} if isinstance(body, dict) else body
        raw = payload if isinstance(payload, str) else json.dumps(payload)
        r = httpx.post(f"{live_server.url}/v1/chat/completions", content=raw, timeout=60,
                       headers={"content-type": "application/json"})
        assert r.status_code == status and r.headers["content-type"] == "application/json", r.text
        error = r.json()["error"]
        assert set(error) == {"message", "type", "param", "code"} and error["message"]
        assert (error["type"], error["code"]) == ("invalid_request_error", code)
        assert error["param"] == param


def test_other_routes_under_v1_answer_in_openais_error_shape(live_server: LiveServer) -> None:
    for method, path, status in (("POST", "/v1/embeddings", 404), ("GET", "/v1/chat/completions", 405)):
        r = httpx.request(method, f"{live_server.url}{path}", timeout=30)
        assert r.status_code == status and r.json()["error"]["type"] == "invalid_request_error"
    old = httpx.post(f"{live_server.url}/ask", json={"question": " "}, timeout=30)
    assert old.status_code == 422 and old.json()["error"] == "invalid_question"  # the rest of the API is unchanged


def test_the_chat_api_is_in_the_openapi_schema_with_every_reference_resolved(live_server: LiveServer) -> None:
    schema = httpx.get(f"{live_server.url}/openapi.json", timeout=30).json()
    assert {"/v1/chat/completions", "/v1/models", "/v1/models/{model}"} <= set(schema["paths"])
    chat = schema["paths"]["/v1/chat/completions"]["post"]["responses"]
    assert {"application/json", "text/event-stream"} <= set(chat["200"]["content"])
    assert chat["400"]["content"]["application/json"]["schema"]["$ref"].endswith("/OpenAIErrorBody")
    refs = set(re.findall(r'"\$ref": "([^"]+)"', json.dumps(schema)))
    assert refs and all(ref.removeprefix("#/components/schemas/") in schema["components"]["schemas"] for ref in refs)


@pytest.fixture()
def guarded(tmp_path: Path, seed_index: SeedIndex, embedder: Embedder) -> Iterator[LiveServer]:
    """A server whose chat API needs a key, with a small rate limit on questions."""
    server = start_server(tmp_path, seed_index, embedder, openai_api_key=API_KEY, rate_limit_per_minute=1.0,
                          rate_limit_burst=3)
    yield server
    server.stop()


def test_the_api_key_is_required_when_set(guarded: LiveServer) -> None:
    for wrong in ("unused", API_KEY + "x", API_KEY[:-1]):
        with pytest.raises(openai.AuthenticationError) as refused:
            client(guarded, wrong).chat.completions.create(model="article-qa", messages=[user(FOUNDED)])
        assert refused.value.code == "invalid_api_key"
        with pytest.raises(openai.AuthenticationError):
            client(guarded, wrong).models.list()
    r = httpx.post(f"{guarded.url}/v1/chat/completions", json={"messages": [user(FOUNDED)]}, timeout=30)
    assert r.status_code == 401 and r.json()["error"]["code"] == "invalid_api_key"
    assert r.headers["www-authenticate"] == "Bearer"

    assert [m.id for m in client(guarded, API_KEY).models.list().data][0] == "article-qa"
    answered = client(guarded, API_KEY).chat.completions.create(model="article-qa", messages=[user(FOUNDED)])
    assert ext(answered)["answer"] == "2014"
    stream = client(guarded, API_KEY).chat.completions.create(model="article-qa", messages=[user(FOUNDED)],
                                                              stream=True)
    assert "2014 [1]" in "".join(c.choices[0].delta.content or "" for c in stream if c.choices)
    assert httpx.get(f"{guarded.url}/articles", timeout=30).status_code == 200  # the key guards /v1 only

    with pytest.raises(openai.RateLimitError) as limited:  # the third question of the burst was /ask's
        httpx.post(f"{guarded.url}/ask", json={"question": FOUNDED}, timeout=30).raise_for_status()
        client(guarded, API_KEY).chat.completions.create(model="article-qa", messages=[user(FOUNDED)])
    assert limited.value.code == "rate_limited" and limited.value.response.headers["retry-after"]


@needs_generator
def test_the_generator_answers_and_only_its_decided_answer_is_streamed(live_server: LiveServer) -> None:
    question = SEEDS["s06"]["question"]  # "Which hospital has held the China-UK clinical genomics training program?"
    request: dict[str, Any] = {"model": "article-qa-generative", "messages": [user(question)]}
    assert "article-qa-generative" in [m.id for m in client(live_server).models.list().data]
    plain = client(live_server).chat.completions.create(**request)
    extension = ext(plain)
    assert extension["mode"] in {"generative", "extractive"} and extension["answer"]
    text, chunks = streamed(live_server, **request)
    assert text == plain.choices[0].message.content
    contents = [c.choices[0].delta.content for c in chunks if c.choices and c.choices[0].delta.content]
    assert contents[0] == f"{extension['answer']} [1]"  # no draft or raw generator token before the answer
    assert len(contents) == 2 and contents[1].startswith("\n\nSources:\n[1] ")
