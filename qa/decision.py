"""The decision stage: answer or abstain, with a calibrated confidence, learned from measurable signals.

One logistic model per reader (the extractive reader, and each generator model) maps ``DecisionFeatures`` to
the probability that the shown answer is right (SQuAD-style F1 >= 0.5). It is fitted on the dev parts of the
public benchmarks by ``article-qa calibrate --fit``; the threshold below which the service abstains is chosen
there to maximise the expected F1 over the benchmarks (an abstention is right exactly when the question has
no answer). The fitted parameters live in ``decision.json`` beside this module, with the command that made them.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from qa.features import agree, asked_field, counted_focus, focus_missing, likelihood, retrieval_features, type_fit
from qa.records import (
    AnswerType,
    Candidate,
    Decision,
    DecisionFeatures,
    Generated,
    Query,
    Reading,
    Retrieved,
    Span,
)

DEFAULT_PATH = Path(__file__).with_name("decision.json")
FALLBACK_THRESHOLD = 0.35  # with no fitted model, the reader's own score must reach this to answer
CONSTANT_FEATURE_STD = 1e-9  # a feature whose spread is below this is constant in the data: left unscaled
NEWTON_TOLERANCE = 1e-8  # Newton's method stops once no weight moves by more than this
LOGIT_CLIP = 30  # logits are clipped to +-this before exp, which overflows far beyond it


# Only features that mean the same on any corpus: a raw BM25 score (``lexical_top``) grows with the corpus's
# vocabulary and length, so a fit on large benchmark corpora misreads it on a two-article folder; ``first_prob``
# duplicates ``min_prob`` for short answers. Both stay recorded in reports for analysis.
# The extractive model leaves out ``focus_after``: its span fit already weighs the noun after a number.
FEATURES: dict[str, tuple[str, ...]] = {
    "extractive": ("top_dense", "dense_margin", "reader", "coverage", "dense", "span_score", "typed", "type_fit",
                   "focus_missing", "field_value", "field_elsewhere"),
    "generative": ("top_dense", "dense_margin", "reader", "coverage", "dense", "typed", "type_fit", "focus_missing",
                   "extractive_none", "generated", "gen_none", "none_prob", "mean_logprob", "min_prob", "copy_mass",
                   "agree", "passage_rank", "answer_words", "field_value", "field_elsewhere",
                   "focus_after"),
}


# The direction each feature may push the probability, where what it measures fixes it: more probability mass on
# NONE, or the generator ending on NONE, never makes an answer more likely right. A fit that gives such a feature
# the wrong sign (it happens with correlated features) pins its weight at zero instead.
SIGNS: dict[str, int] = {"none_prob": -1, "gen_none": -1, "extractive_none": -1, "focus_missing": -1,
                         "mean_logprob": 1, "min_prob": 1, "agree": 1, "type_fit": 1, "dense": 1, "reader": 1,
                         "span_score": 1, "coverage": 1, "field_value": 1, "field_elsewhere": -1,
                         "focus_after": 1}


@dataclass(frozen=True)
class LogisticModel:
    """Weights over named features (standardised by ``mean``/``scale``) plus a bias, and the answer threshold."""

    features: tuple[str, ...]
    weights: tuple[float, ...]
    bias: float
    threshold: float
    mean: tuple[float, ...] = ()
    scale: tuple[float, ...] = ()

    def logit(self, values: DecisionFeatures | Mapping[str, float]) -> float:
        row = values.as_dict() if isinstance(values, DecisionFeatures) else values
        x = np.array([float(row.get(f, 0.0)) for f in self.features])
        if self.mean:
            x = (x - np.array(self.mean)) / np.array(self.scale)
        return self.bias + float(np.dot(x, np.array(self.weights)))

    def probability(self, values: DecisionFeatures | Mapping[str, float]) -> float:
        z = self.logit(values)
        return 1.0 / (1.0 + math.exp(-max(-LOGIT_CLIP, min(LOGIT_CLIP, z))))

    def without(self, names: Sequence[str]) -> LogisticModel:
        """The model with ``names`` dropped (an extension undone before it is refitted)."""
        keep = [i for i, f in enumerate(self.features) if f not in set(names)]

        def pick(values: tuple[float, ...]) -> tuple[float, ...]:
            return tuple(values[i] for i in keep) if values else ()

        return LogisticModel(tuple(self.features[i] for i in keep), pick(self.weights), self.bias, self.threshold,
                             pick(self.mean), pick(self.scale))

    def to_dict(self) -> dict[str, object]:
        return {"features": list(self.features), "weights": list(self.weights), "bias": self.bias,
                "threshold": self.threshold, "mean": list(self.mean), "scale": list(self.scale)}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> LogisticModel:
        def floats(key: str) -> tuple[float, ...]:
            return tuple(float(v) for v in data.get(key) or [])

        return cls(tuple(str(f) for f in data.get("features") or []), floats("weights"), float(data.get("bias", 0.0)),
                   float(data.get("threshold", 0.5)), floats("mean"), floats("scale"))


@dataclass(frozen=True)
class DecisionModels:
    """The fitted model of each reader (``extractive``, ``generative:<model>``) and how each was made."""

    models: dict[str, LogisticModel]
    fitted_on: dict[str, object] = field(default_factory=dict)

    def model(self, reader: str) -> LogisticModel | None:
        """The model for ``reader``; a generator without its own fit uses the generic generative one."""
        if reader in self.models:
            return self.models[reader]
        if reader.startswith("generative"):
            return self.models.get("generative")
        return None

    def save(self, path: Path) -> Path:
        data = {"fitted_on": self.fitted_on, "models": {k: m.to_dict() for k, m in self.models.items()}}
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(data, indent=1) + "\n", encoding="utf-8")
        return path

    @classmethod
    def load(cls, path: Path | None = None) -> DecisionModels:
        path = path or DEFAULT_PATH
        if not path.is_file():
            return cls({})
        data = json.loads(path.read_text(encoding="utf-8"))
        return cls({k: LogisticModel.from_dict(v) for k, v in data.get("models", {}).items()},
                   dict(data.get("fitted_on", {})))


def fit(rows: Sequence[DecisionFeatures | Mapping[str, float]], labels: Sequence[int], features: Sequence[str],
        sample_weights: Sequence[float] | None = None, l2: float = 1.0, iterations: int = 50) -> LogisticModel:
    """L2-regularised logistic regression with the signs in ``SIGNS`` respected: a feature whose fitted weight
    points the wrong way is pinned at zero and the rest refitted, until none does."""
    pinned: set[str] = set()
    while True:
        free = [f for f in features if f not in pinned]
        model = _fit_free(rows, labels, free, sample_weights, l2, iterations)
        wrong = [(abs(w), f) for f, w in zip(model.features, model.weights, strict=True)
                 if SIGNS.get(f, 0) * w < 0]
        if not wrong:
            break
        pinned.add(max(wrong)[1])
    if not pinned:
        return model
    fitted = {f: (w, m, s) for f, w, m, s in zip(model.features, model.weights, model.mean, model.scale, strict=True)}
    weight, mean, scale = zip(*(fitted.get(f, (0.0, 0.0, 1.0)) for f in features), strict=True)
    return LogisticModel(tuple(features), weight, model.bias, model.threshold, mean, scale)


def fit_extension(rows: Sequence[DecisionFeatures | Mapping[str, float]], labels: Sequence[int], base: LogisticModel,
                  features: Sequence[str], sample_weights: Sequence[float] | None = None, l2: float = 1.0,
                  iterations: int = 50) -> LogisticModel:
    """Weights for ``features`` that ``base`` lacks, fitted with ``base``'s logit held fixed.

    A new signal is fitted without moving the weights fitted before: wherever the new features are 0 (an
    article's credit lines exist only on the office's kind of article), the extended model decides exactly as
    ``base`` does. Signs follow ``SIGNS``; a weight fitted the wrong way is pinned at zero.
    """
    dicts = [r.as_dict() if isinstance(r, DecisionFeatures) else r for r in rows]
    offset = np.array([base.logit(r) for r in dicts])
    y = np.asarray(labels, dtype=np.float64)
    w_s = np.ones(len(y)) if sample_weights is None else np.asarray(sample_weights, dtype=np.float64)
    free = [f for f in features if f not in base.features]
    while True:
        x = np.array([[float(r.get(f, 0.0)) for f in free] for r in dicts], dtype=np.float64).reshape(len(y), -1)
        w = np.zeros(len(free))
        for _ in range(iterations):
            p = 1.0 / (1.0 + np.exp(-np.clip(offset + x @ w, -LOGIT_CLIP, LOGIT_CLIP)))
            step = np.linalg.solve((x * (w_s * p * (1 - p))[:, None]).T @ x + l2 * np.eye(len(free)),
                                   x.T @ (w_s * (p - y)) + l2 * w)
            w -= step
            if not len(free) or float(np.abs(step).max()) < NEWTON_TOLERANCE:
                break
        wrong = [(abs(v), f) for f, v in zip(free, w, strict=True) if SIGNS.get(f, 0) * v < 0]
        if not wrong:
            break
        free.remove(max(wrong)[1])
    fitted = dict(zip(free, w, strict=True))
    added = [f for f in features if f not in base.features]
    return LogisticModel(base.features + tuple(added), base.weights + tuple(float(fitted.get(f, 0.0)) for f in added),
                         base.bias, base.threshold, (base.mean or (0.0,) * len(base.features)) + (0.0,) * len(added),
                         (base.scale or (1.0,) * len(base.features)) + (1.0,) * len(added))


def _fit_free(rows: Sequence[DecisionFeatures | Mapping[str, float]], labels: Sequence[int], features: Sequence[str],
              sample_weights: Sequence[float] | None, l2: float, iterations: int) -> LogisticModel:
    """L2-regularised logistic regression by Newton's method on standardised features (numpy only)."""
    dicts = [r.as_dict() if isinstance(r, DecisionFeatures) else r for r in rows]
    x = np.array([[float(r.get(f, 0.0)) for f in features] for r in dicts], dtype=np.float64)
    y = np.asarray(labels, dtype=np.float64)
    w_s = np.ones(len(y)) if sample_weights is None else np.asarray(sample_weights, dtype=np.float64)
    mean = x.mean(axis=0)
    scale = x.std(axis=0)
    scale[scale < CONSTANT_FEATURE_STD] = 1.0
    xs = np.hstack([np.ones((len(y), 1)), (x - mean) / scale])
    beta = np.zeros(xs.shape[1])
    reg = np.eye(xs.shape[1]) * l2
    reg[0, 0] = 0.0
    for _ in range(iterations):
        p = 1.0 / (1.0 + np.exp(-np.clip(xs @ beta, -LOGIT_CLIP, LOGIT_CLIP)))
        grad = xs.T @ (w_s * (p - y)) + reg @ beta
        hess = (xs * (w_s * p * (1 - p))[:, None]).T @ xs + reg
        step = np.linalg.solve(hess, grad)
        beta -= step
        if float(np.abs(step).max()) < NEWTON_TOLERANCE:
            break
    return LogisticModel(tuple(features), tuple(float(b) for b in beta[1:]), float(beta[0]), 0.5,
                         tuple(float(v) for v in mean), tuple(float(v) for v in scale))


