"""Distributed ingest: chunks/s with 2 Dask workers of 1 thread each against 1 worker, side by side.

    python -m bench.ingest_workers --corpus realtimeqa --limit 60 --rounds 2

Each run ingests the same articles from scratch into a fresh data folder (empty embedding cache) with
``ARTICLE_QA_INGEST_WORKERS`` = 1 or 2 (a local Dask cluster on 127.0.0.1, 1 thread per worker); runs alternate
so that load from other processes falls on both. Reported: chunks/s over the whole ingest (cluster start and
model load on the workers included) and over the embedding once the first batch is back (steady state).
The in-process embedder (today's default, ``ARTICLE_QA_THREADS`` threads) runs once for reference.
"""

from __future__ import annotations

import argparse
import os
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.common import corpus_folder, save
from core.config import Settings
from ingest.pipeline import build_snapshot


def run(articles: Path, workers: int) -> dict[str, Any]:
    data = Path(tempfile.mkdtemp(prefix=f"aqa-workers-{workers}-"))
    ticks: list[tuple[float, int]] = []

    def progress(stage: str, done: int, total: int) -> None:
        if stage == "embedding":
            ticks.append((time.perf_counter(), done))

    try:
        settings = Settings(articles_dir=articles, data_dir=data, ingest_workers=workers, ingest_worker_threads=1)
        started = time.perf_counter()
        report = build_snapshot(articles, data, settings, progress)
        total = time.perf_counter() - started
    finally:
        shutil.rmtree(data, ignore_errors=True)
    first_batch = next((t, d) for t, d in ticks if d > 0)
    last = ticks[-1]
    steady = (last[1] - first_batch[1]) / max(1e-9, last[0] - first_batch[0])
    return {"workers": workers or "in-process", "chunks": report.chunks, "seconds": round(total, 1),
            "chunks_per_s": round(report.chunks / total, 2), "steady_chunks_per_s": round(steady, 2),
            "load_average": os.getloadavg()[0]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--corpus", default="realtimeqa")
    parser.add_argument("--limit", type=int, default=60, help="articles to ingest per run")
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    articles = corpus_folder(args.corpus, args.limit)
    rows = []
    for _ in range(args.rounds):
        for workers in (1, 2):
            row = run(articles, workers)
            print(row, flush=True)
            rows.append(row)
    reference = run(articles, 0)
    print(reference, flush=True)

    def mean(key: str, workers: int) -> float:
        values = [r[key] for r in rows if r["workers"] == workers]
        return sum(values) / len(values)

    ratio = {key: round(mean(key, 2) / mean(key, 1), 2) for key in ("chunks_per_s", "steady_chunks_per_s")}
    print(f"2 workers x 1 thread vs 1 worker: {ratio}")
    save("ingest-workers", {"args": vars(args), "runs": rows, "in_process": reference, "ratio_2_vs_1": ratio})


if __name__ == "__main__":
    main()
