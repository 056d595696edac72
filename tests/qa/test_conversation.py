"""The follow-up rewriter: pronouns, 'that article' and ellipsis become a standalone question."""

from __future__ import annotations

from datetime import date

import pytest

from core.config import Settings
from index.retriever import SearchFilters
from qa.conversation import NoRewriter, RuleRewriter, get_rewriter, main_topic, turns_from_messages
from qa.question import QuestionStage
from qa.records import AnswerMode, AskInput
from qa.records import Turn as PastTurn

CENTRE = PastTurn("When was the Manchester joint centre founded?", "2014", ("pkuhsc-manchester-joint-webinar",))


@pytest.mark.parametrize(("question", "topic"), [
    ("When was the Manchester joint centre founded?", "the Manchester joint centre"),
    ("Tell me about the PKUHSC-Manchester Joint Research Center for Medical Genetics",
     "the PKUHSC-Manchester Joint Research Center for Medical Genetics"),
    ("How many graduates has PolyU trained?", "PolyU"),
    ("Which hospital has held the China-UK clinical genomics training program?",
     "the China-UK clinical genomics training program"),
    ("What is the tuition fee for the nursing programme at PolyU?", "the tuition fee for the nursing programme"),
    ("who?", None),
])
def test_main_topic(question: str, topic: str | None) -> None:
    assert main_topic(question) == topic


@pytest.mark.parametrize(("history", "question", "expected"), [
    ([PastTurn("What is the PKUHSC-Manchester Joint Research Center for Medical Genetics?")],
     "When was it founded?",
     "When was the PKUHSC-Manchester Joint Research Center for Medical Genetics founded?"),
    ([PastTurn("How many graduates has PolyU trained?", "over 52,000")],
     "Who did it sign a memorandum with?", "Who did PolyU sign a memorandum with?"),
    ([PastTurn("Tell me about the Manchester joint centre")],
     "What are its main fields?", "What are the Manchester joint centre's main fields?"),
    ([PastTurn("Who cohosted the opening ceremony of the joint webinar?", "Qiao Jie")],
     "What is her role?", "What is Qiao Jie's role?"),
    ([PastTurn("Who cohosted the opening ceremony of the joint webinar?", "Qiao Jie")],
     "When was she appointed?", "When was Qiao Jie appointed?"),
    ([PastTurn("Who cohosted the opening ceremony of the joint webinar?", "Qiao Jie")],
     "And when?", "When was the opening ceremony of the joint webinar?"),
    ([CENTRE], "What about the PolyU school?", "When was the PolyU school founded?"),
    ([CENTRE], "What happened there?", "What happened at the Manchester joint centre?"),
])
def test_follow_ups_become_standalone(history: list[PastTurn], question: str, expected: str) -> None:
    rewrite = RuleRewriter().rewrite(question, history)
    assert rewrite.question == expected
    assert rewrite.changed and rewrite.why


def test_that_article_points_at_the_cited_article() -> None:
    rewrite = RuleRewriter().rewrite("Who wrote that article?", [CENTRE])
    assert rewrite.question == "Who wrote the article about the Manchester joint centre?"
    assert rewrite.article_ids == frozenset({"pkuhsc-manchester-joint-webinar"})


@pytest.mark.parametrize("question", [
    "When was the Manchester joint centre founded?",  # already standalone
    "Is there a tuition fee for the nursing programme?",  # existential 'there', not a place
    "Which universities signed a memorandum of understanding?",
    "How many graduates has PolyU trained since it opened?",  # 'it' is PolyU, named in the question itself
])
def test_standalone_questions_are_left_alone(question: str) -> None:
    rewrite = RuleRewriter().rewrite(question, [CENTRE])
    assert rewrite.question == question and not rewrite.changed and rewrite.article_ids is None


def test_without_history_nothing_changes() -> None:
    assert RuleRewriter().rewrite("When was it founded?", []).question == "When was it founded?"


def test_chained_follow_ups_use_the_previous_standalone_question() -> None:
    history = [PastTurn("When was it founded?", "2014", (), rewritten_question=CENTRE.question)]
    assert RuleRewriter().rewrite("Who runs it?", history).question == "Who runs the Manchester joint centre?"


