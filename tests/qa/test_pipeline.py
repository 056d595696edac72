"""The answering pipeline end to end with the real parts: seed questions in every mode, events, grounding."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from core.errors import InvalidQuestionError
from qa.pipeline import AnswerPipeline, DraftEvent, FinalEvent, QuestionEvent, SourcesEvent, TokenEvent
from qa.records import Answer, AnswerMode, AskInput
from tests.conftest import SEED_QUESTIONS

SEEDS = [json.loads(line) for line in SEED_QUESTIONS.read_text().splitlines() if line.strip()]

# Questions of the same kind written by the team (not the seed file), with strings the answer must hold.
MORE: list[tuple[str, list[str] | None]] = [
    ("Who wrote the article about the joint webinar?", ["Lang Lang"]),
    ("Who edited the article about the Manchester webinar?", ["Liu Xin"]),
    ("Which office is the source of the webinar article?", ["Office of International Cooperation"]),
    ("Who introduced the history and future plan of the two universities' cooperation?",
     ["Zhang Ning", "Nigel Hooper"]),
    ("Who made speeches at the opening ceremony?", ["Zhan Qimin", "Graham Lord"]),
    ("How many related laboratories does PolyU have?", ["90"]),
    ("In what field have PKUHSC and UoM cooperated for a long time?", ["medical genetics"]),
    ("When did PolyU and Peking University sign the memorandum?", ["24 February 2025"]),
    ("When was the opening ceremony of the webinar held?", ["January 11, 2021"]),
    ("How many thematic workshops does the webinar include?", ["five"]),
    ("Who won the 2018 Nobel Prize in Physics?", None),
    ("What is the population of Hong Kong?", None),
    ("How much did the webinar cost?", None),
]


def correct(result: Answer, expected: list[str], match_all: bool) -> bool:
    if result.answer is None:
        return False
    hits = [e.lower() in result.answer.lower() for e in expected]
    return all(hits) if match_all else any(hits)


def check_grounding(result: Answer, pipeline: AnswerPipeline) -> None:
    """Every quote is exactly its article's text at its offsets, and every answer sits inside a quote."""
    for citation in result.citations:
        article = pipeline.snapshot.articles[citation.article_id]
        assert article.text[citation.start:citation.end] == citation.quote
    if not result.abstained:
        assert result.answer and result.citations
        assert any(result.answer in c.quote for c in result.citations)


SeedAnswers = list[tuple[dict[str, Any], Answer]]


@pytest.fixture(scope="module")
def generated_seed_answers(generative: AnswerPipeline) -> Callable[[AnswerMode], SeedAnswers]:
    """The generator's answers to the seed questions, read once per mode and checked by several tests."""
    cache: dict[AnswerMode, SeedAnswers] = {}

    def answers(mode: AnswerMode) -> SeedAnswers:
        if mode not in cache:
            cache[mode] = [(q, generative.ask(q["question"], mode=mode)) for q in SEEDS]
        return cache[mode]

    return answers


def seed_answers(pipeline: AnswerPipeline, mode: AnswerMode) -> SeedAnswers:
    return [(q, pipeline.ask(q["question"], mode=mode)) for q in SEEDS]


def seed_failures(pipeline: AnswerPipeline, answers: SeedAnswers) -> list[dict[str, Any]]:
    wrong: list[dict[str, Any]] = []
    for q, result in answers:
        check_grounding(result, pipeline)
        if q.get("answerable", True):
            ok = correct(result, q["answers"], q.get("match") == "all")
            if ok:
                assert result.citations[0].source == q["source"]
        else:
            ok = result.abstained and result.answer is None and result.citations == ()
        if not ok:
            wrong.append({"q": q["question"], "got": result.answer, "signals": result.signals})
    return wrong


def test_seed_questions_extractive(extractive: AnswerPipeline) -> None:
    assert seed_failures(extractive, seed_answers(extractive, AnswerMode.EXTRACTIVE)) == []


@pytest.mark.parametrize("mode", [AnswerMode.GENERATIVE, AnswerMode.AUTO])
def test_seed_questions_with_the_generator(generative: AnswerPipeline,
                                          generated_seed_answers: Callable[[AnswerMode], SeedAnswers],
                                          mode: AnswerMode) -> None:
    assert seed_failures(generative, generated_seed_answers(mode)) == []


@pytest.mark.xfail(reason="target missed: calibrated on the public dev sets, the decision is under-confident on "
                          "the office's articles and shows some right seed answers below 0.5 (docs/evaluation.md, "
                          "'Calibration per dataset')")
def test_right_seed_answers_are_shown_as_likely_right(
        generated_seed_answers: Callable[[AnswerMode], SeedAnswers]) -> None:
    """A correct answer to a seed question is not shown with a low confidence (the page would say "uncertain")."""
    low = []
    for q, result in generated_seed_answers(AnswerMode.AUTO):
        if not q.get("answerable", True):
            continue
        if correct(result, q["answers"], q.get("match") == "all") and result.confidence < 0.5:
            low.append((q["question"], result.answer, result.confidence))
    assert low == []


def test_founding_year_acceptance(extractive: AnswerPipeline) -> None:
    result = extractive.ask("When was the Manchester joint centre founded?")
    assert result.answer == "2014" and not result.abstained
    assert result.citations[0].source == "pkuhsc-manchester-joint-webinar.txt"
    assert "2014" in result.citations[0].quote
    assert 0.0 <= result.confidence <= 1.0


@pytest.mark.parametrize(("question", "expected"), MORE)
def test_more_questions_of_the_same_kind(extractive: AnswerPipeline, question: str,
                                         expected: list[str] | None) -> None:
    result = extractive.ask(question)
    check_grounding(result, extractive)
    if expected is None:
        assert result.abstained and result.answer is None
    else:
        assert correct(result, expected, match_all=True), result.answer


def test_answers_are_short_spans_not_paragraphs(generated_seed_answers: Callable[[AnswerMode], SeedAnswers]) -> None:
    for _, result in generated_seed_answers(AnswerMode.AUTO):
        if result.answer:
            assert len(result.answer.split()) <= 16, result.answer


def test_events_come_in_order_and_end_with_the_final_answer(generative: AnswerPipeline) -> None:
    events = list(generative.events(AskInput("Which hospital has held the China-UK clinical genomics training "
                                             "program?", mode=AnswerMode.AUTO)))
    kinds = [type(e) for e in events]
    assert kinds[:3] == [QuestionEvent, SourcesEvent, DraftEvent]
    assert kinds[-1] is FinalEvent and kinds.count(FinalEvent) == 1
    tokens = "".join(e.text for e in events if isinstance(e, TokenEvent))
    final = events[-1]
    assert isinstance(final, FinalEvent) and final.answer.final
    draft = next(e for e in events if isinstance(e, DraftEvent))
    assert not draft.answer.final and draft.answer.mode == "extractive"
    assert final.answer.answer is not None and tokens.strip() == final.answer.answer


def test_extractive_mode_has_no_draft(generative: AnswerPipeline) -> None:
    kinds = [type(e) for e in generative.events(AskInput("When was the Manchester joint centre founded?",
                                                         mode=AnswerMode.EXTRACTIVE))]
    assert kinds == [QuestionEvent, SourcesEvent, FinalEvent]


@pytest.mark.parametrize("question", ["", "   \n\t ", "x" * 1001])
def test_bad_questions_are_refused(extractive: AnswerPipeline, question: str) -> None:
    with pytest.raises(InvalidQuestionError):
        extractive.ask(question)
