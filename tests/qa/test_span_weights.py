"""The extractive reader ranks spans by a weighted sum of named features whose weights are data."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from qa.readers.extractive import SPAN_FEATURES, SpanShapes, load_span_weights


def test_every_feature_has_a_weight_and_a_meaning() -> None:
    weights = load_span_weights()
    assert set(weights) == set(SPAN_FEATURES) and all(SPAN_FEATURES.values())


def test_a_file_missing_a_feature_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "span_weights.json"
    path.write_text(json.dumps({"weights": {"proximity": 1.0}}), encoding="utf-8")
    with pytest.raises(ValueError, match="span features"):
        load_span_weights(path)


def test_fit_is_the_weighted_sum_of_features() -> None:
    shapes = SpanShapes(weights={name: 0.0 for name in SPAN_FEATURES} | {"proximity": 2.0, "person": 0.5})
    assert shapes.fit({"proximity": 0.25, "person": 1.0}) == pytest.approx(1.0)
