"""Schemathesis against the chat API's part of the OpenAPI schema: over 500 generated chat-completion requests,
valid and not, streamed and not, and never a 5xx.

Valid requests are steered towards being answered rather than refused: most name a served extractive model
instead of a random name, and most conversations that end with another role get a user's question (a seed
question or any text) appended. The
generator's models are left to test_openai_api.py: one generation takes seconds on this machine, and the
request handling fuzzed here is the same for every mode.
"""

from __future__ import annotations

import json
import os
from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from hypothesis.errors import Unsatisfiable
from schemathesis import APIOperation, GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.core.result import Ok

from index.embedding import Embedder
from tests.conftest import SEED_QUESTIONS, LiveServer, SeedIndex, start_server

CHAT = "POST /v1/chat/completions"
CHAT_EXAMPLES = int(os.environ.get("ARTICLE_QA_CHAT_FUZZ_EXAMPLES", "260"))  # per mode, valid and invalid
OTHER_EXAMPLES = 30
MIN_CHAT_REQUESTS = 500
MIN_ANSWERED = 40  # chat requests that reach an answer (about 50 with the default examples)
MODELS = st.sampled_from(["article-qa", "article-qa-extractive", None])  # None keeps the generated name
SEEDS = [json.loads(line)["question"] for line in SEED_QUESTIONS.read_text().splitlines()]
QUESTIONS = st.one_of(st.none(), st.sampled_from(SEEDS), st.text(min_size=1, max_size=300))  # None: as generated


@pytest.fixture(scope="module")
def chat_server(tmp_path_factory: pytest.TempPathFactory, seed_index: SeedIndex,
                embedder: Embedder) -> Iterator[LiveServer]:
    server = start_server(tmp_path_factory.mktemp("chat-fuzz"), seed_index, embedder)
    yield server
    server.stop()


def _fuzz(server: LiveServer, operation: APIOperation, mode: GenerationMode, sent: Counter[str],
          statuses: Counter[int], failures: list[str]) -> None:
    examples = CHAT_EXAMPLES if operation.label == CHAT else OTHER_EXAMPLES

    @settings(max_examples=examples, deadline=None, database=None, derandomize=True,
              phases=[Phase.explicit, Phase.generate], suppress_health_check=list(HealthCheck))
    @given(case=operation.as_strategy(mode), model=MODELS, question=QUESTIONS)
    def run(case: schemathesis.Case, model: str | None, question: str | None) -> None:
        body: Any = case.body
        if mode == GenerationMode.POSITIVE and isinstance(body, dict):
            if model is not None:
                body["model"] = model
            if question is not None and body["messages"][-1].get("role") != "user":
                body["messages"].append({"role": "user", "content": question})
        response = case.call(base_url=server.url, timeout=120)
        sent[operation.label] += 1
        if operation.label == CHAT:
            statuses[response.status_code] += 1
        try:
            case.validate_response(response, checks=[not_a_server_error])
        except BaseExceptionGroup as exc:
            failures.append(f"{operation.label} ({mode.value}): {exc.exceptions}\n{case.as_curl_command()}"[:2000])
        except AssertionError as exc:
            failures.append(f"{operation.label} ({mode.value}): {exc}\n{case.as_curl_command()}"[:2000])

    try:
        run()
    except Unsatisfiable:
        assert mode == GenerationMode.NEGATIVE, f"no valid request could be made for {operation.label}"


def test_generated_chat_requests_never_get_a_server_error(chat_server: LiveServer) -> None:
    schema = schemathesis.openapi.from_url(f"{chat_server.url}/openapi.json").include(path_regex="^/v1/")
    results = list(schema.get_all_operations())
    assert all(isinstance(r, Ok) for r in results), "the chat API's schema is valid"
    operations = [r.ok() for r in results if isinstance(r, Ok)]
    assert {op.label for op in operations} == {CHAT, "GET /v1/models", "GET /v1/models/{model}"}
    sent: Counter[str] = Counter()
    statuses: Counter[int] = Counter()
    failures: list[str] = []
    for operation in operations:
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            _fuzz(chat_server, operation, mode, sent, statuses, failures)

    assert not failures, "\n\n".join(failures[:10])
    assert sent[CHAT] >= MIN_CHAT_REQUESTS, dict(sent)
    assert statuses[200] >= MIN_ANSWERED and statuses[400] >= 100, dict(statuses)  # answered, and refused
