"""Scaling on synthetic corpora: build time, memory and candidate-search latency per backend and corpus size.

    python -m bench.scaling --sizes 10000,100000 --queries 200

Chunks are synthetic (10 per article, random unit vectors of 384 dimensions, 60 tokens drawn from a Zipf
vocabulary of 50,000 terms, dates over 5 years), so no embedding is needed and sizes beyond what the embedder
could produce here can be measured. Each size is published through the real backends (``publish``) and searched
through ``IndexSnapshot.candidates`` (dense + BM25, the part that depends on the corpus size; the query encode
and the reader do not). Milvus runs as milvus-lite's engine serving on 127.0.0.1 in its own process, so its
memory is that process's RSS growth; the local backend's is the size of its FAISS and BM25 arrays. The article
and chunk records, held in memory by every replica of either backend, are not included (see docs/scaling.md).
"""

from __future__ import annotations

import argparse
import gc
import hashlib
import shutil
import socket
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import numpy as np

from bench.common import percentile, rss_mib, save
from core.config import Settings
from core.documents import Article, Chunk
from index.backends import backend_for
from index.backends.base import IndexSnapshot, SearchFilters
from index.backends.milvus import MilvusBackend, disconnect
from index.snapshot import Snapshot

CHUNKS_PER_ARTICLE = 10
TOKENS_PER_CHUNK = 60
VOCABULARY = 50_000
DIMENSION = 384


