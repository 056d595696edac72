"""Abstention threshold sweep: from one report, the F1 / precision / recall trade-off at every threshold.

Every prediction records the extractive candidate and its confidence even when the service abstained,
so one evaluation run is enough to see what any threshold would have done.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from evaluation import metrics as m


@dataclass(frozen=True)
class Point:
    threshold: float
    f1: float
    em: float
    answered_pct: float
    answer_precision: float
    abstention_recall: float


def _candidate(p: dict[str, Any]) -> tuple[str | None, float]:
    signals = p.get("signals") or {}
    if "candidate" in signals:
        return signals.get("candidate"), float(signals.get("calibrated_confidence", p.get("confidence", 0.0)))
    answer = p.get("prediction") or signals.get("extractive_answer")
    confidence = float(signals.get("extractive_confidence", p.get("confidence", 0.0)) or 0.0)
    if p.get("prediction"):
        confidence = float(p.get("confidence", confidence))
    return answer, confidence


def sweep(predictions: list[dict[str, Any]], thresholds: list[float] | None = None) -> list[Point]:
    thresholds = thresholds or [round(0.05 * i, 2) for i in range(0, 20)]
    points = []
    for t in thresholds:
        f1s, ems, answered, correct_answers, abstain_hits, unanswerable = [], [], 0, 0, 0, 0
        for p in predictions:
            answer, confidence = _candidate(p)
            shown = answer if answer is not None and confidence >= t else None
            em, f1 = m.answer_scores(shown, p["gold"])
            f1s.append(f1)
            ems.append(em)
            if shown is not None:
                answered += 1
                correct_answers += f1 >= 0.5
            if not p["gold"]:
                unanswerable += 1
                abstain_hits += shown is None
        n = max(1, len(predictions))
        points.append(Point(t, round(100 * sum(f1s) / n, 2), round(100 * sum(ems) / n, 2),
                            round(100 * answered / n, 1),
                            round(100 * correct_answers / answered, 1) if answered else float("nan"),
                            round(100 * abstain_hits / unanswerable, 1) if unanswerable else float("nan")))
    return points


def best(points: list[Point]) -> Point:
    return max(points, key=lambda p: (p.f1, -p.threshold))


def table(points: list[Point]) -> str:
    rows = ["| threshold | F1 | EM | answered % | answers with F1 >= 0.5 (%) | unanswerable abstained (%) |",
            "| --- | --- | --- | --- | --- | --- |"]
    rows += [f"| {p.threshold:.2f} | {p.f1} | {p.em} | {p.answered_pct} | {p.answer_precision} | "
             f"{p.abstention_recall} |" for p in points]
    return "\n".join(rows)


def plot(series: dict[str, list[Point]], path: Path, title: str = "answers") -> Path:
    """Answer precision against share answered, one line per dataset; needs matplotlib (eval extra)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4.2))
    for name, points in series.items():
        xs = [p.threshold for p in points]
        left.plot(xs, [p.f1 for p in points], marker="o", ms=3, label=name)
        right.plot([p.answered_pct for p in points], [p.answer_precision for p in points], marker="o", ms=3,
                   label=name)
    left.set_xlabel("abstention threshold (confidence)")
    left.set_ylabel("F1 (abstention counts as right on unanswerable)")
    right.set_xlabel("questions answered (%)")
    right.set_ylabel("answers with F1 >= 0.5 (%)")
    for ax in (left, right):
        ax.grid(alpha=0.3)
        ax.legend()
    fig.suptitle(f"article-qa {title}: abstention trade-off")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def load_predictions(report: Path) -> list[dict[str, Any]]:
    data: dict[str, Any] = json.loads(report.read_text(encoding="utf-8"))
    return list(data["predictions"])


def _calibration_rows(predictions: list[dict[str, Any]]) -> list[tuple[dict[str, float], str | None, list[str]]]:
    """(features, candidate answer, gold answers) per prediction that recorded its features."""
    rows = []
    for p in predictions:
        signals = p.get("signals") or {}
        features = {k[2:]: float(v) for k, v in signals.items() if k.startswith("f_") and v is not None}
        if not features:
            continue
        rows.append((features, signals.get("candidate"), list(p["gold"])))
    return rows


