"""Ingest benchmark: from scratch (empty cache), unchanged re-ingest, and adding one article.

    python -m bench.ingest --corpus realtimeqa
"""

from __future__ import annotations

import argparse
import json
import shutil
import tempfile
import time
from pathlib import Path

from bench.common import corpus_folder, save
from core.config import Settings
from index.embedding import get_embedder
from ingest.pipeline import build_snapshot


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--corpus", choices=["seed", "realtimeqa"], default="seed")
    parser.add_argument("--data", type=Path, help="data folder to build (default: a fresh temp folder)")
    args = parser.parse_args()

    folder = corpus_folder(args.corpus)
    data = args.data or Path(tempfile.mkdtemp(prefix="aqa-bench-data-"))
    if data.exists():
        shutil.rmtree(data)
    settings = Settings(articles_dir=folder, data_dir=data)
    t = time.perf_counter()
    get_embedder(settings.embedding_model, settings.threads)
    model_load = time.perf_counter() - t

    scratch = build_snapshot(folder, data, settings)
    unchanged = build_snapshot(folder, data, settings)

    work = Path(tempfile.mkdtemp(prefix="aqa-bench-add-"))
    for item in folder.iterdir():
        (work / item.name).symlink_to(item.resolve())
    (work / "one-more.txt").write_text(
        "Bench article\n\n1 March 2025\n\nThe benchmark added this article to measure an incremental "
        "rebuild. It has two sentences.\n")
    added = build_snapshot(work, data, settings)

    result = {
        "corpus": args.corpus,
        "model_load_s": round(model_load, 2),
        "scratch": {"seconds": round(scratch.seconds, 2), "articles": scratch.articles, "chunks": scratch.chunks,
                    "embedded": scratch.embedded,
                    "articles_per_s": round(scratch.articles / scratch.seconds, 1),
                    "chunks_per_s": round(scratch.chunks / scratch.seconds, 1)},
        "unchanged": {"seconds": round(unchanged.seconds, 2), "embedded": unchanged.embedded,
                      "published": unchanged.published},
        "add_one": {"seconds": round(added.seconds, 2), "embedded": added.embedded, "added": added.added},
        "data_dir": str(data),
    }
    path = save(f"ingest-{args.corpus}", result)
    print(json.dumps(result, indent=2))
    print(f"saved {path}")


if __name__ == "__main__":
    main()
