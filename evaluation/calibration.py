"""Fitting and checking the answer/abstain decision from eval reports.

Every prediction in a report records the candidate answer and its ``DecisionFeatures`` even when the service
abstained, so one evaluation run is enough to fit the decision model, replay any threshold, and measure how
well calibrated the confidence is (reliability table and expected calibration error).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from evaluation import metrics as m
from evaluation.datasets import OFFICE
from qa.decision import FEATURES, DecisionModels, LogisticModel, fit, fit_extension
from qa.records import DecisionFeatures

THRESHOLDS = [round(0.025 * i, 3) for i in range(0, 40)]


@dataclass(frozen=True)
class Point:
    threshold: float
    f1: float
    em: float
    answered_pct: float
    answer_precision: float
    abstention_recall: float


@dataclass(frozen=True)
class Option:
    """One candidate answer as recorded, with its features."""

    text: str
    features: DecisionFeatures


@dataclass(frozen=True)
class Row:
    """One question's recorded decision: every candidate, the gold answers and the confidence that was shown."""

    options: tuple[Option, ...]
    gold: tuple[str, ...]
    confidence: float
    noise: float | None = None
    group: int | None = None  # rows of one question (RGB's noise settings) share it, so folds keep them together
    found: bool = True  # retrieval brought the passage holding the answer (for the error analysis)
    listed: tuple[str, ...] | None = None  # the office sets: right when the answer contains these strings
    match_all: bool = False

    def right(self, answer: str | None) -> bool:
        if not self.gold or answer is None:
            return False
        if self.listed is not None:
            return m.office_right(answer, self.listed, self.match_all)
        return m.answer_scores(answer, self.gold)[1] >= m.CORRECT_F1

    def scores(self, shown: str | None) -> tuple[float, float]:
        """EM and F1 of what was shown; on the office sets both are the office rule (abstaining on an
        unanswerable question is right)."""
        if self.listed is not None:
            hit = float(m.office_right(shown, self.listed, self.match_all))
            return hit, hit
        return m.answer_scores(shown, self.gold)

    def choose(self, model: LogisticModel | None) -> tuple[str | None, float]:
        """The candidate the model prefers and its probability (without a model: the recorded choice)."""
        if not self.options:
            return None, 0.0
        if model is None:
            return self.options[0].text, self.confidence
        scored = [(model.probability(o.features), o.text) for o in self.options]
        probability, text = max(scored)
        return text, probability


def load_predictions(report: Path) -> list[dict[str, Any]]:
    data: dict[str, Any] = json.loads(report.read_text(encoding="utf-8"))
    return list(data["predictions"])


def _found(p: dict[str, Any]) -> bool:
    """Whether retrieval found the answer's passage, in each runner's own terms."""
    if "recall@10" in p:
        return bool(p["recall@10"])
    if "context" in p:
        return p["context"] in p.get("retrieved", [])
    return bool(p.get("found", True))


def rows(predictions: list[dict[str, Any]]) -> list[Row]:
    """The recorded decisions; RGB's negatives-only sets count as unanswerable (their passages lack the answer)."""
    out = []
    groups: dict[str, int] = {}
    for p in predictions:
        if "candidates" not in p:
            continue
        noise = p.get("noise")
        gold = () if noise is not None and noise >= 1.0 else tuple(p["gold"])
        options = tuple(Option(str(c["text"]), DecisionFeatures.from_dict(c["features"])) for c in p["candidates"])
        group = groups.setdefault(str(p.get("id")), len(groups)) if noise is not None else None
        listed = tuple(p["listed"]) if "listed" in p else None
        out.append(Row(options, gold, float(p.get("confidence", 0.0)), noise, group, _found(p), listed,
                       bool(p.get("match_all"))))
    return out


