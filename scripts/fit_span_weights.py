"""Fit the extractive reader's span weights: a conditional logit over each question's candidate spans.

The reader keeps, among the candidate spans of its best evidence sentences, the one whose sentence score plus
``span_weight`` times its fit (the weighted sum of its span features) is highest. This script collects those
candidates with their features for questions of the dev sets, marks the ones that match a gold answer (token
F1 >= ``--match``), and fits the weights by maximum likelihood of choosing a matching one (softmax over the
question's candidates), pulled towards the previous weights by an L2 prior chosen by cross-validation.

The office's sets (campus-news, seed-questions) weigh as much as the public ones together. SQuAD is split by
article: only even-numbered articles are fitted on, so the odd ones (and the standard eval sample's questions
on them) stay held out. Run from the repository root (about 10 minutes on two cores):

    python scripts/fit_span_weights.py --write qa/readers/span_weights.json
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from scipy.optimize import minimize

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from core.config import Settings  # noqa: E402
from evaluation.datasets import EvalQuestion  # noqa: E402
from evaluation.metrics import f1  # noqa: E402
from evaluation.runner import EvalOptions, runner_for  # noqa: E402
from qa.readers.extractive import SPAN_FEATURES, SPAN_WEIGHTS_PATH, ExtractiveConfig, load_span_weights  # noqa: E402
from qa.records import AnswerMode, EvidenceSet, Query, Retrieved  # noqa: E402

OFFICE = ("campus-news", "seed-questions")
# (dataset, questions sampled, other documents indexed beside the gold ones)
SETS: tuple[tuple[str, int | None, int | None], ...] = (
    ("campus-news", None, None), ("seed-questions", None, None),
    ("squad2-dev-half", 900, 300), ("realtimeqa-news", 300, 300),
)
NAMES = list(SPAN_FEATURES)
ALPHA_MIN = 0.05  # the sentence score keeps a positive weight, so the fit converts back to span weights


@dataclass
class Example:
    """One question's candidates: sentence scores, feature rows, and which candidates match a gold answer."""

    dataset: str
    qid: str
    sentence: np.ndarray
    features: np.ndarray
    gold: np.ndarray
    fit: bool
    weight: float = 1.0


def fitted_on(dataset: str, q: EvalQuestion) -> bool:
    """SQuAD by article (even-numbered ones), the news set by question; the office sets whole."""
    if dataset == "squad2-dev-half":
        return int(sorted(q.gold_docs)[0].split("-")[1]) % 2 == 0
    if dataset == "realtimeqa-news":
        return int(hashlib.sha256(q.id.encode()).hexdigest(), 16) % 2 == 0
    return True


def collect(settings: Settings, dataset: str, sample: int | None, corpus_limit: int | None,
            match: float) -> list[Example]:
    runner = runner_for(settings, EvalOptions(dataset, AnswerMode.EXTRACTIVE, sample, 0, corpus_limit))
    pipeline = runner.build_index()
    reader = pipeline.extractive
    spans_from = ExtractiveConfig().spans_from_sentences
    seen: list[Any] = []
    original = reader.run

    def recording(query: Query, retrieved: Retrieved, evidence: EvidenceSet) -> Any:
        seen.append((query.analysis, list(evidence.sentences)))
        return original(query, retrieved, evidence)

    reader.run = recording  # type: ignore[method-assign]
    out = []
    for q in runner.questions:
        if not q.answerable or not q.answers:
            continue
        seen.clear()
        pipeline.ask(q.question, mode=AnswerMode.EXTRACTIVE)
        if not seen or seen[0][0].meta_field:
            continue
        analysis, evidence = seen[0]
        rows, sentence, scores = [], [], []
        for ev in evidence[:spans_from]:
            for cand in reader.candidates(analysis, ev):
                rows.append([cand.features.get(n, 0.0) for n in NAMES])
                sentence.append(ev.score)
                scores.append(max(f1(cand.span.text, g) for g in q.answers))
        if not rows:
            continue
        best = max(scores)
        gold = np.array([s >= match and s == best for s in scores])
        out.append(Example(dataset, q.id, np.array(sentence), np.array(rows), gold, fitted_on(dataset, q)))
    print(f"{dataset}: {len(out)} questions with candidates, {sum(e.gold.any() for e in out)} with a match",
          file=sys.stderr)
    return out


def design(ex: Example) -> np.ndarray:
    """Each candidate's row: its sentence's score, then its span features."""
    return np.column_stack([ex.sentence, ex.features])


