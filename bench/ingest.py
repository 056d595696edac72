"""Ingest benchmark: from scratch (empty cache), unchanged re-ingest, adding one article, and swapping it in.

    python -m bench.ingest --corpus realtimeqa --data /work/cache/rtqa-data
    python -m bench.ingest --corpus realtimeqa --data /work/cache/rtqa-data --incremental-only --swap

``--incremental-only`` keeps the data folder as built and works on a copy of it; ``--swap`` also starts a real
``article-qa serve`` on 127.0.0.1, adds one more article while it serves and times until it answers from it.
"""

from __future__ import annotations

import argparse
import json
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

from bench.common import corpus_folder, save
from bench.server import BenchServer
from core.config import Settings
from index.embedding import get_embedder
from index.snapshot import load_latest
from ingest.chunking import embedding_text
from ingest.pipeline import IngestReport, build_snapshot


def _article(name: str) -> str:
    return (f"Bench article {name}\n\n1 March 2025\n\nThe benchmark added article {name} to measure an "
            "incremental rebuild. It has two sentences.\n")


def _step(report: IngestReport) -> dict[str, Any]:
    return {"seconds": round(report.seconds, 2), "articles": report.articles, "chunks": report.chunks,
            "embedded": report.embedded, "published": report.published, "added": report.added,
            "first_version_seconds": None if report.first_seconds is None else round(report.first_seconds, 2)}


def embedder_alone(data: Path, settings: Settings) -> dict[str, Any]:
    """The embedder by itself on the snapshot's chunk texts (same batch size): the ceiling for ingest."""
    snapshot, _ = load_latest(data)
    texts = [embedding_text(snapshot.articles[c.article_id], c) for c in snapshot.chunks]
    embedder = get_embedder(settings.embedding.model, settings.threads)
    started = time.perf_counter()
    for i in range(0, len(texts), 128):
        embedder.encode(texts[i:i + 128], batch_size=settings.embedding.batch_size)
    seconds = time.perf_counter() - started
    return {"seconds": round(seconds, 2), "chunks": len(texts), "chunks_per_s": round(len(texts) / seconds, 1)}


def swap_in(work: Path, data: Path, settings: Settings, port: int) -> dict[str, Any]:
    """Publish one more article while a server serves ``data``; time until the server answers from it."""
    with BenchServer(work, data, port, env={"ARTICLE_QA_RELOAD_POLL_SECONDS": "1"}) as server:
        before = server.snapshot()
        (work / "swap-article.txt").write_text(_article("swap"))
        started = time.perf_counter()
        report = build_snapshot(work, data, settings)
        published = time.perf_counter() - started
        deadline = time.monotonic() + 120
        while server.snapshot() != report.version and time.monotonic() < deadline:
            time.sleep(0.05)
        total = time.perf_counter() - started
        served = server.snapshot() == report.version
        found = httpx.get(f"{server.url}/articles/swap-article", timeout=10).status_code if served else None
    return {"publish_seconds": round(published, 2), "served_after_seconds": round(total, 2), "served": served,
            "previous": before, "new": report.version, "embedded": report.embedded, "article_lookup": found,
            "reload_poll_seconds": 1}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--corpus", choices=["seed", "realtimeqa"], default="seed")
    parser.add_argument("--data", type=Path, help="data folder to build (default: a fresh temp folder)")
    parser.add_argument("--incremental-only", action="store_true",
                        help="skip the build from scratch; run the other steps on a copy of --data")
    parser.add_argument("--swap", action="store_true", help="also time adding one article to a serving index")
    parser.add_argument("--port", type=int, default=18610)
    parser.add_argument("--limit", type=int, help="only the first N articles of a JSONL corpus")
    parser.add_argument("--embedder-alone", action="store_true",
                        help="after the build from scratch, time the embedder alone on the same chunk texts")
    args = parser.parse_args()

    folder = corpus_folder(args.corpus, args.limit)
    data = args.data or Path(tempfile.mkdtemp(prefix="aqa-bench-data-"))
    settings = Settings(articles_dir=folder, data_dir=data)
    t = time.perf_counter()
    get_embedder(settings.embedding.model, settings.threads)
    result: dict[str, Any] = {"corpus": args.corpus, "limit": args.limit,
                              "model_load_s": round(time.perf_counter() - t, 2)}

    if args.incremental_only:
        if not (data / "CURRENT").exists():
            raise SystemExit(f"{data} holds no snapshot; build it first without --incremental-only")
        copy = Path(tempfile.mkdtemp(prefix="aqa-bench-incr-")) / "data"
        shutil.copytree(data, copy)
        data = copy
        settings = settings.override(data_dir=data)
    else:
        if data.exists():
            shutil.rmtree(data)
        scratch = build_snapshot(folder, data, settings)
        result["scratch"] = {**_step(scratch), "articles_per_s": round(scratch.articles / scratch.seconds, 1),
                             "chunks_per_s": round(scratch.chunks / scratch.seconds, 1)}
        result["scratch"].pop("added")
        if args.embedder_alone:
            alone = result["embedder_alone"] = embedder_alone(data, settings)
            result["scratch"]["vs_embedder_alone"] = round(
                result["scratch"]["chunks_per_s"] / alone["chunks_per_s"], 3)
            if scratch.first_seconds is not None:  # deferred sentence vectors: when answers began
                result["scratch"]["first_version_vs_embedder_alone"] = round(
                    scratch.first_seconds / alone["seconds"], 3)

    unchanged = build_snapshot(folder, data, settings)
    result["unchanged"] = {k: v for k, v in _step(unchanged).items() if k != "added"}

    work = Path(tempfile.mkdtemp(prefix="aqa-bench-add-"))
    for item in folder.iterdir():
        (work / item.name).symlink_to(item.resolve())
    (work / "one-more.txt").write_text(_article("one"))
    result["add_one"] = _step(build_snapshot(work, data, settings))
    if args.swap:
        result["add_one_and_swap"] = swap_in(work, data, settings, args.port)
    result["data_dir"] = str(data)
    name = f"ingest-{args.corpus}" + (f"-first{args.limit}" if args.limit else "")
    path = save(name + ("-incremental" if args.incremental_only else ""), result)
    print(json.dumps(result, indent=2))
    print(f"saved {path}")


if __name__ == "__main__":
    main()