def sweep(data: list[Row], model: LogisticModel | None = None, thresholds: list[float] | None = None) -> list[Point]:
    """F1, answered share and precision at every threshold (with ``model``: its choice and probability, else the
    recorded ones)."""
    points = []
    chosen = [r.choose(model) for r in data]
    for t in thresholds or THRESHOLDS:
        f1s, ems, answered, right, abstain_hits, unanswerable = [], [], 0, 0, 0, 0
        for r, (text, score) in zip(data, chosen, strict=True):
            shown = text if text is not None and score >= t else None
            em, f1 = r.scores(shown)
            f1s.append(f1)
            ems.append(em)
            if shown is not None:
                answered += 1
                right += f1 >= m.CORRECT_F1
            if not r.gold:
                unanswerable += 1
                abstain_hits += shown is None
        n = max(1, len(data))
        points.append(Point(t, round(100 * sum(f1s) / n, 2), round(100 * sum(ems) / n, 2),
                            round(100 * answered / n, 1),
                            round(100 * right / answered, 1) if answered else float("nan"),
                            round(100 * abstain_hits / unanswerable, 1) if unanswerable else float("nan")))
    return points


def best(points: list[Point]) -> Point:
    return max(points, key=lambda p: (p.f1, -p.threshold))


def table(points: list[Point]) -> str:
    lines = ["| threshold | F1 | EM | answered % | answers with F1 >= 0.5 (%) | unanswerable abstained (%) |",
             "| --- | --- | --- | --- | --- | --- |"]
    lines += [f"| {p.threshold:.3f} | {p.f1} | {p.em} | {p.answered_pct} | {p.answer_precision} | "
              f"{p.abstention_recall} |" for p in points]
    return "\n".join(lines)


@dataclass(frozen=True)
class Reliability:
    """Predicted probability against observed accuracy in equal-width bins, and the expected calibration error."""

    bins: list[tuple[float, float, float, int]]  # (bin low, mean predicted, observed right, count)
    ece: float


def reliability(data: list[Row], model: LogisticModel, bins: int = 10) -> Reliability:
    """Over the candidates that exist: is "70 % confident" right 70 % of the time?"""
    pairs = [(p, float(r.right(text))) for r in data for text, p in [r.choose(model)] if text is not None]
    out, ece = [], 0.0
    for b in range(bins):
        lo, hi = b / bins, (b + 1) / bins
        members = [(p, y) for p, y in pairs if lo <= p < hi or (b == bins - 1 and p == 1.0)]
        if not members:
            continue
        mean_p = sum(p for p, _ in members) / len(members)
        acc = sum(y for _, y in members) / len(members)
        out.append((lo, round(mean_p, 3), round(acc, 3), len(members)))
        ece += len(members) / max(1, len(pairs)) * abs(mean_p - acc)
    return Reliability(out, round(ece, 4))


@dataclass(frozen=True)
class FitResult:
    reader: str
    model: LogisticModel
    per_dataset: dict[str, list[Point]]
    reliability: Reliability
    data: dict[str, list[Row]]
    office_share: float  # the office's share of the logistic loss the objective picked


def fit_reports(reports: dict[str, list[dict[str, Any]]], reader: str, l2: float = 1.0,
                baseline: LogisticModel | None = None) -> FitResult:
    """Fit one reader's decision on several datasets' reports, weighted by ``dataset_shares``.

    Label: the candidate answer is right (F1 >= 0.5 to an answerable question). Threshold: the one that
    maximises the mean F1 over the datasets, where an abstention is right exactly on unanswerable questions.
    """
    data = {name: rs for name, predictions in reports.items() if (rs := rows(predictions))}
    if not data:
        raise ValueError("the reports hold no recorded features; rerun `article-qa eval` with this version")
    return fit_rows(data, reader, l2, baseline)


MIN_ROWS_TO_FIT = 50  # a public dataset with fewer questions only helps choose the threshold, too few to fit weights on
MAX_LOSS_F1 = 1.0  # a refit may cost no dataset more F1 than this, against answering all or the decision it replaces
OFFICE_SHARE = 0.5  # the office's own sets together weigh this share of the objective choosing weights and threshold
FIT_SHARES = (0.0, 0.1, 0.2, 0.3, 0.5)  # office shares of the logistic loss tried; the objective picks one
OBJECTIVE = (f"weights: logistic regression on the office's sets ({', '.join(OFFICE)}) and the public datasets of "
             f">= {MIN_ROWS_TO_FIT} questions, the office's share of the loss one of "
             f"{', '.join(map(str, FIT_SHARES))}; "
             f"that share and the threshold: best weighted mean F1 (office sets {OFFICE_SHARE:.0%}, public sets the "
             f"rest equally) among those costing no dataset more than {MAX_LOSS_F1:g} F1 against answering "
             "everything or against the decision being replaced")