class DecisionStage:
    """Builds the candidate's features and answers when the fitted probability reaches the threshold."""

    def __init__(self, models: DecisionModels, threshold: float | None = None) -> None:
        self.models = models
        self.threshold = threshold

    def run(self, query: Query, retrieved: Retrieved, reading: Reading, generated: Generated | None,
            reader: str) -> Decision:
        """Score every reader's candidate with the fitted model and keep the most probable one.

        Without the generator there is one candidate (the extractive span). With it, the generated span and the
        extractive span (which the model has also scored) compete; agreement between them is a feature of both.
        """
        question = query.analysis
        shared = {**retrieval_features(retrieved.hits), "reader": reading.score,
                  "typed": float(question.answer_type != AnswerType.ENTITY),
                  "extractive_none": float(reading.span is None)}
        options: list[tuple[Span, str, dict[str, float]]] = []
        if generated is not None:
            gen = generated.generation
            shared.update(gen_none=float(gen.said_none), none_prob=math.exp(gen.none_logprob),
                          copy_mass=gen.allowed_mass)
            both = float(agree(generated.span, reading.span))
            if generated.span is not None:
                rank = generated.passage.rank if generated.passage is not None else 0
                options.append((generated.span, "generated", {
                    "generated": 1.0, "agree": both, "passage_rank": 1.0 / rank if rank else 0.0,
                    **likelihood(gen.first_logprob, gen.span_logprob, gen.min_logprob, gen.tokens)}))
            if reading.span is not None and (generated.span is None or not both):
                scored = generated.extractive_scores
                options.append((reading.span, "extractive", {
                    "agree": both, "passage_rank": 1.0 / reading.span.evidence.hit_rank,
                    "span_score": min(reading.span.score, 3.0),
                    **(likelihood(scored[0], sum(scored), min(scored), len(scored)) if scored else {})}))
        elif reading.span is not None:
            options.append((reading.span, "extractive", {"span_score": min(reading.span.score, 3.0)}))
        model = self.models.model(reader)
        candidates = []
        for span, source, own in options:
            ev = span.evidence
            features = DecisionFeatures(**{**shared, **own, "coverage": ev.coverage, "dense": ev.dense,
                                           "type_fit": type_fit(question, span.text),
                                           "focus_missing": float(focus_missing(question, ev.text)),
                                           "answer_words": math.log1p(len(span.text.split())),
                                           **asked_field(question, span), **counted_focus(question, span)})
            if model is not None:
                probability = model.probability(features)
            else:
                probability = reading.score if source == "extractive" else features.first_prob
            candidates.append(Candidate(span, source, features, probability))
        threshold = model.threshold if model is not None else FALLBACK_THRESHOLD
        if self.threshold is not None:
            threshold = self.threshold
        if not candidates:
            none = DecisionFeatures(**shared)
            confidence = model.probability(none) if model is not None else reading.score
            return Decision(None, False, confidence, threshold, reading.reason, "none", none, reader)
        best = max(candidates, key=lambda c: c.probability)
        if best.probability < threshold:
            reason = ("The model found no answer in the passages." if best.features.gen_none
                      else "The best candidate answer was not supported strongly enough.")
            return Decision(best.span, False, best.probability, threshold, reason, best.source, best.features,
                            reader, tuple(candidates))
        reason = ((best.span.note or reading.reason) if best.source == "extractive"
                  else "Copied by the model from the cited passage.")
        return Decision(best.span, True, best.probability, threshold, reason, best.source, best.features, reader,
                        tuple(candidates))
