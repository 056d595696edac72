"""The calibrated confidence in words, as the API sends it and the page shows it."""

from __future__ import annotations

# Floors of the calibrated probability, highest first, and the words a reader takes in at a glance.
CONFIDENCE_WORDS = ((0.8, "very likely right"), (0.6, "likely right"), (0.4, "may be right"), (0.0, "uncertain"))
ABSTAINED_WORDS = "not in the articles"


def confidence_label(confidence: float, abstained: bool) -> str:
    """The words for a calibrated probability; an abstention has its own."""
    if abstained:
        return ABSTAINED_WORDS
    return next(words for floor, words in CONFIDENCE_WORDS if confidence >= floor)
