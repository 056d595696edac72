"""The orchestrator's policies in their own places: when the generator reads, what answers when it cannot, how
an ``Answer`` is assembled from candidates grounded once, and the typed signals and stage timings."""

from __future__ import annotations

import pytest

from core.documents import Article
from core.errors import GeneratorBusyError, GeneratorUnavailableError
from qa.assembly import AnswerAssembly
from qa.fallbacks import extractive_fallback, reads_with_generator
from qa.grounding import GroundingStage
from qa.question import analyze_question
from qa.records import AnswerMode, Decision, DecisionFeatures, Evidence, EvidenceSet, Query, Signals, Span
from qa.timing import StageClock

TEXT = "Centre news\n\nThe joint research centre was established in 2014. Five rounds were held."
ARTICLE = Article("c", "Centre news", TEXT, "c.txt", "h", "2021-01-11")
SENTENCE = Evidence(ARTICLE, TEXT.index("The joint"), TEXT.index(" Five"), 1, 0.8, 0.6, 0.7)
EVIDENCE = EvidenceSet((SENTENCE,), (), ())


def _query(mode: AnswerMode = AnswerMode.AUTO) -> Query:
    text = "When was the centre founded?"
    return Query(text, text, analyze_question(text), mode, 5)


def _span() -> Span:
    start = TEXT.index("2014")
    return Span(ARTICLE, start, start + 4, 1.0, SENTENCE)


def _decision(span: Span | None, answered: bool = True) -> Decision:
    return Decision(span, answered, 0.8, 0.5, "Found in the cited sentence.", "extractive", DecisionFeatures(),
                    "extractive")


def test_the_generator_reads_in_generative_and_auto_mode_and_is_required_in_generative() -> None:
    assert reads_with_generator(_query(AnswerMode.AUTO), generator_installed=True)
    assert not reads_with_generator(_query(AnswerMode.AUTO), generator_installed=False)
    assert not reads_with_generator(_query(AnswerMode.EXTRACTIVE), generator_installed=True)
    with pytest.raises(GeneratorUnavailableError, match="scripts/install.sh"):
        reads_with_generator(_query(AnswerMode.GENERATIVE), generator_installed=False)


def test_a_busy_generator_falls_back_only_in_auto_mode() -> None:
    busy = GeneratorBusyError("busy")
    assert extractive_fallback(_query(AnswerMode.AUTO), busy) == f"{busy.code}: answered extractively"
    with pytest.raises(GeneratorBusyError):
        extractive_fallback(_query(AnswerMode.GENERATIVE), busy)


def test_the_answer_takes_the_citation_grounding_already_made() -> None:
    query, span = _query(), _span()
    checked = [GroundingStage().run(query, span)]
    answer = AnswerAssembly("v1").run(query, EVIDENCE, _decision(span), checked, {"read": 1.0}, Signals(), True)
    assert answer.answer == "2014" and not answer.abstained and answer.citations == (checked[0].citation,)
    assert answer.signals.chosen == "extractive" and answer.signals.candidate == "2014"
    assert answer.snapshot == "v1" and answer.timings_ms == {"read": 1.0}


def test_a_span_grounding_never_checked_is_not_shown() -> None:
    query, span = _query(), _span()
    answer = AnswerAssembly("v1").run(query, EVIDENCE, _decision(span), [], {}, Signals(), True)
    assert answer.abstained and answer.answer is None and answer.citations == ()
    assert answer.signals.grounding == "was not checked against its article"


def test_an_abstention_keeps_the_decision_reason() -> None:
    query, span = _query(), _span()
    checked = [GroundingStage().run(query, span)]
    answer = AnswerAssembly("v1").run(query, EVIDENCE, _decision(span, answered=False), checked, {}, Signals(),
                                      True)
    assert answer.abstained and answer.reason == "Found in the cited sentence." and answer.signals.grounding is None


def test_signals_report_the_generator_part_only_when_it_read() -> None:
    extractive = Signals(extractive_answer="2014", extractive_score=0.7).as_dict()
    assert set(extractive) == {"extractive_answer", "extractive_score", "chosen", "candidate", "threshold", "reader"}
    generated = Signals(raw="2014", generated=None, prompt_tokens=200, cached_tokens=150).as_dict()
    assert generated["generated"] is None and generated["prompt_tokens"] == 200
    busy = Signals(generator="generator_busy: answered extractively").as_dict()["generator"]
    assert isinstance(busy, str) and busy.startswith("generator_busy")


def test_stage_times_are_laps_and_a_copy() -> None:
    clock = StageClock()
    clock.lap("question")
    early = clock.timings
    clock.lap("retrieve")
    clock.record("first_token", 12.5)
    assert list(early) == ["question"] and list(clock.timings) == ["question", "retrieve", "first_token"]
    assert all(v >= 0 for v in clock.timings.values()) and clock.timings["first_token"] == 12.5