def utilities(params: np.ndarray, ex: Example) -> np.ndarray:
    return design(ex) @ params


def loss(params: np.ndarray, examples: list[Example], prior: np.ndarray, lam: float) -> tuple[float, np.ndarray]:
    """Weighted negative log-likelihood of choosing a matching candidate, plus the prior; and its gradient."""
    total, grad = 0.0, np.zeros_like(params)
    for ex in examples:
        x = design(ex)
        u = x @ params
        p_all = np.exp(u - u.max())
        p_gold = np.where(ex.gold, p_all, 0.0)
        total += ex.weight * (np.log(p_all.sum()) - np.log(p_gold.sum()))
        grad += ex.weight * (x.T @ (p_all / p_all.sum()) - x.T @ (p_gold / p_gold.sum()))
    diff = params - prior
    diff[0] = 0.0
    return float(total + lam * np.sum(diff ** 2)), grad + 2 * lam * diff


def fit(examples: list[Example], prior: np.ndarray, lam: float) -> np.ndarray:
    usable = [e for e in examples if e.gold.any()]
    bounds = [(ALPHA_MIN, None)] + [(None, None)] * (len(prior) - 1)
    result = minimize(loss, prior, args=(usable, prior, lam), jac=True, method="L-BFGS-B", bounds=bounds)
    return np.asarray(result.x)


def chosen_right(params: np.ndarray, examples: list[Example]) -> float:
    """Weighted share of questions whose top candidate matches a gold answer."""
    right = sum(e.weight * bool(e.gold[int(np.argmax(utilities(params, e)))]) for e in examples)
    return float(right / max(1e-9, sum(e.weight for e in examples)))


def weigh(examples: list[Example]) -> None:
    """The office's questions together weigh as much as the public ones together."""
    office = [e for e in examples if e.dataset in OFFICE]
    public = [e for e in examples if e.dataset not in OFFICE]
    for e in office:
        e.weight = len(public) / max(1, len(office))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--eval-dir", type=Path, default=Path("data/eval"))
    parser.add_argument("--match", type=float, default=0.5, help="least token F1 for a candidate to match")
    parser.add_argument("--write", type=Path, help="write the fitted weights here")
    parser.add_argument("--folds", type=int, default=5)
    args = parser.parse_args()
    settings = Settings().override(eval_dir=args.eval_dir)
    span_weight = ExtractiveConfig().span_weight
    before = load_span_weights(SPAN_WEIGHTS_PATH)
    prior = np.array([1.0] + [span_weight * before[n] for n in NAMES])
    examples = [e for name, sample, limit in SETS for e in collect(settings, name, sample, limit, args.match)]
    weigh(examples)
    train = [e for e in examples if e.fit]
    held = [e for e in examples if not e.fit]
    rng = np.random.default_rng(0)
    folds = rng.integers(0, args.folds, len(train))
    cv = {}
    for lam in (0.3, 1.0, 3.0, 10.0, 30.0):
        right = []
        for k in range(args.folds):
            params = fit([e for e, f in zip(train, folds, strict=True) if f != k], prior, lam)
            right.append(chosen_right(params, [e for e, f in zip(train, folds, strict=True) if f == k]))
        cv[lam] = float(np.mean(right))
        print(f"lambda {lam}: cross-validated top candidate right {cv[lam]:.3f} (previous weights "
              f"{chosen_right(prior, train):.3f})", file=sys.stderr)
    lam = max(cv, key=lambda x: cv[x])
    params = fit(train, prior, lam)
    report: dict[str, Any] = {"lambda": lam, "cross_validated": round(cv[lam], 4)}
    for name in dict.fromkeys(e.dataset for e in examples):
        for part, group in (("fitted", train), ("held_out", held)):
            rows = [e for e in group if e.dataset == name]
            if rows:
                report[f"{name} {part} ({len(rows)})"] = {"before": round(chosen_right(prior, rows), 4),
                                                          "after": round(chosen_right(params, rows), 4)}
    weights = {n: round(float(params[i + 1] / (params[0] * span_weight)), 4) for i, n in enumerate(NAMES)}
    print(json.dumps(report, indent=1), file=sys.stderr)
    print(json.dumps(weights, indent=1))
    if args.write:
        doc = json.loads(SPAN_WEIGHTS_PATH.read_text(encoding="utf-8"))
        doc.update({"fitted_by": "python scripts/fit_span_weights.py --write qa/readers/span_weights.json",
                    "report": report, "weights": weights})
        args.write.write_text(json.dumps(doc, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
