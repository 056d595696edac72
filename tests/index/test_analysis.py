"""The lexical analyser: English words stemmed; Chinese, in Simplified script, as characters plus adjacent-character
bigrams."""

from __future__ import annotations

from index.analysis import ANALYZER_VERSION, analyze, lexical_terms


def test_english_terms_are_unchanged_by_the_bigrams() -> None:
    assert lexical_terms("The joint centres were founded") == analyze("The joint centres were founded")
    assert analyze("The joint centres were founded") == ["joint", "center", "found"]


def test_chinese_terms_hold_characters_and_their_bigrams() -> None:
    terms = lexical_terms("护理学院 PolyU")
    assert terms[:5] == ["护", "理", "学", "院", "polyu"]
    assert set(terms[5:]) == {"护理", "理学", "学院"}
    assert ANALYZER_VERSION >= 2


def test_traditional_and_simplified_chinese_are_one_term() -> None:
    """A reader who types Simplified finds a Hong Kong article written in Traditional, and the reverse."""
    assert lexical_terms("大灣區健康科技論壇") == lexical_terms("大湾区健康科技论坛")
    assert "卫生" in lexical_terms("深圳市衞生健康委員會")  # the Hong Kong variant 衞 folds too
    assert analyze("Forum 論壇") == ["forum", "论", "坛"]
    assert ANALYZER_VERSION >= 3
