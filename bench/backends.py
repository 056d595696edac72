"""Query latency of the two index backends side by side on an evaluation index (the news set by default).

    .venv/bin/article-qa eval realtimeqa-news                                    # builds the local index
    ARTICLE_QA_INDEX_BACKEND=milvus .venv/bin/article-qa eval realtimeqa-news    # the Milvus one, same data folder
    .venv/bin/python -m bench.backends --dataset realtimeqa-news --repeats 3

Every question is asked "as of" its date on both backends in turn (the order alternates), in one process, so
machine load falls on both alike. Reported per backend: p50/p95 of the whole extractive ``ask``, of its
retrieve stage, and of the backend's candidate search alone; their ratios; and how many answers differ.
"""

from __future__ import annotations

import argparse
import time
from datetime import date
from typing import Any

from bench.common import percentile, save
from core.config import Settings
from evaluation.datasets import load
from index.analysis import analyze
from index.backends import backend_for
from index.embedding import get_embedder
from index.retriever import SearchFilters
from qa.pipeline import AnswerPipeline


def records_memory(path: Any) -> float:
    """Python memory of one version's article and chunk records: what every replica holds besides the index."""
    import tracemalloc

    from index.snapshot import read_records

    tracemalloc.start()
    records = read_records(path)
    size = tracemalloc.get_traced_memory()[0]
    tracemalloc.stop()
    del records
    return round(size / 2**20, 1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--dataset", default="realtimeqa-news")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    base = Settings()
    data = base.eval_dir / args.dataset / "data"
    prefix = f"{base.milvus.collection}_eval_{args.dataset}".replace("-", "_")
    settings = {
        "local": base.override(data_dir=data, index_backend="local"),
        "milvus": base.override(data_dir=data, index_backend="milvus", milvus_collection=prefix),
    }
    embedder = get_embedder(base.embedding.model, base.threads)
    answerers = {name: AnswerPipeline(backend_for(s).load_latest()[0], embedder, s) for name, s in settings.items()}
    versions = {name: a.snapshot.version for name, a in answerers.items()}
    questions = load(args.dataset, base.datasets_dir).questions
    timings: dict[str, dict[str, list[float]]] = {n: {"ask": [], "retrieve": [], "candidates": []} for n in answerers}
    differ = 0
    for repeat in range(args.repeats):
        for i, q in enumerate(questions):
            as_of = date.fromisoformat(q.as_of) if q.as_of else None
            filters = SearchFilters(published_before=as_of)
            vector = embedder.encode_query(q.question)
            order = list(answerers) if (i + repeat) % 2 == 0 else list(reversed(answerers))
            answers: dict[str, Any] = {}
            for name in order:
                answerer = answerers[name]
                started = time.perf_counter()
                result = answerer.ask(q.question, 10, filters, "extractive", as_of=as_of)
                timings[name]["ask"].append(1000 * (time.perf_counter() - started))
                timings[name]["retrieve"].append(result.timings_ms.get("retrieve", float("nan")))
                started = time.perf_counter()
                answerer.snapshot.candidates(vector, analyze(q.question), 50, filters)
                timings[name]["candidates"].append(1000 * (time.perf_counter() - started))
                answers[name] = (result.answer, [c.article_id for c in result.citations])
            differ += int(repeat == 0 and answers["local"] != answers["milvus"])
    summary: dict[str, Any] = {
        name: {f"{stage}_{q}_ms": round(percentile(values, q), 1) for stage, values in stages.items() for q in (50, 95)}
        for name, stages in timings.items()}
    summary["ratio_milvus_vs_local"] = {
        stage: round(percentile(timings["milvus"][stage], 50) / percentile(timings["local"][stage], 50), 2)
        for stage in ("ask", "retrieve", "candidates")}
    summary["answers_differing"] = differ
    summary["records_in_memory_mib"] = records_memory(answerers["milvus"].snapshot.path)
    summary["questions"] = len(questions)
    summary["versions"] = versions
    print(summary)
    save(f"backends-{args.dataset}", {"args": vars(args), **summary})


if __name__ == "__main__":
    main()