EXTEND_OBJECTIVE = ("features the decision lacks: logistic regression with the fitted decision's logit as a fixed "
                    f"offset, the office's sets ({', '.join(OFFICE)}) {OFFICE_SHARE:.0%} of the loss, the public "
                    f"datasets the rest; its other weights and threshold unchanged; no dataset may lose more than "
                    f"{MAX_LOSS_F1:g} F1 against it")


def is_office(name: str) -> bool:
    """A report named after one of the office's own sets (``campus-news-auto`` is campus-news)."""
    return any(name == o or name.startswith(f"{o}-") for o in OFFICE)


def dataset_shares(names: list[str], office_share: float = OFFICE_SHARE) -> dict[str, float]:
    """Each dataset's share: the office sets split ``office_share``, public sets the rest.

    With the default share the objective weighs the office as much as all public benchmarks together, so a
    weight or threshold that serves a public benchmark by withholding the office's right answers loses.
    """
    office = [n for n in names if is_office(n)]
    public = [n for n in names if not is_office(n)]
    if not office or not public:
        return {n: 1.0 / len(names) for n in names}
    return {**{n: office_share / len(office) for n in office},
            **{n: (1.0 - office_share) / len(public) for n in public}}


def _fit_weights(data: dict[str, list[Row]], family: str, office_share: float, l2: float) -> LogisticModel:
    features, labels, weights = [], [], []
    fitting = {name: rs for name, rs in data.items() if len(rs) >= MIN_ROWS_TO_FIT or is_office(name)} or data
    shares = dataset_shares(list(fitting), office_share)
    for name, rs in fitting.items():
        for r in rs:
            for option in r.options:
                features.append(option.features)
                labels.append(int(r.right(option.text)))
                weights.append(shares[name] / (len(rs) * len(r.options)))
    scale = len(weights) / sum(weights)
    return fit(features, labels, FEATURES[family], [w * scale for w in weights], l2=l2)


def fit_rows(data: dict[str, list[Row]], reader: str, l2: float = 1.0,
             baseline: LogisticModel | None = None) -> FitResult:
    """Weights by L2-regularised logistic regression (the office's share of the loss among ``FIT_SHARES``);
    then the threshold.

    Objective of the share and threshold: the best weighted mean F1 over the datasets (an abstention is right
    exactly on unanswerable questions; the office's sets weigh ``OFFICE_SHARE``) among the choices that cost no
    dataset more than ``MAX_LOSS_F1`` against answering everything or against ``baseline`` (the decision being
    replaced), so abstaining more on one kind of question never buys its F1 with another's, and a refit
    never buys the office's answers with a public benchmark's. Where no choice keeps both floors, the
    baseline's are kept (no figure falls); where none keeps those either, the best objective wins.
    """
    family = "extractive" if reader == "extractive" else "generative"
    objective = dataset_shares(list(data))
    before = {name: replay(rs, baseline)["f1"] for name, rs in data.items()} if baseline else {}
    choices = []  # (floors kept: 2 both, 1 the baseline's only, 0 neither; weighted mean F1; ...)
    for share in FIT_SHARES:
        model = _fit_weights(data, family, share, l2)
        per_dataset = {name: sweep(rs, model) for name, rs in data.items()}
        for i in range(len(THRESHOLDS)):
            f1 = {name: points[i].f1 for name, points in per_dataset.items()}
            answer_all = all(f1[name] >= points[0].f1 - MAX_LOSS_F1 for name, points in per_dataset.items())
            kept = all(f1[name] >= before.get(name, 0.0) - MAX_LOSS_F1 for name in data)
            level = 2 if kept and answer_all else 1 if kept and baseline else int(answer_all and not baseline)
            mean = sum(objective[name] * f1[name] for name in data)
            choices.append((level, mean, -abs(THRESHOLDS[i] - 0.5), share, i, model, per_dataset))
    _, _, _, share, chosen, model, per_dataset = max(choices, key=lambda c: c[:3])
    tuned = LogisticModel(model.features, model.weights, model.bias, THRESHOLDS[chosen], model.mean, model.scale)
    pooled = [r for rs in data.values() for r in rs]
    return FitResult(reader, tuned, per_dataset, reliability(pooled, tuned), data, share)