def test_only_recent_turns_are_considered() -> None:
    old = [CENTRE, PastTurn("ok?"), PastTurn("hmm?")]
    assert RuleRewriter(turns=3).rewrite("Where is it?", old).question == "Where is the Manchester joint centre?"
    assert RuleRewriter(turns=2).rewrite("Where is it?", old).question == "Where is it?"


def test_question_stage_narrows_filters_to_the_cited_article_and_keeps_the_rest() -> None:
    stage = QuestionStage(Settings())
    user = SearchFilters(published_after=date(2020, 1, 1))
    query = stage.run(AskInput("Who edited that article?", (CENTRE,), filters=user), AnswerMode.EXTRACTIVE)
    assert query.filters == SearchFilters(date(2020, 1, 1), None, None, frozenset({"pkuhsc-manchester-joint-webinar"}))
    untouched = stage.run(AskInput("When was it founded?", (CENTRE,), filters=user), AnswerMode.EXTRACTIVE)
    assert untouched.filters is user


def test_that_article_is_found_from_the_earlier_turns_text_alone() -> None:
    """Chat clients send text only: the article is the one the earlier question and answer are about."""
    asked: list[str] = []

    def find(text: str) -> str | None:
        asked.append(text)
        return "pkuhsc-manchester-joint-webinar"

    bare = PastTurn("When was the Manchester joint centre founded?", "2014")
    rewrite = RuleRewriter().rewrite("Who wrote that article?", [bare], find)
    assert rewrite.question == "Who wrote the article about the Manchester joint centre?"
    assert rewrite.article_ids == frozenset({"pkuhsc-manchester-joint-webinar"})
    assert asked == ["When was the Manchester joint centre founded? 2014"]
    assert RuleRewriter().rewrite("Who wrote that article?", [bare], lambda _: None).article_ids is None


def test_that_article_is_named_by_its_headline_when_the_title_is_known() -> None:
    """The headline is what the article's own passages match, so the model reads the right article's lines."""
    titles = {"pkuhsc-manchester-joint-webinar": "PKUHSC and Manchester Hold a Joint Webinar"}
    rewrite = RuleRewriter().rewrite("Who wrote that article?", [CENTRE], title_of=titles.get)
    assert rewrite.question == 'Who wrote the article "PKUHSC and Manchester Hold a Joint Webinar"?'
    assert rewrite.article_ids == frozenset({"pkuhsc-manchester-joint-webinar"})
    assert RuleRewriter().rewrite("Who wrote that article?", [CENTRE], title_of=lambda _: None).question == \
        "Who wrote the article about the Manchester joint centre?"


def test_chat_messages_become_turns() -> None:
    messages = [("system", "be brief"), ("user", "When was the Manchester joint centre founded?"),
                ("assistant", "2014 [1]"), ("user", "Who hosted it?"), ("user", "And when?")]
    assert turns_from_messages(messages) == (
        PastTurn("When was the Manchester joint centre founded?", "2014 [1]"), PastTurn("Who hosted it?"),
        PastTurn("And when?"))


def test_factory() -> None:
    assert isinstance(get_rewriter("rules"), RuleRewriter)
    assert NoRewriter().rewrite("When was it founded?", [CENTRE]).question == "When was it founded?"
    assert isinstance(get_rewriter("none"), NoRewriter)
    with pytest.raises(ValueError, match="unknown conversation rewriter"):
        get_rewriter("llm-that-does-not-exist")


def test_a_chinese_that_article_points_at_the_cited_article_by_its_headline() -> None:
    """"那篇文章是谁写的？" ("Who wrote that article?") after a question about a Chinese article."""
    nursing = PastTurn("护理学院院长是谁？", "孙宏玉", ("pkuhsc-nursing-simulation-center",))
    titles = {"pkuhsc-nursing-simulation-center": "北京大学护理学院临床模拟教学中心正式启用"}
    rewrite = RuleRewriter().rewrite("那篇文章是谁写的？", [nursing], title_of=titles.get)
    assert rewrite.question == "《北京大学护理学院临床模拟教学中心正式启用》是谁写的？"
    assert rewrite.article_ids == frozenset({"pkuhsc-nursing-simulation-center"})
    untitled = RuleRewriter().rewrite("這篇報道是誰撰文的？", [nursing], title_of=lambda _: None)
    assert untitled.question == "這篇報道是誰撰文的？"
    assert untitled.article_ids == frozenset({"pkuhsc-nursing-simulation-center"})
