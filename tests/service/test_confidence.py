"""The confidence in words that the API sends and the page shows."""

from __future__ import annotations

import pytest

from service.confidence import confidence_label


@pytest.mark.parametrize(("confidence", "abstained", "words"), [
    (0.93, False, "very likely right"), (0.7, False, "likely right"), (0.45, False, "may be right"),
    (0.2, False, "uncertain"), (0.9, True, "not in the articles")])
def test_confidence_in_words(confidence: float, abstained: bool, words: str) -> None:
    assert confidence_label(confidence, abstained) == words
