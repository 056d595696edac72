from __future__ import annotations

import random
from pathlib import Path

import pytest

from service.confidence import DEFAULT_PATH, FEATURES, ConfidenceModels, LogisticModel, fit


def test_fit_learns_which_signal_predicts_a_right_answer() -> None:
    rng = random.Random(0)
    rows, labels = [], []
    for _ in range(400):
        coverage, noise = rng.random(), rng.random()
        rows.append({"coverage": coverage, "dense": noise})
        labels.append(int(coverage + 0.1 * rng.random() > 0.55))
    model = fit(rows, labels, ("coverage", "dense"))
    assert model.weights[0] > 1.0 > abs(model.weights[1])
    assert model.probability({"coverage": 0.9, "dense": 0.5}) > 0.9
    assert model.probability({"coverage": 0.1, "dense": 0.5}) < 0.1


def test_model_round_trips_through_json(tmp_path: Path) -> None:
    model = LogisticModel(("a", "b"), (1.5, -0.5), 0.2, 0.4, (0.1, 0.2), (1.0, 2.0))
    path = ConfidenceModels({"extractive": model}, {"extractive": ["x"]}).save(tmp_path / "c.json")
    loaded = ConfidenceModels.load(path)
    assert loaded.model("extractive") == model and loaded.model("generative") is None
    assert loaded.model("extractive").probability({"a": 1.0}) == model.probability({"a": 1.0})  # type: ignore[union-attr]


@pytest.mark.parametrize("mode", ["extractive", "generative"])
def test_packaged_models_have_their_features(mode: str) -> None:
    model = ConfidenceModels.load(DEFAULT_PATH).model(mode)
    assert model is not None, f"service/confidence.json lacks the {mode} model: run article-qa calibrate --fit"
    assert model.features == FEATURES[mode] and 0.0 < model.threshold < 1.0
    assert len(model.weights) == len(model.mean) == len(model.scale) == len(model.features)


def test_generative_confidence_rewards_agreement_with_the_reader() -> None:
    """Agreement between the extractive and the generated answer is one of the calibrated signals."""
    model = ConfidenceModels.load(DEFAULT_PATH).model("generative")
    assert model is not None
    base = {"reader": 0.6, "coverage": 0.6, "dense": 0.5, "gen_grounded": 1.0, "gen_chosen": 1.0}
    assert model.probability({**base, "gen_agree": 1.0}) > model.probability({**base, "gen_agree": 0.0})
