"""article-qa's hybrid retrieval side by side with txtai and Haystack 2.x: same machine, model, chunks, questions.

The peers run in their own venv (created from ``bench/peers/requirements.txt`` when missing, outside the repo),
so the project's dependencies stay untouched. Every system indexes article-qa's chunks of the same snapshot
(embedding text: title and date line + chunk), answers the same questions with the question's date as a
published-before filter, and is scored by Recall@5 of the gold article over the distinct articles of its top
20 chunks.

    python -m bench.compare_peers --data /work/cache/rtqa-data --venv /work/cache/peers-venv
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np

from bench.common import CORPORA, ROOT, save
from core.config import Settings
from evaluation import metrics as m
from evaluation.datasets import load as load_dataset
from index import snapshot as snap
from index.analysis import analyze
from index.embedding import get_embedder
from index.retriever import HybridRetriever, RetrievalConfig, SearchFilters
from ingest.chunking import embedding_text, lexical_text
from ingest.cleaning import slugify
from ingest.pipeline import build_snapshot
from qa import temporal

PEERS = ("txtai", "haystack")
REQUIREMENTS = ROOT / "bench" / "peers" / "requirements.txt"
WORKER = ROOT / "bench" / "peers" / "run_peer.py"
TOP_CHUNKS = 20


def ensure_venv(venv: Path) -> Path:
    """The peers' own venv: torch (CPU) first, then the pinned peers; created once."""
    python = venv / "bin" / "python"
    if not python.exists():
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        pip = [str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
        subprocess.run([*pip, "torch==2.13.0"], check=True)
        subprocess.run([*pip, "-r", str(REQUIREMENTS)], check=True)
    return python


def write_inputs(snapshot: snap.Snapshot, questions: list[dict[str, Any]], work: Path, vectors: bool) -> None:
    """The shared inputs: article-qa's chunks (embedding text), the questions, and optionally the vectors."""
    work.mkdir(parents=True, exist_ok=True)
    with open(work / "chunks.jsonl", "w", encoding="utf-8") as fh:
        for c in snapshot.chunks:
            article = snapshot.articles[c.article_id]
            fh.write(json.dumps({"id": c.id, "article_id": c.article_id, "date": (article.date or "")[:10] or None,
                                 "text": embedding_text(article, c)}) + "\n")
    with open(work / "questions.jsonl", "w", encoding="utf-8") as fh:
        for q in questions:
            fh.write(json.dumps({"id": q["id"], "question": q["question"], "before": q["before"]}) + "\n")
    if vectors:
        np.save(work / "vectors.npy", snapshot.dense.reconstruct_n(0, snapshot.dense.ntotal))


def index_article_qa(snapshot: snap.Snapshot) -> float:
    """article-qa's index build from given chunks and vectors: BM25 tokens, FAISS, durable snapshot files."""
    data = Path(tempfile.mkdtemp(prefix="aqa-peers-index-"))
    try:
        started = time.perf_counter()
        articles = list(snapshot.articles.values())
        tokens = [analyze(lexical_text(snapshot.articles[c.article_id], c)) for c in snapshot.chunks]
        vectors = snapshot.dense.reconstruct_n(0, snapshot.dense.ntotal)
        snap.publish(data, articles, snapshot.chunks, vectors, tokens, snapshot.model_id)
        return time.perf_counter() - started
    finally:
        shutil.rmtree(data, ignore_errors=True)


def run_article_qa(snapshot: snap.Snapshot, questions: list[dict[str, Any]], settings: Settings, repeats: int,
                   recency: bool) -> dict[str, Any]:
    """article-qa's retriever on the loaded snapshot; ``recency`` adds the service's date preference."""
    embedder = get_embedder(settings.embedding.model, settings.threads)
    retriever = HybridRetriever(snapshot, embedder, RetrievalConfig.of(settings.retrieval))

    def search(q: dict[str, Any]) -> list[str]:
        as_of = date.fromisoformat(q["before"]) if q["before"] else None
        filters = SearchFilters(published_before=as_of) if as_of else None
        prefer = None
        if recency:
            filters, prefer = temporal.scope(q["question"], filters, as_of, settings.retrieval.recency_half_life_days)
        hits = retriever.search(q["question"], TOP_CHUNKS, filters, prefer).hits
        return [h.article.id for h in hits]

    for q in questions[:5]:
        search(q)
    ranked: dict[str, list[str]] = {}
    latencies: list[float] = []
    for _ in range(repeats):
        for q in questions:
            t = time.perf_counter()
            articles = search(q)
            latencies.append((time.perf_counter() - t) * 1000)
            ranked[q["id"]] = list(dict.fromkeys(articles))
    return {"system": "article-qa" + (" (with recency preference)" if recency else ""),
            "query_ms_p50": round(statistics.median(latencies), 2), "queries_timed": len(latencies),
            "ranked": ranked}


def scratch_subset(questions: list[dict[str, Any]], count: int, work: Path, settings: Settings,
                   model_load: float) -> tuple[dict[str, Any], snap.Snapshot]:
    """article-qa's ingest from scratch (empty embedding cache) of ``count`` articles, gold articles first."""
    gold = {g for q in questions for g in q["gold"]}
    records = [json.loads(line) for line in CORPORA["realtimeqa"].read_text(encoding="utf-8").splitlines()
               if line.strip()]
    records.sort(key=lambda r: slugify(r["id"]) not in gold)
    folder = work / "articles"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "documents.jsonl").write_text("".join(json.dumps(r) + "\n" for r in records[:count]),
                                             encoding="utf-8")
    data = work / "data"
    shutil.rmtree(data, ignore_errors=True)
    report = build_snapshot(folder, data, settings.override(data_dir=data))
    loaded, _ = snap.load_latest(data)
    return {"build_seconds": round(report.seconds + model_load, 1), "chunks": report.chunks,
            "articles": report.articles, "model_load_included_s": round(model_load, 1)}, loaded


