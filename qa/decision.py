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
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

import numpy as np

from index.analysis import analyze
from index.retriever import ScoredChunk
from qa.question import type_fit
from qa.readers.extractive import focus_missing
from qa.readers.generative import Generated
from qa.records import AnswerType, Query, Reading, Retrieved, Span

DEFAULT_PATH = Path(__file__).with_name("decision.json")
FALLBACK_THRESHOLD = 0.35  # with no fitted model, the reader's own score must reach this to answer
CONSTANT_FEATURE_STD = 1e-9  # a feature whose spread is below this is constant in the data: left unscaled
NEWTON_TOLERANCE = 1e-8  # Newton's method stops once no weight moves by more than this
LOGIT_CLIP = 30  # logits are clipped to +-this before exp, which overflows far beyond it


@dataclass(frozen=True)
class DecisionFeatures:
    """Everything the decision may weigh, for the candidate answer it is deciding on (0 where not measured).

    Stored as-is in eval reports (``features``) and read back by ``calibrate``; the model of each reader uses
    the subset named in its ``features`` list.
    """

    top_dense: float = 0.0  # best dense similarity of a retrieved passage
    dense_margin: float = 0.0  # ... minus the best of another article
    lexical_top: float = 0.0  # log(1 + best BM25 score)
    reader: float = 0.0  # the extractive reader's own score for its span
    coverage: float = 0.0  # share of the question's weighted terms in the candidate's sentence
    dense: float = 0.0  # dense similarity of the candidate's sentence (or its passage's best sentence)
    span_score: float = 0.0  # the extractive span's shape fit
    typed: float = 0.0  # the question expects a date, number, amount, person or place
    type_fit: float = 0.0  # the candidate looks like what the question expects (a date for "when", ...)
    focus_missing: float = 0.0  # the candidate's sentence lacks the question's focus word
    extractive_none: float = 0.0  # the extractive reader found no span
    generated: float = 0.0  # the candidate is the generator's answer (else the extractive span)
    gen_none: float = 0.0  # the generator answered NONE
    none_prob: float = 0.0  # the generator's probability of starting "NONE"
    first_prob: float = 0.0  # its probability of the answer's first token
    mean_logprob: float = 0.0  # its mean log-probability per answer token
    min_prob: float = 0.0  # its least probable answer token
    copy_mass: float = 0.0  # its probability mass on tokens the span constraint allowed, at the first step
    agree: float = 0.0  # the generated and extractive answers agree
    passage_rank: float = 0.0  # 1 / rank of the passage the generated answer came from
    answer_words: float = 0.0  # log(1 + words in the candidate)

    def as_dict(self) -> dict[str, float]:
        return {k: round(float(v), 5) for k, v in asdict(self).items()}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> DecisionFeatures:
        known = {f.name for f in fields(cls)}
        return cls(**{k: float(v) for k, v in data.items() if k in known and v is not None})


# Only features that mean the same on any corpus: a raw BM25 score (``lexical_top``) grows with the corpus's
# vocabulary and length, so a fit on large benchmark corpora misreads it on a two-article folder; ``first_prob``
# duplicates ``min_prob`` for short answers. Both stay recorded in reports for analysis.
FEATURES: dict[str, tuple[str, ...]] = {
    "extractive": ("top_dense", "dense_margin", "reader", "coverage", "dense", "span_score", "typed", "type_fit",
                   "focus_missing"),
    "generative": ("top_dense", "dense_margin", "reader", "coverage", "dense", "typed", "type_fit", "focus_missing",
                   "extractive_none", "generated", "gen_none", "none_prob", "mean_logprob", "min_prob", "copy_mass",
                   "agree", "passage_rank", "answer_words"),
}


# The direction each feature may push the probability, where what it measures fixes it: more probability mass on
# NONE, or the generator ending on NONE, never makes an answer more likely right. A fit that gives such a feature
# the wrong sign (it happens with correlated features) pins its weight at zero instead.
SIGNS: dict[str, int] = {"none_prob": -1, "gen_none": -1, "extractive_none": -1, "focus_missing": -1,
                         "mean_logprob": 1, "min_prob": 1, "agree": 1, "type_fit": 1, "dense": 1, "reader": 1,
                         "span_score": 1, "coverage": 1}