def extend_rows(data: dict[str, list[Row]], reader: str, base: LogisticModel, l2: float = 1.0) -> FitResult:
    """Add to ``base`` the reader family's features it lacks, fitted with ``base`` held fixed.

    Rows weigh as in a full fit (the office's sets ``OFFICE_SHARE`` of the loss). A feature that is 0 on the
    public benchmarks (an article's credit lines) is then fitted on the office's questions alone and cannot move
    a public figure; one that is not may cost no dataset more than ``MAX_LOSS_F1`` against ``base``.
    """
    family = "extractive" if reader == "extractive" else "generative"
    if not any(is_office(name) for name in data):
        raise ValueError("extending a decision needs a report of the office's own sets (campus-news, seed-questions)")
    shares = dataset_shares(list(data))
    options = [(o, int(r.right(o.text)), shares[name] / (len(rs) * len(r.options)))
               for name, rs in data.items() for r in rs for o in r.options]
    scale = len(options) / sum(w for _, _, w in options)
    model = fit_extension([o.features for o, _, _ in options], [y for _, y, _ in options], base, FEATURES[family],
                          [w * scale for _, _, w in options], l2)
    for name, rs in data.items():
        before, after = replay(rs, base)["f1"], replay(rs, model)["f1"]
        if after < before - MAX_LOSS_F1:
            raise ValueError(f"the extension costs {name} {before - after:.1f} F1 (at most {MAX_LOSS_F1:g} allowed)")
    pooled = [r for rs in data.values() for r in rs]
    return FitResult(reader, model, {name: sweep(rs, model) for name, rs in data.items()},
                     reliability(pooled, model), data, OFFICE_SHARE)


def cross_validated(data: dict[str, list[Row]], reader: str, folds: int = 5, l2: float = 1.0,
                    baseline: LogisticModel | None = None, extend: bool = False) -> dict[str, dict[str, float]]:
    """Out-of-sample figures: each question is decided by a model (weights and threshold) fitted without it
    (with ``extend``: ``baseline`` extended without it).

    Questions are split into ``folds`` interleaved folds per dataset (RGB's settings of one question stay
    together), so the figure says what the fitted decision does on questions it has not seen.
    """
    if sum(len(rs) for rs in data.values()) < 2 * folds:
        return {}
    decided: dict[str, list[tuple[Row, str | None]]] = {name: [] for name in data}
    for k in range(folds):
        train = {name: [r for i, r in enumerate(rs) if _fold(r, i) % folds != k] for name, rs in data.items()}
        kept = {n: rs for n, rs in train.items() if rs}
        if not kept:
            continue
        if extend and baseline is not None:
            model = extend_rows(kept, reader, baseline, l2).model
        else:
            model = fit_rows(kept, reader, l2, baseline).model
        for name, rs in data.items():
            for i, r in enumerate(rs):
                if _fold(r, i) % folds == k:
                    text, p = r.choose(model)
                    decided[name].append((r, text if text is not None and p >= model.threshold else None))
    return {name: _scores(shown) for name, shown in decided.items() if shown}


def _fold(row: Row, index: int) -> int:
    return row.group if row.group is not None else index


def replay(data: list[Row], model: LogisticModel) -> dict[str, float]:
    """What the model would have shown: answered share, F1 and RGB-style accuracy by noise rate.

    The decision is a pure function of the recorded features, so this equals a fresh run with the model.
    """
    shown = [(r, text if text is not None and p >= model.threshold else None)
             for r in data for text, p in [r.choose(model)]]
    return _scores(shown)


def errors(data: list[Row], model: LogisticModel) -> dict[str, int]:
    """The error analysis at the model's threshold: right, retrieval miss, reading error, wrong abstention,
    unanswerable answered (the same categories as the eval reports)."""
    counts = {"correct": 0, "retrieval_miss": 0, "reading_error": 0, "wrong_abstention": 0,
              "answered_unanswerable": 0}
    for r in data:
        text, p = r.choose(model)
        shown = text if text is not None and p >= model.threshold else None
        if not r.gold:
            counts["correct" if shown is None else "answered_unanswerable"] += 1
        elif r.right(shown):
            counts["correct"] += 1
        elif not r.found:
            counts["retrieval_miss"] += 1
        elif shown is None:
            counts["wrong_abstention"] += 1
        else:
            counts["reading_error"] += 1
    return counts


