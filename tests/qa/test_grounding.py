"""The grounding stage: the safety assertion around every shown answer, and ``locate`` for free-text backends."""

from __future__ import annotations

import logging

import pytest

from core.documents import Article
from qa.grounding import GroundingStage, keep_if_grounded, locate
from qa.question import analyze_question
from qa.records import AnswerMode, Evidence, Query, Reading, Span

TEXT = "Centre news\n\nThe joint research centre was established in 2014. Five rounds were held."
ARTICLE = Article("c", "Centre news", TEXT, "c.txt", "h", "2021-01-11")
SENTENCE = Evidence(ARTICLE, TEXT.index("The joint"), TEXT.index(" Five"), 1, 0.8, 0.6, 0.7)


def _span(text: str, evidence: Evidence = SENTENCE) -> Span:
    start = TEXT.index(text)
    return Span(ARTICLE, start, start + len(text), 1.0, evidence)


def _query(text: str) -> Query:
    return Query(text, text, analyze_question(text), AnswerMode.EXTRACTIVE, 5)


def test_a_verbatim_answer_is_cited_by_its_sentence() -> None:
    grounded = GroundingStage().run(_query("When was the centre founded?"), _span("2014"))
    assert grounded.span is not None and grounded.citation is not None
    c = grounded.citation
    assert TEXT[c.start:c.end] == c.quote == "The joint research centre was established in 2014."
    assert "2014" in c.quote and c.article_id == "c"


def test_an_answer_outside_its_quote_is_never_shown(caplog: pytest.LogCaptureFixture) -> None:
    elsewhere = Evidence(ARTICLE, TEXT.index("Five"), len(TEXT), 1, 0.5, 0.5, 0.5)
    bad = Span(ARTICLE, 0, 0, 1.0, elsewhere)  # empty: a bug upstream, not an answer
    with caplog.at_level(logging.ERROR, logger="qa.grounding"):
        grounded = GroundingStage().run(_query("When?"), bad)
    assert grounded.span is None and grounded.failure == "not a verbatim slice of the cited passage"
    assert "grounding violation" in caplog.text


def test_an_answer_that_repeats_the_question_is_refused() -> None:
    question = _query("When was the joint research centre founded?")
    grounded = GroundingStage().run(question, _span("joint research centre"))
    assert grounded.span is None and grounded.failure == "repeats the question"
    reading = keep_if_grounded(Reading(_span("joint research centre"), 0.7, "Found."), grounded)
    assert reading.span is None and reading.score == 0.7
    assert reading.reason == "The candidate answer repeats the question."
    kept = Reading(_span("2014"), 0.9, "Found.")
    assert keep_if_grounded(kept, GroundingStage().run(question, kept.span)) is kept


def test_locate_is_verbatim_but_tolerant() -> None:
    start, end = locate("established in 2014", TEXT)  # type: ignore[misc]
    assert TEXT[start:end] == "established in 2014"
    start, end = locate("5 rounds", TEXT) or (0, 0)
    assert (start, end) == (0, 0), "digits match spelled-out numbers only when alone"
    start, end = locate("5", TEXT)  # type: ignore[misc]
    assert TEXT[start:end] == "Five"
    assert locate("founded in 2015", TEXT) is None
