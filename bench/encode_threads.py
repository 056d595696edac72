"""Embedder latency by torch thread count and OpenMP wait policy (each setting in a fresh process).

    python -m bench.encode_threads

Spinning OpenMP threads (the libgomp default) starve each other when the cores are also busy with other
work; ``index/__init__.py`` therefore sets ``OMP_WAIT_POLICY=PASSIVE``. This shows the difference.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import time
from typing import Any

from bench.common import ROOT, save

SETTINGS = [("PASSIVE", 2), ("ACTIVE", 2), ("PASSIVE", 1), ("ACTIVE", 1)]
QUERY = "Which wildly popular show was recently green lit for a new season?"
SENTENCE = "Netflix announced on Sunday that the wildly popular South Korean show is green lit for a second season."


def measure(threads: int) -> dict[str, Any]:
    from index.embedding import get_embedder

    embedder = get_embedder("minilm", threads)
    embedder.encode_query("warm up")
    query, sentences, chunks = [], [], []
    for _ in range(10):
        t = time.perf_counter()
        embedder.encode_query(QUERY)
        query.append((time.perf_counter() - t) * 1000)
        t = time.perf_counter()
        embedder.encode([SENTENCE] * 8)
        sentences.append((time.perf_counter() - t) * 1000)
    for _ in range(2):
        t = time.perf_counter()
        embedder.encode([SENTENCE * 5] * 128)
        chunks.append(128 / (time.perf_counter() - t))
    return {"query_ms_p50": round(statistics.median(query), 1),
            "eight_sentences_ms_p50": round(statistics.median(sentences), 1),
            "chunks_per_s": round(statistics.median(chunks), 1)}


def main() -> None:
    if sys.argv[1:2] == ["--child"] and sys.argv[2:]:
        print(json.dumps(measure(int(sys.argv[2]))))
        return
    rows = []
    for policy, threads in SETTINGS:
        env = {**os.environ, "OMP_WAIT_POLICY": policy, "HF_HUB_OFFLINE": "1"}
        out = subprocess.run([sys.executable, "-m", "bench.encode_threads", "--child", str(threads)], cwd=ROOT,
                             env=env, capture_output=True, text=True, check=True).stdout
        row = {"omp_wait_policy": policy, "torch_threads": threads, **json.loads(out.strip().splitlines()[-1])}
        rows.append(row)
        print(json.dumps(row), flush=True)
    with open("/proc/loadavg") as fh:
        load = fh.read().split()[:3]
    path = save("encode-threads", {"rows": rows, "load_average_after": load})
    print(f"saved {path}")


if __name__ == "__main__":
    main()