@dataclass(frozen=True)
class LogisticModel:
    """Weights over named features (standardised by ``mean``/``scale``) plus a bias, and the answer threshold."""

    features: tuple[str, ...]
    weights: tuple[float, ...]
    bias: float
    threshold: float
    mean: tuple[float, ...] = ()
    scale: tuple[float, ...] = ()

    def probability(self, values: DecisionFeatures | Mapping[str, float]) -> float:
        row = values.as_dict() if isinstance(values, DecisionFeatures) else values
        x = np.array([float(row.get(f, 0.0)) for f in self.features])
        if self.mean:
            x = (x - np.array(self.mean)) / np.array(self.scale)
        z = self.bias + float(np.dot(x, np.array(self.weights)))
        return 1.0 / (1.0 + math.exp(-max(-30.0, min(30.0, z))))

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


@dataclass(frozen=True)
class Candidate:
    """One reader's answer with its features and the probability the fitted model gives it."""

    span: Span
    source: str  # "generated" or "extractive"
    features: DecisionFeatures
    probability: float


@dataclass(frozen=True)
class Decision:
    """The decision stage's output: the best candidate, whether to show it, its calibrated confidence and why."""

    candidate: Span | None
    answered: bool
    confidence: float
    threshold: float
    reason: str
    chosen: str
    features: DecisionFeatures
    reader: str
    candidates: tuple[Candidate, ...] = ()

    @property
    def span(self) -> Span | None:
        """The answer to show, or None to abstain."""
        return self.candidate if self.answered else None


def retrieval_features(hits: Sequence[ScoredChunk]) -> dict[str, float]:
    dense = sorted(((h.dense_score or 0.0), h.article.id) for h in hits)[::-1]
    top = dense[0][0] if dense else 0.0
    other = next((d for d, a in dense if a != dense[0][1]), 0.0) if dense else 0.0
    lexical = max(((h.lexical_score or 0.0) for h in hits), default=0.0)
    return {"top_dense": top, "dense_margin": top - other, "lexical_top": math.log1p(lexical)}


def _same_answer(a: str, b: str) -> bool:
    """Two answers agree when one's words contain the other's ("Ford" and "Ford Motor Co")."""
    wa, wb = analyze(a), analyze(b)
    if not wa or not wb:
        return False
    short, long = (wa, wb) if len(wa) <= len(wb) else (wb, wa)
    return any(long[i:i + len(short)] == short for i in range(len(long) - len(short) + 1))


def agree(a: Span | None, b: Span | None) -> bool:
    if a is None or b is None:
        return False
    overlap = a.article.id == b.article.id and a.start < b.end and b.start < a.end
    return overlap or _same_answer(a.text, b.text)


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
                    **_likelihood(gen.first_logprob, gen.span_logprob, gen.min_logprob, gen.tokens)}))
            if reading.span is not None and (generated.span is None or not both):
                scored = generated.extractive_scores
                options.append((reading.span, "extractive", {
                    "agree": both, "passage_rank": 1.0 / reading.span.evidence.hit_rank,
                    "span_score": min(reading.span.score, 3.0),
                    **(_likelihood(scored[0], sum(scored), min(scored), len(scored)) if scored else {})}))
        elif reading.span is not None:
            options.append((reading.span, "extractive", {"span_score": min(reading.span.score, 3.0)}))
        model = self.models.model(reader)
        candidates = []
        for span, source, own in options:
            ev = span.evidence
            features = DecisionFeatures(**{**shared, **own, "coverage": ev.coverage, "dense": ev.dense,
                                           "type_fit": type_fit(question, span.text),
                                           "focus_missing": float(focus_missing(question, ev.text)),
                                           "answer_words": math.log1p(len(span.text.split()))})
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


def _likelihood(first: float, total: float, least: float, tokens: int) -> dict[str, float]:
    """The model's own probabilities of one candidate's tokens, as decision features."""
    return {"first_prob": math.exp(first), "mean_logprob": total / max(1, tokens), "min_prob": math.exp(least)}
