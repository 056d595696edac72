"""Chinese questions are typed by their question words, and Chinese counts, sums and years have their shapes."""

from __future__ import annotations

import numpy as np
import pytest

from core.documents import Article
from qa.evidence import Evidence, TermWeights
from qa.features import type_fit
from qa.question import analyze_question
from qa.readers.extractive import ExtractiveReader
from qa.records import AnswerType


@pytest.mark.parametrize(("question", "kind", "focus"), [
    ("中心总投资多少？", AnswerType.MONEY, ()),
    ("理大將在未來三年投入多少資金推動研究成果轉化？", AnswerType.MONEY, ()),
    ("临床模拟教学中心的建筑面积是多少？", AnswerType.NUMBER, ()),
    ("中心配备了多少台高仿真模拟人？", AnswerType.NUMBER, ("台",)),
    ("論壇共有多少場專題演講？", AnswerType.NUMBER, ("場",)),
    ("中心每年预计培训多少人次？", AnswerType.NUMBER, ("人",)),
    ("中心什么时候启用？", AnswerType.DATE, ()),
    ("联合研究中心是哪一年成立的？", AnswerType.DATE, ()),
    ("下一屆論壇將於何時舉行？", AnswerType.DATE, ()),
    ("护理学院院长是谁？", AnswerType.ENTITY, ()),  # a Chinese name has no shape to check
])
def test_a_chinese_question_is_typed_by_its_question_word(question: str, kind: AnswerType,
                                                          focus: tuple[str, ...]) -> None:
    analysis = analyze_question(question)
    assert (analysis.answer_type, analysis.focus) == (kind, focus)


def test_english_questions_are_typed_as_before() -> None:
    assert analyze_question("How many teams took part?").answer_type == AnswerType.NUMBER
    assert analyze_question("Who is the dean?").answer_type == AnswerType.PERSON
    assert analyze_question("What did the university sign?").answer_type == AnswerType.ENTITY


@pytest.mark.parametrize(("question", "answer", "fit"), [
    ("联合研究中心是哪一年成立的？", "2014年", 1.0),
    ("中心什么时候启用？", "2024年5月", 1.0),
    ("中心什么时候启用？", "5月20日", 1.0),
    ("中心什么时候启用？", "护理学院", 0.0),
    ("中心总投资多少？", "5800万元", 1.0),
    ("理大將投入多少資金？", "港幣2億元", 1.0),
    ("中心配备了多少台高仿真模拟人？", "八十二台", 1.0),
    ("中心配备了多少台高仿真模拟人？", "护理学院", 0.0),
    ("Who is the dean of the nursing school?", "孙宏玉", 0.5),
    ("Who is the dean of the nursing school?", "Sun Hongyu", 1.0),
    ("Who is the dean of the nursing school?", "the nursing school", 0.0),
])
def test_chinese_answers_have_the_shape_their_question_asks_for(question: str, answer: str, fit: float) -> None:
    assert type_fit(analyze_question(question), answer) == fit


def test_a_chinese_count_is_read_with_what_it_counts() -> None:
    text = "新闻\n\n中心于2024年启用，配备了82台高仿真模拟人，总投资5800万元，逾600名嘉宾出席。"
    article = Article("z", "新闻", text, "z.txt", "hz")
    start = text.index("中心")
    evidence = Evidence(article, start, len(text), 1, 1.0, 0.5, 1.0)
    reader = ExtractiveReader(TermWeights({"台": 0}, np.array([1]), 1))

    def spans(question: str) -> list[str]:
        return [c.span.text for c in reader.candidates(analyze_question(question), evidence)]

    assert "82台" in spans("中心配备了多少台高仿真模拟人？")
    assert "逾600名" in spans("有多少名嘉宾出席？")
    assert not any("2024" in s for s in spans("中心配备了多少台高仿真模拟人？")), "a year is not a count"
    assert "5800万元" in spans("中心总投资多少？")
    assert "2024年" in spans("中心哪一年启用？")
