"""The decision stage: features, the fitted logistic model, the packaged fits, and the words a person reads."""

from __future__ import annotations

import random
from pathlib import Path

import numpy as np
import pytest

from qa.decision import (
    DEFAULT_PATH,
    FEATURES,
    SIGNS,
    DecisionModels,
    LogisticModel,
    fit,
    fit_extension,
)
from qa.features import asked_field
from qa.records import AnswerType, DecisionFeatures, Evidence, QuestionAnalysis, Span


def test_fit_learns_which_signal_predicts_a_right_answer() -> None:
    rng = random.Random(0)
    rows, labels = [], []
    for _ in range(400):
        first, noise = rng.random(), rng.random()
        rows.append(DecisionFeatures(first_prob=first, dense=noise))
        labels.append(int(first + 0.1 * rng.random() > 0.55))
    model = fit(rows, labels, ("first_prob", "dense"))
    assert model.weights[0] > 1.0 > abs(model.weights[1])
    assert model.probability(DecisionFeatures(first_prob=0.9, dense=0.5)) > 0.9
    assert model.probability(DecisionFeatures(first_prob=0.1, dense=0.5)) < 0.1


def test_features_round_trip_through_a_report_row() -> None:
    features = DecisionFeatures(reader=0.4, none_prob=0.25, generated=1.0)
    assert DecisionFeatures.from_dict({**features.as_dict(), "unknown": 3.0}) == features


def test_models_round_trip_through_json(tmp_path: Path) -> None:
    model = LogisticModel(("reader", "dense"), (1.5, -0.5), 0.2, 0.4, (0.1, 0.2), (1.0, 2.0))
    path = DecisionModels({"extractive": model}, {"extractive": ["x"]}).save(tmp_path / "d.json")
    loaded = DecisionModels.load(path)
    assert loaded.model("extractive") == model and loaded.model("generative:any") is None
    assert loaded.model("extractive").probability({"reader": 1.0}) == model.probability({"reader": 1.0})  # type: ignore[union-attr]


def test_a_generator_without_its_own_fit_uses_the_generic_one() -> None:
    generic = LogisticModel(("first_prob",), (1.0,), 0.0, 0.5)
    models = DecisionModels({"generative": generic})
    assert models.model("generative:/models/other.gguf") is generic


@pytest.mark.parametrize("reader", ["extractive", "generative:qwen2.5-0.5b", "generative:qwen2.5-1.5b"])
def test_packaged_models_exist_with_their_features(reader: str) -> None:
    model = DecisionModels.load(DEFAULT_PATH).models.get(reader)
    assert model is not None, f"qa/decision.json lacks the {reader} model: run article-qa calibrate --fit {reader}"
    family = "extractive" if reader == "extractive" else "generative"
    assert model.features == FEATURES[family] and 0.0 < model.threshold < 1.0
    assert len(model.weights) == len(model.mean) == len(model.scale) == len(model.features)


@pytest.mark.parametrize("reader", ["extractive", "generative:qwen2.5-0.5b", "generative:qwen2.5-1.5b"])
def test_packaged_weights_point_the_way_their_features_mean(reader: str) -> None:
    """More mass on NONE never raises the confidence, a surer span never lowers it (the fit's sign constraints)."""
    model = DecisionModels.load(DEFAULT_PATH).model(reader)
    assert model is not None
    for feature, weight in zip(model.features, model.weights, strict=True):
        assert SIGNS.get(feature, 0) * weight >= 0, (feature, weight)


def test_the_model_saying_none_lowers_the_confidence() -> None:
    model = DecisionModels.load(DEFAULT_PATH).model("generative:qwen2.5-0.5b")
    assert model is not None
    sure = DecisionFeatures(generated=1.0, first_prob=0.9, min_prob=0.9, none_prob=0.01, coverage=0.8, dense=0.6,
                            type_fit=1.0)
    doubtful = DecisionFeatures(generated=1.0, first_prob=0.9, min_prob=0.9, none_prob=0.6, gen_none=1.0,
                                coverage=0.8, dense=0.6, type_fit=1.0)
    assert model.probability(sure) > model.probability(doubtful)


def test_a_wrong_signed_weight_is_pinned_at_zero() -> None:
    """Two copies of one signal: the fit may split them with opposite signs; the constraint forbids that."""
    rng = np.random.default_rng(0)
    rows, labels = [], []
    for _ in range(400):
        signal = float(rng.uniform())
        rows.append(DecisionFeatures(mean_logprob=signal, none_prob=1.0 - signal + float(rng.normal(0, 0.05))))
        labels.append(int(rng.uniform() < signal))
    model = fit(rows, labels, ("mean_logprob", "none_prob"))
    weights = dict(zip(model.features, model.weights, strict=True))
    assert weights["mean_logprob"] > 0 and weights["none_prob"] <= 0
    assert model.features == ("mean_logprob", "none_prob") and len(model.mean) == 2


