"""The OpenAI-compatible server backend against a real llama.cpp server (``article-qa model-server``)."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator

import httpx
import pytest

from core.errors import GeneratorUnavailableError
from index.embedding import Embedder
from qa.generation.base import finish
from qa.generation.chat_server import ChatServerGenerator
from qa.generation.constraint import SpanConstraint
from qa.generation.prompts import PromptPassage, reading_messages
from qa.pipeline import AnswerPipeline
from qa.records import AnswerMode
from tests.conftest import ROOT, SeedIndex, free_port, needs_generator

pytestmark = needs_generator
PASSAGE = PromptPassage("Storm news", "2023-11-14", "Officials said 1,200 homes lost power on Tuesday.")


@pytest.fixture(scope="module")
def model_server() -> Iterator[str]:
    """``article-qa model-server`` (llama.cpp's llama-server) on 127.0.0.1, started and stopped here."""
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "cli.main", "model-server", "--port", str(port)], cwd=ROOT,
                            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    try:
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{url}/health", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert proc.poll() is None, proc.stderr.read().decode() if proc.stderr else "model server exited"
            time.sleep(0.3)
        else:
            pytest.fail("the model server did not become healthy")
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def test_grammar_decoding_is_verbatim_with_the_models_probabilities(model_server: str) -> None:
    generator = ChatServerGenerator(model_server)
    constraint = SpanConstraint([" ".join(PASSAGE.body.split())])
    result = finish(generator.read(reading_messages("How many homes lost power?", [PASSAGE]), constraint, 16))
    assert result.text is not None and result.text in PASSAGE.body and "1,200" in result.text
    assert result.matches and result.tokens >= 1 and -20 < result.first_logprob <= 0.0
    assert 0.0 < result.allowed_mass <= 1.0 and result.prompt_tokens > 100
    scores = generator.score(reading_messages("How many homes lost power?", [PASSAGE]), "Tuesday")
    assert scores and all(s <= 0.0 for s in scores)


def test_a_server_without_grammars_falls_back_to_locating_its_answer(model_server: str) -> None:
    generator = ChatServerGenerator(model_server, grammar=False)
    constraint = SpanConstraint([" ".join(PASSAGE.body.split())])
    result = finish(generator.read(reading_messages("How many homes lost power?", [PASSAGE]), constraint, 16))
    if result.text is not None:
        start, end = result.matches[0].start, result.matches[0].end
        assert PASSAGE.body[start:end].lower() == result.text.lower()
    else:
        assert result.raw.strip(), "a free reply that is not in the passage is refused, not shown"


def test_the_pipeline_answers_through_the_server(model_server: str, seed_index: SeedIndex,
                                                 embedder: Embedder) -> None:
    settings = seed_index.settings.override(generator_url=model_server)
    from qa.generation.models import generator_provider

    pipeline = AnswerPipeline(seed_index.snapshot, embedder, settings, generator_provider(settings))
    result = pipeline.ask("Which hospital has held the China-UK clinical genomics training program?",
                          mode=AnswerMode.GENERATIVE)
    assert result.mode == "generative" and result.signals.raw
    if not result.abstained:
        quote = result.citations[0].quote
        assert result.answer and result.answer in quote
        assert seed_index.snapshot.articles[result.citations[0].article_id].text[
            result.citations[0].start:result.citations[0].end] == quote


def test_an_unreachable_server_is_a_clear_error() -> None:
    generator = ChatServerGenerator(f"http://127.0.0.1:{free_port()}", timeout_seconds=2)
    with pytest.raises(GeneratorUnavailableError, match="failed"):
        finish(generator.read(reading_messages("q?", [PASSAGE]), SpanConstraint([PASSAGE.body]), 4))
