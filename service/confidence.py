"""One calibrated confidence per answer: a logistic model over measurable signals, fitted on the dev benchmarks.

The hand-set blend inside the reader ranks candidate spans; this model decides how much to trust the chosen
one, using retrieval scores and margins, the reader's own evidence, and (in generative mode) whether the
generator proposed an answer, whether it was grounded, and whether it agrees with the extractive reader.
The label it is fitted on is "answering beats abstaining" (F1 >= 0.5 on an answerable question; never on an
unanswerable one), so 0.5 is the expected-F1 break-even and the threshold is then tuned on the dev data.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

DEFAULT_PATH = Path(__file__).with_name("confidence.json")

FEATURES: dict[str, tuple[str, ...]] = {
    "extractive": ("reader", "coverage", "dense", "top_dense", "dense_margin", "lexical_top", "span_score",
                   "typed", "focus_missing"),
    "generative": ("reader", "coverage", "dense", "top_dense", "dense_margin", "lexical_top", "span_score",
                   "typed", "focus_missing", "gen_none", "gen_grounded", "gen_agree", "gen_chosen"),
}


@dataclass(frozen=True)
class LogisticModel:
    """Weights over named features plus a bias; missing features count as 0."""

    features: tuple[str, ...]
    weights: tuple[float, ...]
    bias: float
    threshold: float
    mean: tuple[float, ...] = ()
    scale: tuple[float, ...] = ()

    def probability(self, values: Mapping[str, float]) -> float:
        x = np.array([float(values.get(f, 0.0)) for f in self.features])
        if self.mean:
            x = (x - np.array(self.mean)) / np.array(self.scale)
        z = self.bias + float(np.dot(x, np.array(self.weights)))
        return 1.0 / (1.0 + math.exp(-max(-30.0, min(30.0, z))))

    def to_dict(self) -> dict[str, object]:
        return {"features": list(self.features), "weights": list(self.weights), "bias": self.bias,
                "threshold": self.threshold, "mean": list(self.mean), "scale": list(self.scale)}

    @classmethod
    def from_dict(cls, data: Mapping[str, object]) -> LogisticModel:
        def floats(key: str) -> tuple[float, ...]:
            raw = data.get(key) or []
            return tuple(float(v) for v in raw) if isinstance(raw, list) else ()

        features = data.get("features") or []
        return cls(tuple(str(f) for f in features) if isinstance(features, list) else (), floats("weights"),
                   float(data.get("bias", 0.0)), float(data.get("threshold", 0.5)),  # type: ignore[arg-type]
                   floats("mean"), floats("scale"))


@dataclass(frozen=True)
class ConfidenceModels:
    """One model per answer mode; ``auto`` answers use the generative model when the generator ran."""

    models: dict[str, LogisticModel]
    fitted_on: dict[str, object] = field(default_factory=dict)

    def model(self, mode: str) -> LogisticModel | None:
        return self.models.get(mode)

    def save(self, path: Path) -> Path:
        data = {"fitted_on": self.fitted_on, "models": {k: m.to_dict() for k, m in self.models.items()}}
        path.write_text(json.dumps(data, indent=1) + "\n", encoding="utf-8")
        return path

    @classmethod
    def load(cls, path: Path | None = None) -> ConfidenceModels:
        path = path or DEFAULT_PATH
        if not path.is_file():
            return cls({})
        data = json.loads(path.read_text(encoding="utf-8"))
        return cls({k: LogisticModel.from_dict(v) for k, v in data.get("models", {}).items()},
                   dict(data.get("fitted_on", {})))


def fit(rows: Sequence[Mapping[str, float]], labels: Sequence[int], features: Sequence[str],
        sample_weights: Sequence[float] | None = None, l2: float = 1.0, iterations: int = 50) -> LogisticModel:
    """L2-regularised logistic regression by Newton's method on standardised features (numpy only)."""
    x = np.array([[float(r.get(f, 0.0)) for f in features] for r in rows], dtype=np.float64)
    y = np.asarray(labels, dtype=np.float64)
    w_s = np.ones(len(y)) if sample_weights is None else np.asarray(sample_weights, dtype=np.float64)
    mean = x.mean(axis=0)
    scale = x.std(axis=0)
    scale[scale < 1e-9] = 1.0
    xs = np.hstack([np.ones((len(y), 1)), (x - mean) / scale])
    beta = np.zeros(xs.shape[1])
    reg = np.eye(xs.shape[1]) * l2
    reg[0, 0] = 0.0
    for _ in range(iterations):
        p = 1.0 / (1.0 + np.exp(-np.clip(xs @ beta, -30, 30)))
        grad = xs.T @ (w_s * (p - y)) + reg @ beta
        hess = (xs * (w_s * p * (1 - p))[:, None]).T @ xs + reg
        step = np.linalg.solve(hess, grad)
        beta -= step
        if float(np.abs(step).max()) < 1e-8:
            break
    return LogisticModel(tuple(features), tuple(float(b) for b in beta[1:]), float(beta[0]), 0.5,
                         tuple(float(v) for v in mean), tuple(float(v) for v in scale))