def corpus(n_chunks: int, seed: int = 0) -> tuple[list[Article], list[Chunk], np.ndarray, list[list[str]]]:
    rng = np.random.default_rng(seed)
    n_articles = max(1, n_chunks // CHUNKS_PER_ARTICLE)
    articles, chunks = [], []
    first_day = date(2021, 1, 1)
    for a in range(n_articles):
        text = " ".join(f"Sentence {s} of synthetic article {a}." for s in range(CHUNKS_PER_ARTICLE))
        day = (first_day + timedelta(days=int(rng.integers(0, 5 * 365)))).isoformat()
        article = Article(id=f"a{a}", title=f"Synthetic article {a}", text=text, source=f"source-{a % 50}.jsonl",
                          content_hash=hashlib.sha256(text.encode()).hexdigest(), date=day)
        articles.append(article)
        offset = 0
        for s in range(CHUNKS_PER_ARTICLE):
            end = text.index(".", offset) + 1
            chunks.append(Chunk(f"a{a}:{s}", article.id, s, offset, end, text[offset:end]))
            offset = end + 1
    n = len(chunks)
    vectors = rng.standard_normal((n, DIMENSION), dtype=np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    ranks = np.minimum(rng.zipf(1.2, size=(n, TOKENS_PER_CHUNK)), VOCABULARY) - 1
    tokens = [[f"t{r}" for r in row] for row in ranks]
    return articles, chunks, vectors, tokens


def queries(vectors: np.ndarray, tokens: list[list[str]], count: int, seed: int = 1) -> list[tuple[np.ndarray,
                                                                                                  list[str]]]:
    rng = np.random.default_rng(seed)
    out = []
    for i in rng.integers(0, len(vectors), count):
        q = vectors[i] + 0.3 * rng.standard_normal(DIMENSION).astype(np.float32)
        out.append((q / np.linalg.norm(q), list(rng.choice(tokens[i], 5, replace=False))))
    return out


def latency(snapshot: IndexSnapshot, probes: list[tuple[np.ndarray, list[str]]]) -> dict[str, float]:
    for vector, terms in probes[:10]:
        snapshot.candidates(vector, terms, 50, None)
    timings: dict[str, list[float]] = {"hybrid": [], "filtered": []}
    after = SearchFilters(published_after=date(2024, 1, 1))
    for vector, terms in probes:
        started = time.perf_counter()
        snapshot.candidates(vector, terms, 50, None)
        timings["hybrid"].append(1000 * (time.perf_counter() - started))
        started = time.perf_counter()
        snapshot.candidates(vector, terms, 50, after)
        timings["filtered"].append(1000 * (time.perf_counter() - started))
    return {f"{k}_{q}_ms": round(percentile(v, q), 2) for k, v in timings.items() for q in (50, 95)}


def run_local(root: Path, data: tuple[Any, ...], probes: list[tuple[np.ndarray, list[str]]]) -> dict[str, Any]:
    articles, chunks, vectors, tokens = data
    backend = backend_for(Settings(data_dir=root / "local"))
    started = time.perf_counter()
    backend.publish(articles, chunks, vectors, tokens, "synthetic")
    build = time.perf_counter() - started
    snapshot = backend.load_latest()[0]
    assert isinstance(snapshot, Snapshot)
    scores = getattr(snapshot.lexical, "scores", {})
    lexical = sum(v.nbytes for v in scores.values() if isinstance(v, np.ndarray))
    dense = snapshot.dense.ntotal * snapshot.dense.d * 4
    result = {"build_s": round(build, 1), "memory_mib": round((dense + lexical) / 2**20, 1),
              "dense_mib": round(dense / 2**20, 1), "bm25_mib": round(lexical / 2**20, 1),
              **latency(snapshot, probes)}
    del snapshot
    return result


def run_milvus(root: Path, data: tuple[Any, ...], probes: list[tuple[np.ndarray, list[str]]],
               index_type: str) -> dict[str, Any]:
    from milvus_lite.server import Server

    articles, chunks, vectors, tokens = data
    port = free_port()
    server = Server(str(root / "milvus" / "milvus.db"), f"127.0.0.1:{port}")
    (root / "milvus").mkdir()
    assert server.init() and server.start()
    time.sleep(1.0)
    uri = f"http://127.0.0.1:{port}"
    try:
        settings = Settings(data_dir=root / "milvus", index_backend="milvus", milvus_uri=uri,
                            milvus_index_type=index_type,
                            milvus_index_params={"nlist": 1024} if index_type == "IVF_FLAT" else {},
                            milvus_search_params={"nprobe": 32} if index_type == "IVF_FLAT" else {})
        backend = backend_for(settings)
        assert isinstance(backend, MilvusBackend)
        engine = server._p.pid
        idle = rss_mib(engine)
        started = time.perf_counter()
        backend.publish(articles, chunks, vectors, tokens, "synthetic")
        build = time.perf_counter() - started
        snapshot = backend.load_latest()[0]
        result = {"build_s": round(build, 1), "engine_idle_mib": round(idle, 1),
                  "memory_mib": round(rss_mib(engine) - idle, 1), **latency(snapshot, probes)}
        result["engine_after_queries_mib"] = round(rss_mib(engine), 1)
        result["disk_mib"] = round(sum(p.stat().st_size for p in (root / "milvus").rglob("*") if p.is_file())
                                   / 2**20, 1)
        return result
    finally:
        disconnect(uri)
        server.stop()
        process = getattr(server, "_p", None)
        if process is not None and process.poll() is None:
            process.terminate()
            process.wait(timeout=30)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", default="10000,100000", help="corpus sizes in chunks, comma-separated")
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--backends", default="local,milvus")
    parser.add_argument("--milvus-index", default="FLAT", help="FLAT, IVF_FLAT or AUTOINDEX (embedded engine)")
    args = parser.parse_args()
    results: list[dict[str, Any]] = []
    for size in (int(s) for s in args.sizes.split(",")):
        data = corpus(size)
        probes = queries(data[2], data[3], args.queries)
        for name in args.backends.split(","):
            root = Path(tempfile.mkdtemp(prefix=f"aqa-scale-{name}-{size}-"))
            try:
                row = run_local(root, data, probes) if name == "local" else \
                    run_milvus(root, data, probes, args.milvus_index)
            finally:
                shutil.rmtree(root, ignore_errors=True)
            row = {"backend": name if name == "local" else f"milvus ({args.milvus_index})", "chunks": size, **row}
            print(row, flush=True)
            results.append(row)
        del data
        gc.collect()
    save(f"scaling-{args.milvus_index.lower()}", {"args": vars(args), "results": results})


if __name__ == "__main__":
    main()
