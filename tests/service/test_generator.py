"""The real local generator (llama.cpp + packaged Qwen2.5 0.5B) and the grounding check around it."""

from __future__ import annotations

import json

import pytest

from core.config import Settings
from index.embedding import Embedder
from service.answer import Answerer, AnswerMode, _same_answer
from service.generator import Proposal, parse_reply
from service.grounding import Window, locate, windows
from service.question import analyze_question
from service.state import generator_provider
from tests.conftest import GENERATOR_MISSING, SEED_QUESTIONS, SeedIndex


@pytest.fixture(scope="module")
def generative(seed_index: SeedIndex, embedder: Embedder) -> Answerer:
    provider = generator_provider(Settings())
    if provider is None:
        pytest.skip(GENERATOR_MISSING)
    return Answerer(seed_index.snapshot, embedder, seed_index.settings, provider)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("2 | Ann Lee", (2, "Ann Lee")),
        ("[3] | 2014\n", (3, "2014")),
        ("1: \"Memorandum of Understanding\".", (1, "Memorandum of Understanding")),
        ("Reply: 4 | five rounds", (4, "five rounds")),
        ("52,000", (None, "52,000")),
        ("NONE", (None, None)),
        ("[1] NONE | NONE", (None, None)),
        ("", (None, None)),
    ],
)
def test_parse_reply(raw: str, expected: tuple[int | None, str | None]) -> None:
    assert parse_reply(raw) == expected


@pytest.mark.parametrize(
    ("raw", "unusable"),
    [("1, 2, 4", True), ("[1], [3] and [4]", True), ("2 | 3", False), ("1,300", False), ("2 | 1,300", False),
     ("3 | five", False), ("NONE", False)],
)
def test_reply_listing_only_passages_is_unusable(raw: str, unusable: bool) -> None:
    assert Proposal(*parse_reply(raw), raw, 0.1, 0.1).unusable is unusable


def test_locate_is_verbatim_but_tolerant(seed_index: SeedIndex) -> None:
    article = seed_index.snapshot.articles["pkuhsc-manchester-joint-webinar"]
    window = Window(article, 0, len(article.text))
    start, end = locate("established in 2014", window)  # type: ignore[misc]
    assert article.text[start:end] == "established in 2014"
    start, end = locate("5", window)  # type: ignore[misc]
    assert article.text[start:end] == "five"
    start, end = locate("qiao jie", window)  # type: ignore[misc]
    assert article.text[start:end] == "Qiao Jie"
    assert locate("founded in 2015", window) is None


def test_unsupported_proposal_is_never_grounded(answerer: Answerer) -> None:
    question = analyze_question("When was the Manchester joint centre founded?")
    result = answerer.retriever.search(question.text, 5)
    evidence = answerer.reader.evidence(question, result.hits, result.query_vector)
    reading = answerer.reader.read(question, result.hits, result.query_vector, evidence)
    shown = windows(evidence)
    made_up = Proposal(1, "in 1998", "1 | in 1998", 0.1, 0.1)
    refused = answerer._ground(question, made_up, shown, evidence, reading, result.query_vector)
    assert refused.span is None and refused.failure == "not found in the passages"
    echo = Proposal(1, "Manchester", "1 | Manchester", 0.1, 0.1)
    echoed = answerer._ground(question, echo, shown, evidence, reading, result.query_vector)
    assert echoed.failure == "repeats the question"
    real = Proposal(None, "2014", "2014", 0.1, 0.1)
    grounded = answerer._ground(question, real, shown, evidence, reading, result.query_vector)
    assert grounded.span is not None and grounded.span.text == "2014" and grounded.failure == ""


@pytest.mark.parametrize(
    ("a", "b", "same"),
    [("Ford", "Ford Motor Co", True), ("the White House", "White House", True), ("New York City", "York", True),
     ("$5", "$4.96", False), ("Squid Game", "South Korean", False), ("", "Japan", False)],
)
def test_same_answer_is_word_containment(a: str, b: str, same: bool) -> None:
    assert _same_answer(a, b) is same


def test_seed_questions_in_generative_mode(generative: Answerer) -> None:
    wrong = []
    generated = 0
    for q in (json.loads(line) for line in SEED_QUESTIONS.read_text().splitlines() if line.strip()):
        result = generative.ask(q["question"], mode=AnswerMode.GENERATIVE)
        assert result.mode == "generative" and "raw" in result.signals
        generated += result.signals.get("chosen") == "generated"
        for c in result.citations:
            assert generative.snapshot.articles[c.article_id].text[c.start:c.end] == c.quote
        if not q.get("answerable", True):
            ok = result.abstained and result.answer is None
        else:
            assert result.answer is None or any(result.answer in c.quote for c in result.citations)
            hits = [a.lower() in (result.answer or "").lower() for a in q["answers"]]
            ok = all(hits) if q.get("match") == "all" else any(hits)
        if not ok:
            wrong.append((q["question"], result.answer, result.signals.get("raw")))
    assert wrong == []
    assert generated >= 3, "the generator's own answers should carry some of the seed questions"


def test_auto_mode_skips_generator_when_extractive_is_sure(generative: Answerer) -> None:
    result = generative.ask("How many rounds has the China-UK training program of clinical genomics been held?",
                            mode=AnswerMode.AUTO)
    assert result.answer == "five" and "generate" not in result.timings_ms


def test_profile_trusts_the_larger_packaged_model_more(seed_index: SeedIndex, embedder: Embedder) -> None:
    from service.model_files import profile

    small, large, other = profile("qwen2.5-0.5b"), profile("qwen2.5-1.5b"), profile("/models/any-other.gguf")
    assert small.override_margin < large.override_margin and other == small
    settings = seed_index.settings.model_copy(update={"generator_model": "qwen2.5-1.5b", "generator_passages": 3})
    chosen = Answerer(seed_index.snapshot, embedder, settings).profile
    assert (chosen.passages, chosen.neighbours, chosen.override_margin) == (3, large.neighbours, large.override_margin)