def _scores(shown: list[tuple[Row, str | None]]) -> dict[str, float]:
    if not shown:
        return {}
    out: dict[str, float] = {
        "answered_pct": round(100 * sum(a is not None for _, a in shown) / len(shown), 2),
        "f1": round(100 * m.mean(r.scores(a)[1] for r, a in shown), 2),
        "em": round(100 * m.mean(r.scores(a)[0] for r, a in shown), 2),
    }
    for rate in sorted({r.noise for r, _ in shown if r.noise is not None}):
        at = [(r, a) for r, a in shown if r.noise == rate]
        correct = [(a is None) if rate >= 1.0 else (a is not None and m.contains_answer(a, r.gold)) for r, a in at]
        key = "negative_rejection_pct" if rate >= 1.0 else f"accuracy_noise_{rate:.1f}"
        out[key] = round(100 * m.mean(float(c) for c in correct), 2)
    return out


def plot(series: dict[str, list[Point]], path: Path, title: str = "answers",
         calibration: Reliability | None = None) -> Path:
    """F1 by threshold and precision against share answered, one line per dataset, plus the reliability diagram."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    panels = 3 if calibration is not None else 2
    fig, axes = plt.subplots(1, panels, figsize=(5.5 * panels, 4.2))
    left, middle = axes[0], axes[1]
    for name, points in series.items():
        left.plot([p.threshold for p in points], [p.f1 for p in points], marker="o", ms=3, label=name)
        middle.plot([p.answered_pct for p in points], [p.answer_precision for p in points], marker="o", ms=3,
                    label=name)
    left.set_xlabel("abstention threshold (confidence)")
    left.set_ylabel("F1 (abstention counts as right on unanswerable)")
    middle.set_xlabel("questions answered (%)")
    middle.set_ylabel("answers with F1 >= 0.5 (%)")
    if calibration is not None:
        right = axes[2]
        right.plot([0, 1], [0, 1], color="grey", lw=1, ls="--", label="perfect calibration")
        right.plot([b[1] for b in calibration.bins], [b[2] for b in calibration.bins], marker="o",
                   label=f"fitted (ECE {calibration.ece:.3f})")
        right.set_xlabel("confidence shown")
        right.set_ylabel("share of those answers that are right")
        right.set_xlim(0, 1)
        right.set_ylim(0, 1)
    for ax in axes:
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    fig.suptitle(f"article-qa {title}: abstention trade-off and calibration")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


@dataclass(frozen=True)
class Refit:
    """A fitted (or extended) decision for one reader, the decision it must not fall behind, and the decision file
    with it in place, its record saying which reports, command and objective made it."""

    result: FitResult
    baseline: LogisticModel | None
    models: DecisionModels


def refit(reports: dict[str, list[dict[str, Any]]], reader: str, extend: bool, packaged: DecisionModels,
          current: DecisionModels, command: str) -> Refit:
    """Fit ``reader``'s decision on ``reports`` (or, with ``extend``, add the features the packaged one lacks) and
    place it in ``current``. An earlier extension is refitted, not extended again; raises ValueError."""
    baseline = packaged.model(reader)
    record = packaged.fitted_on.get(reader, {})
    added = list(record.get("extended", {}).get("features", [])) if isinstance(record, dict) else []
    if extend:
        if baseline is None:
            raise ValueError(f"no packaged decision for {reader} to extend; fit one with --fit")
        baseline = baseline.without(added)
        data = {name: rs for name, predictions in reports.items() if (rs := rows(predictions))}
        result = extend_rows(data, reader, baseline)
    else:
        result = fit_reports(reports, reader, baseline=baseline)
    previous = current.fitted_on.get(reader, {})
    kept = {k: v for k, v in previous.items() if k != "extended"} if isinstance(previous, dict) else {}
    new_features = [f for f in result.model.features if baseline is None or f not in baseline.features]
    made: dict[str, Any] = (
        {"extended": {"reports": sorted(reports), "command": command, "objective": EXTEND_OBJECTIVE,
                      "features": new_features}, **kept}
        if extend else {"reports": sorted(reports), "command": command, "objective": OBJECTIVE,
                        "office_share_of_loss": result.office_share})
    models = DecisionModels({**current.models, reader: result.model}, {**current.fitted_on, reader: made})
    return Refit(result, baseline, models)