def test_an_extension_moves_only_the_rows_that_have_its_features() -> None:
    """Fitted with the base's logit fixed: where the new feature is 0 the answer and confidence are the base's."""
    base = LogisticModel(("first_prob",), (2.0,), -1.0, 0.3)
    rows = [DecisionFeatures(first_prob=p, field_value=v) for p in (0.1, 0.2, 0.3) for v in (0.0, 1.0)] * 5
    labels = [int(r.field_value == 1.0) for r in rows]
    model = fit_extension(rows, labels, base, ("first_prob", "field_value", "field_elsewhere"))
    assert model.features == ("first_prob", "field_value", "field_elsewhere") and model.threshold == 0.3
    weights = dict(zip(model.features, model.weights, strict=True))
    assert weights["field_value"] > 1.0 and weights["first_prob"] == 2.0 and weights["field_elsewhere"] == 0.0
    for r in rows:
        if not r.field_value:
            assert model.probability(r) == pytest.approx(base.probability(r))
        else:
            assert model.probability(r) > base.probability(r)


def test_an_extension_weight_fitted_the_wrong_way_is_pinned_at_zero() -> None:
    base = LogisticModel(("first_prob",), (1.0,), 0.0, 0.5)
    rows = [DecisionFeatures(first_prob=0.5, field_elsewhere=v) for v in (0.0, 1.0)] * 10
    labels = [int(r.field_elsewhere == 1.0) for r in rows]  # "not the asked line" made right: against its meaning
    model = fit_extension(rows, labels, base, ("first_prob", "field_elsewhere"))
    assert dict(zip(model.features, model.weights, strict=True))["field_elsewhere"] == 0.0


def test_a_candidate_is_the_asked_line_only_inside_it() -> None:
    from core.documents import Article

    text = "The centre opened in 2014.\nEditor: Liu Xin"
    editor = (text.index("Liu Xin"), len(text))
    article = Article("a", "A", text, "a.txt", "h", metadata_spans={"editor": editor})
    sentence = Evidence(article, 0, text.index("\n"), 1, 0.5, 0.5, 0.5)
    asks = QuestionAnalysis("Who edited the article?", AnswerType.PERSON, (), ("edit",), meta_field="editor")
    inside = Span(article, editor[0], editor[1], 1.0, sentence)
    elsewhere = Span(article, text.index("2014"), text.index("2014") + 4, 1.0, sentence)
    assert asked_field(asks, inside) == {"field_value": 1.0, "field_elsewhere": 0.0}
    assert asked_field(asks, elsewhere) == {"field_value": 0.0, "field_elsewhere": 1.0}
    plain = QuestionAnalysis("When did it open?", AnswerType.DATE, (), ("open",))
    assert asked_field(plain, elsewhere) == {"field_value": 0.0, "field_elsewhere": 0.0}
    byline = QuestionAnalysis("Who wrote it?", AnswerType.PERSON, (), ("wrote",), meta_field="byline")
    assert asked_field(byline, elsewhere) == {"field_value": 0.0, "field_elsewhere": 0.0}  # the article has none


def test_a_counted_answer_is_followed_by_the_noun_the_question_counts() -> None:
    from core.documents import Article
    from qa.features import counted_focus
    from qa.question import analyze_question

    text = "PolyU has trained 52,000 graduates and has more than 1,300 staff in healthcare."
    article = Article("a", "A", text, "a.txt", "h")
    sentence = Evidence(article, 0, len(text), 1, 0.5, 0.5, 0.5)

    def span(answer: str) -> Span:
        return Span(article, text.index(answer), text.index(answer) + len(answer), 1.0, sentence)

    staff = analyze_question("How many staff does PolyU have?")
    assert counted_focus(staff, span("1,300")) == {"focus_after": 1.0}
    assert counted_focus(staff, span("52,000")) == {"focus_after": 0.0}
    graduates = analyze_question("How many graduates has PolyU trained?")
    assert counted_focus(graduates, span("52,000 graduates")) == {"focus_after": 1.0}  # the noun inside the answer
    who = analyze_question("Who trained the graduates?")
    assert counted_focus(who, span("52,000")) == {"focus_after": 0.0}


def test_an_extension_can_be_taken_off_again() -> None:
    base = LogisticModel(("first_prob",), (2.0,), -1.0, 0.3, (0.5,), (0.2,))
    rows = [DecisionFeatures(first_prob=0.5, field_value=v) for v in (0.0, 1.0)] * 10
    extended = fit_extension(rows, [int(r.field_value) for r in rows], base, ("first_prob", "field_value"))
    assert extended.without(["field_value"]) == base
