"""/ask latency and service memory: a real ``article-qa serve`` on 127.0.0.1, bounded requests.

    python -m bench.ask_latency --data /tmp/rtqa-data --questions realtimeqa --requests 200 --concurrency 1
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx

from bench.common import ROOT, SHARED, percentile, rss_mib, save

QUESTION_FILES = {
    "seed": SHARED / "eval" / "seed-questions.jsonl",
    "realtimeqa": SHARED / "datasets" / "realtimeqa-news" / "questions.jsonl",
}


def wait_ready(url: str, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{url}/readyz", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise SystemExit("server did not become ready")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--data", type=Path, required=True, help="a data folder holding a snapshot")
    parser.add_argument("--articles", type=Path, default=SHARED / "articles")
    parser.add_argument("--questions", choices=sorted(QUESTION_FILES), default="seed")
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--concurrency", type=int, default=1)
    parser.add_argument("--port", type=int, default=8765)
    args = parser.parse_args()

    questions = [json.loads(line)["question"] for line in QUESTION_FILES[args.questions].read_text().splitlines()
                 if line.strip()]
    url = f"http://127.0.0.1:{args.port}"
    env = {**os.environ, "ARTICLE_QA_RELOAD_POLL_SECONDS": "5"}
    server = subprocess.Popen(
        [sys.executable, "-m", "service.cli", "serve", "--articles", str(args.articles), "--data", str(args.data),
         "--host", "127.0.0.1", "--port", str(args.port)],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    try:
        wait_ready(url, 120)
        idle_rss = rss_mib(server.pid)
        with httpx.Client(timeout=60) as client:
            for q in questions[:5]:
                client.post(f"{url}/ask", json={"question": q})
        latencies: list[float] = []
        stages: dict[str, list[float]] = {}
        errors = 0
        lock = threading.Lock()
        counter = iter(range(args.requests))

        def worker() -> None:
            nonlocal errors
            with httpx.Client(timeout=60) as client:
                for i in counter:
                    t = time.perf_counter()
                    r = client.post(f"{url}/ask", json={"question": questions[i % len(questions)]})
                    elapsed = (time.perf_counter() - t) * 1000
                    with lock:
                        if r.status_code != 200:
                            errors += 1
                            continue
                        latencies.append(elapsed)
                        for k, v in r.json().get("timings_ms", {}).items():
                            stages.setdefault(k, []).append(v)

        started = time.perf_counter()
        threads = [threading.Thread(target=worker) for _ in range(args.concurrency)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        wall = time.perf_counter() - started
        result = {
            "questions": args.questions, "requests": args.requests, "concurrency": args.concurrency,
            "errors": errors, "throughput_rps": round(len(latencies) / wall, 1),
            "latency_ms": {"p50": round(percentile(latencies, 50), 1), "p95": round(percentile(latencies, 95), 1),
                           "p99": round(percentile(latencies, 99), 1)},
            "stage_p50_ms": {k: round(percentile(v, 50), 1) for k, v in stages.items()},
            "rss_mib": {"idle": round(idle_rss, 1), "after": round(rss_mib(server.pid), 1)},
            "articles": httpx.get(f"{url}/index").json()["counts"],
        }
    finally:
        server.terminate()
        server.wait(timeout=30)
    path = save(f"ask-{args.questions}-c{args.concurrency}", result)
    print(json.dumps(result, indent=2))
    print(f"saved {path}")


if __name__ == "__main__":
    main()
