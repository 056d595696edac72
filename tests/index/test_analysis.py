"""The lexical analyser: English words stemmed; Chinese as characters plus adjacent-character bigrams."""

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
