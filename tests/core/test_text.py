"""Text primitives on Chinese and mixed text: sentences, tokens and dates, with offsets exact."""

from __future__ import annotations

from datetime import date

from core.text import FULL_DATE, has_han, is_chinese, parse_date, sentence_spans, tokens, words

ZH = ("2024年5月20日，北京大学护理学院临床模拟教学中心在医学部校区正式启用。中心建筑面积3600平方米，"
      "设有46间模拟病房；可容纳400名学生！理大將於2025年1月14日舉行論壇？English follows. Next one.")


def test_chinese_sentences_end_at_chinese_marks_without_a_space() -> None:
    spans = sentence_spans(ZH)
    sentences = [ZH[a:b] for a, b in spans]
    assert sentences == ["2024年5月20日，北京大学护理学院临床模拟教学中心在医学部校区正式启用。",
                         "中心建筑面积3600平方米，设有46间模拟病房；", "可容纳400名学生！",
                         "理大將於2025年1月14日舉行論壇？", "English follows.", "Next one."]
    assert all(ZH[a:b] == s for (a, b), s in zip(spans, sentences, strict=True))


def test_a_han_character_is_a_token_of_its_own() -> None:
    found = tokens("面积3600平方米 PolyU's")
    assert [t for _, _, t in found] == ["面", "积", "3600", "平", "方", "米", "PolyU's"]
    assert all("面积3600平方米 PolyU's"[a:b] == t for a, b, t in found)
    assert words("理大 co-host") == ["理", "大", "co", "host"]


def test_chinese_dates_are_found_and_parsed() -> None:
    match = FULL_DATE.search("于2024年5月20日启用")
    assert match is not None and match.group(0) == "2024年5月20日"
    assert parse_date("2025年1月14日") == date(2025, 1, 14)
    assert parse_date("2025年2月30日") is None
    assert parse_date("24 February 2025") == date(2025, 2, 24)


def test_has_han_tells_chinese_from_english() -> None:
    assert has_han("論壇的主題是甚麼？") and has_han("PKUHSC和曼彻斯特") and not has_han("When was it founded?")


def test_a_text_is_chinese_when_it_is_written_in_chinese_not_when_it_names_something_chinese() -> None:
    assert is_chinese("論壇的主題是甚麼？") and is_chinese("PKUHSC和曼彻斯特大学的联合研究中心是哪一年成立的？")
    assert not is_chinese("The forum (大灣區健康科技論壇) drew more than 600 experts from Hong Kong and Macao.")
    assert not is_chinese("When was PolyU's Greater Bay Area health technology forum held?") and not is_chinese("")
