"""Reading ablation: the generator's own answers (before the decision) under different prompt shapes.

For each variant (passage windows, neighbour sentences, word budget, worked examples, passage order) it reports
the F1 of the generated span on the dev questions, how often the model said NONE, and the prompt size and
time, on the index `article-qa eval` built. Each variant is measured on the same questions in one run.

    .venv/bin/python -m bench.tune_reader --dataset realtimeqa-news --variants words=160,220,320
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import time
from dataclasses import replace
from datetime import date
from typing import Any

from core.config import Settings
from evaluation import metrics as m
from evaluation.runner import EvalOptions, runner_for
from index.retriever import SearchFilters
from qa.generation.models import generator_provider
from qa.readers.generative import GenerativeReader
from qa.records import AnswerMode, AskInput

KNOBS = {"words": "window_words", "windows": "window_limit", "neighbours": "window_sentences",
         "examples": "examples", "best_last": "best_last"}


def variants(spec: str) -> list[dict[str, Any]]:
    """``words=160,220;examples=0,1`` -> the cross product of the listed values."""
    grid: list[dict[str, Any]] = [{}]
    for part in filter(None, spec.split(";")):
        knob, values = part.split("=")
        grid = [{**g, knob: int(v)} for g in grid for v in values.split(",")]
    return grid


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dataset", default="realtimeqa-news", choices=["realtimeqa-news", "squad2-dev-half"])
    parser.add_argument("--variants", default="words=220")
    parser.add_argument("--sample", type=int, default=None)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    settings = Settings()
    provider = generator_provider(settings)
    if provider is None:
        raise SystemExit("the generator is not installed: run scripts/install.sh --generator")
    runner = runner_for(settings, EvalOptions(args.dataset, AnswerMode.GENERATIVE, args.sample, args.seed,
                                              oracle=False), provider)
    pipeline = runner.build_index()
    questions = [q for q in runner.questions if q.answerable]
    random.Random(args.seed).shuffle(questions)
    grid = variants(args.variants)
    results: dict[int, list[tuple[float, bool, int, float]]] = {i: [] for i in range(len(grid))}
    for q in questions:
        as_of = date.fromisoformat(q.as_of) if q.as_of else None
        filters = SearchFilters(published_before=as_of) if as_of else None
        query = pipeline.question.run(AskInput(q.question, (), 10, filters, AnswerMode.GENERATIVE, as_of),
                                      AnswerMode.GENERATIVE)
        retrieved = pipeline.retrieval.run(query)
        for i, variant in enumerate(grid):
            evidence_config = replace(pipeline.evidence.config, **{KNOBS[k]: v for k, v in variant.items()
                                                                   if KNOBS[k].startswith("window")})
            stage = replace_config(pipeline, evidence_config)
            evidence = stage.run(query, retrieved)
            flags = {KNOBS[k]: bool(v) for k, v in variant.items() if not KNOBS[k].startswith("window")}
            reader_config = replace(pipeline.generative.config, **flags)  # type: ignore[union-attr]
            reader = GenerativeReader(provider, reader_config)
            started = time.perf_counter()
            generated = reader.run(query, evidence)
            text = generated.span.text if generated.span else None
            f1 = m.answer_scores(text, q.answers)[1] if text else 0.0
            results[i].append((f1, generated.generation.said_none, generated.generation.prompt_tokens,
                               time.perf_counter() - started))
    for i, variant in enumerate(grid):
        rows = results[i]
        print(json.dumps({"variant": variant, "questions": len(rows),
                          "generated_f1": round(100 * statistics.mean(r[0] for r in rows), 2),
                          "said_none_pct": round(100 * statistics.mean(r[1] for r in rows), 1),
                          "prompt_tokens_p50": statistics.median(r[2] for r in rows),
                          "seconds_p50": round(statistics.median(r[3] for r in rows), 2)}))


def replace_config(pipeline: Any, config: Any) -> Any:
    """The pipeline's evidence stage with another configuration (same weights and encoder)."""
    from qa.evidence import EvidenceStage

    stage: EvidenceStage = pipeline.evidence
    return EvidenceStage(stage.weights, stage.encode, config, stage.table)


if __name__ == "__main__":
    main()