def recall(ranked: dict[str, list[str]], questions: list[dict[str, Any]], k: int = 5) -> float:
    return round(100 * m.mean([m.recall_at(ranked.get(q["id"], []), set(q["gold"]), k) for q in questions]), 1)


def peer(python: Path, system: str, work: Path, settings: Settings, extra: list[str]) -> dict[str, Any]:
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false"}
    proc = subprocess.run([str(python), str(WORKER), "--system", system, "--work", str(work),
                           "--threads", str(settings.threads), *extra], env=env, capture_output=True, text=True)
    if proc.returncode != 0:
        print(f"{system} failed:\n{proc.stderr[-2000:]}", file=sys.stderr)
        return {"system": system, "error": proc.stderr[-2000:]}
    row: dict[str, Any] = json.loads((work / f"result-{system}.json").read_text())
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, required=True, help="data folder with the realtimeqa snapshot")
    parser.add_argument("--venv", type=Path, default=Path.home() / ".cache" / "article-qa" / "peers-venv",
                        help="the peers' venv (created if missing)")
    parser.add_argument("--work", type=Path, help="folder for the shared inputs and peer results")
    parser.add_argument("--dataset", default="realtimeqa-news")
    parser.add_argument("--systems", default=",".join(PEERS), help="peers to run (comma-separated)")
    parser.add_argument("--repeats", type=int, default=3, help="timed passes over the questions")
    parser.add_argument("--scratch-articles", type=int, default=0,
                        help="also build every system from scratch (embedding included) on this many articles")
    args = parser.parse_args()

    settings = Settings()
    started = time.perf_counter()
    get_embedder(settings.embedding.model, settings.threads)
    model_load = time.perf_counter() - started
    dataset = load_dataset(args.dataset, settings.datasets_dir)
    questions = [{"id": q.id, "question": q.question, "before": q.as_of,
                  "gold": sorted(slugify(d) for d in q.gold_docs)} for q in dataset.questions if q.gold_docs]
    snapshot, _ = snap.load_latest(args.data)
    work = args.work or Path(tempfile.mkdtemp(prefix="aqa-peers-"))
    write_inputs(snapshot, questions, work, vectors=True)
    systems = [s for s in args.systems.split(",") if s]
    python = ensure_venv(args.venv)
    result: dict[str, Any] = {"dataset": args.dataset, "questions": len(questions), "chunks": len(snapshot.chunks),
                              "articles": len(snapshot.articles), "full": {}, "scratch": {}}

    aqa = run_article_qa(snapshot, questions, settings, args.repeats, recency=False)
    aqa["build_seconds"] = round(index_article_qa(snapshot), 2)
    served = run_article_qa(snapshot, questions, settings, args.repeats, recency=True)
    rows = [aqa, served] + [peer(python, s, work, settings, ["--vectors", "--repeats", str(args.repeats)])
                            for s in systems]
    for row in rows:
        if "ranked" in row:
            row["recall_at_5"] = recall(row.pop("ranked"), questions)
        result["full"][row["system"]] = row
        print(json.dumps(row), flush=True)

    if args.scratch_articles:
        sub = work / "scratch"
        built, subset = scratch_subset(questions, args.scratch_articles, sub, settings, model_load)
        result["scratch"]["article-qa"] = {"system": "article-qa", **built}
        print(json.dumps(result["scratch"]["article-qa"]), flush=True)
        write_inputs(subset, [], sub, vectors=False)
        for system in systems:
            row = peer(python, system, sub, settings, ["--build-only"])
            row.pop("ranked", None)
            result["scratch"][system] = row
            print(json.dumps(row), flush=True)

    for part in ("full", "scratch"):
        base = result[part].get("article-qa", {})
        for name, row in result[part].items():
            if name.startswith("article-qa") or "error" in row or not base:
                continue
            ratios = {"build_time": round(row["build_seconds"] / base["build_seconds"], 2)}
            if part == "full":
                ratios["query_p50"] = round(row["query_ms_p50"] / base["query_ms_p50"], 2)
                ratios["recall_at_5_points"] = round(row["recall_at_5"] - base["recall_at_5"], 1)
            row["vs_article_qa"] = ratios
    path = save("peers-" + args.dataset, result)
    print(json.dumps(result, indent=2))
    print(f"saved {path}")


if __name__ == "__main__":
    main()