@dataclass(frozen=True)
class FitResult:
    mode: str
    model: Any
    threshold: float
    per_dataset: dict[str, list[Point]]


def fit_reports(reports: dict[str, list[dict[str, Any]]], mode: str, l2: float = 1.0, primary: str | None = None,
                max_primary_loss: float = 0.5) -> FitResult:
    """Fit the confidence model of one answer mode on several datasets' reports, each dataset weighted equally.

    The threshold maximises the mean F1 over the datasets (abstention right on unanswerable questions), among
    the thresholds that cost the ``primary`` dataset (the news benchmark, all answerable) at most
    ``max_primary_loss`` F1 points: SQuAD's half-unanswerable mix would otherwise push the service into
    refusing answers it has.
    """
    from service.confidence import FEATURES, LogisticModel, fit

    features, labels, weights = [], [], []
    data: dict[str, list[tuple[dict[str, float], str | None, list[str]]]] = {}
    for name, predictions in reports.items():
        rows = _calibration_rows(predictions)
        if not rows:
            continue
        data[name] = rows
        for feats, candidate, gold in rows:
            _, f1 = m.answer_scores(candidate, gold) if candidate is not None and gold else (0.0, 0.0)
            features.append(feats)
            labels.append(int(bool(gold) and candidate is not None and f1 >= 0.5))
            weights.append(1.0 / len(rows))
    if not features:
        raise ValueError("the reports hold no recorded features; rerun `article-qa eval` with this version")
    total = sum(weights)
    model = fit(features, labels, FEATURES[mode], [w * len(weights) / total for w in weights], l2=l2)
    thresholds = [round(0.025 * i, 3) for i in range(0, 40)]
    per_dataset: dict[str, list[Point]] = {}
    for name, rows in data.items():
        per_dataset[name] = sweep([{"prediction": c, "confidence": model.probability(f), "gold": g}
                                   for f, c, g in rows], thresholds)
    means = [sum(points[i].f1 for points in per_dataset.values()) / len(per_dataset) for i in range(len(thresholds))]
    allowed = list(range(len(thresholds)))
    if primary in per_dataset:
        top = max(p.f1 for p in per_dataset[primary])
        allowed = [i for i in allowed if per_dataset[primary][i].f1 >= top - max_primary_loss] or allowed
    best_i = max(allowed, key=lambda i: (means[i], -abs(thresholds[i] - 0.5)))
    tuned = LogisticModel(model.features, model.weights, model.bias, thresholds[best_i], model.mean, model.scale)
    return FitResult(mode, tuned, thresholds[best_i], per_dataset)


def replay(predictions: list[dict[str, Any]], model: Any) -> dict[str, float]:
    """What the fitted model would have shown on a report: answered share, F1, and RGB-style accuracy by noise.

    The decision is a pure function of the recorded features, so this equals a fresh run with the model.
    """
    shown: list[tuple[dict[str, Any], str | None]] = []
    for p in predictions:
        rows = _calibration_rows([p])
        if not rows:
            continue
        features, candidate, _ = rows[0]
        keep = candidate is not None and model.probability(features) >= model.threshold
        shown.append((p, candidate if keep else None))
    if not shown:
        return {}
    out: dict[str, float] = {
        "answered_pct": round(100 * sum(a is not None for _, a in shown) / len(shown), 2),
        "f1": round(100 * m.mean(m.answer_scores(a, p["gold"])[1] for p, a in shown), 2),
        "em": round(100 * m.mean(m.answer_scores(a, p["gold"])[0] for p, a in shown), 2),
    }
    for rate in sorted({p["noise"] for p, _ in shown if "noise" in p}):
        rows_at = [(p, a) for p, a in shown if p.get("noise") == rate]
        correct = [(a is None) if rate >= 1.0 else (a is not None and m.contains_answer(a, p["gold"]))
                   for p, a in rows_at]
        key = "negative_rejection_pct" if rate >= 1.0 else f"accuracy_noise_{rate:.1f}"
        out[key] = round(100 * m.mean(float(c) for c in correct), 2)
    return out
