"""Load, soak and rebuild-under-load benchmarks of ``POST /ask`` against a real server on 127.0.0.1.

Every run is bounded in requests and seconds and starts and stops its own ``article-qa serve``.

    python -m bench.load --data /work/cache/rtqa-data --corpus realtimeqa --concurrency 1,4,16,64 --requests 300
    python -m bench.load --data /work/cache/rtqa-data --corpus realtimeqa --soak 600 --concurrency 4
    python -m bench.load --data /work/cache/rtqa-data --corpus realtimeqa --soak 600 --concurrency 4 --rebuild-at 300
"""

from __future__ import annotations

import argparse
import asyncio
import json
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import numpy as np

from bench.common import ROOT, SHARED, corpus_folder, percentile, save
from bench.server import BenchServer

QUESTION_FILES = {
    "seed": SHARED / "eval" / "seed-questions.jsonl",
    "realtimeqa": SHARED / "datasets" / "realtimeqa-news" / "questions.jsonl",
}
WARMUP = 10
MIN_TREND_SAMPLES = 3  # fewer memory samples than this give no slope worth reporting
WARMUP_SECONDS = 60  # memory after the first minute, when caches have filled, is what the trend is read from


@dataclass
class Tally:
    """What the clients saw: latencies of answered requests, failures, and when each request ended."""

    latencies_ms: list[float] = field(default_factory=list)
    stages: dict[str, list[float]] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)
    ended_at: list[float] = field(default_factory=list)

    def summary(self, wall: float) -> dict[str, Any]:
        sent = len(self.latencies_ms) + len(self.errors)
        lat = self.latencies_ms
        return {
            "sent": sent, "ok": len(lat), "errors": len(self.errors),
            "error_rate": round(len(self.errors) / sent, 4) if sent else None,
            "error_samples": self.errors[:5],
            "seconds": round(wall, 1),
            "throughput_rps": round(len(lat) / wall, 1) if wall else None,
            "latency_ms": {"p50": round(percentile(lat, 50), 1), "p95": round(percentile(lat, 95), 1),
                           "p99": round(percentile(lat, 99), 1), "max": round(max(lat), 1) if lat else None},
            "stage_p50_ms": {k: round(percentile(v, 50), 1) for k, v in self.stages.items()},
        }


async def _client_loop(client: httpx.AsyncClient, url: str, questions: list[str], tally: Tally,
                       budget: list[int], stop_at: float) -> None:
    while budget[0] > 0 and time.monotonic() < stop_at:
        budget[0] -= 1
        i = budget[0]
        started = time.perf_counter()
        try:
            r = await client.post(f"{url}/ask", json={"question": questions[i % len(questions)]})
            elapsed = (time.perf_counter() - started) * 1000
            if r.status_code != httpx.codes.OK:
                tally.errors.append(f"HTTP {r.status_code}: {r.text[:120]}")
            else:
                tally.latencies_ms.append(elapsed)
                for k, v in r.json().get("timings_ms", {}).items():
                    tally.stages.setdefault(k, []).append(v)
        except httpx.HTTPError as exc:
            tally.errors.append(repr(exc)[:160])
        tally.ended_at.append(time.monotonic())


async def drive(url: str, questions: list[str], concurrency: int, requests: int, seconds: float) -> Tally:
    """``concurrency`` clients sending ``/ask`` back to back until ``requests`` are sent or time is up."""
    tally = Tally()
    budget = [requests]
    stop_at = time.monotonic() + seconds
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(timeout=60, limits=limits) as client:
        await asyncio.gather(*(_client_loop(client, url, questions, tally, budget, stop_at)
                               for _ in range(concurrency)))
    return tally


def trend_mib_per_min(samples: list[tuple[float, float]]) -> float | None:
    """Least-squares slope of resident memory over time."""
    if len(samples) < MIN_TREND_SAMPLES:
        return None
    t = np.array([s[0] for s in samples]) / 60
    y = np.array([s[1] for s in samples])
    return round(float(np.polyfit(t, y, 1)[0]), 3)


async def soak(server: BenchServer, questions: list[str], concurrency: int, seconds: float, sample_every: float,
               rebuild_at: float | None, rebuild_cmd: list[str]) -> dict[str, Any]:
    """Steady traffic for ``seconds``; RSS sampled; optionally a forced full rebuild in another process."""
    samples: list[tuple[float, float]] = []
    swaps: list[dict[str, Any]] = []
    rebuild: dict[str, Any] = {}
    start = time.monotonic()
    traffic = asyncio.create_task(drive(server.url, questions, concurrency, 10**9, seconds))

    async def sampler() -> None:
        serving = server.snapshot()
        while not traffic.done():
            now = time.monotonic() - start
            samples.append((now, server.rss_mib()))
            current = await asyncio.to_thread(server.snapshot)
            if current != serving:
                swaps.append({"at_s": round(now, 1), "snapshot": current})
                serving = current
            await asyncio.sleep(sample_every)

    async def rebuilder() -> None:
        if rebuild_at is None:
            return
        await asyncio.sleep(rebuild_at)
        began = time.monotonic()
        proc = await asyncio.create_subprocess_exec(*rebuild_cmd, cwd=ROOT, stdout=subprocess.PIPE,
                                                    stderr=subprocess.DEVNULL)
        out, _ = await proc.communicate()
        rebuild.update(started_at_s=round(began - start, 1), seconds=round(time.monotonic() - began, 1),
                       exit_code=proc.returncode, summary=out.decode().strip()[-300:])

    await asyncio.gather(traffic, sampler(), rebuilder())
    tally = traffic.result()
    wall = time.monotonic() - start
    after_first_minute = [s for s in samples if s[0] >= WARMUP_SECONDS]
    rss = [s[1] for s in samples]
    return {
        **tally.summary(wall),
        "rss_mib": {"first": round(rss[0], 1) if rss else None, "last": round(rss[-1], 1) if rss else None,
                    "min": round(min(rss), 1) if rss else None, "max": round(max(rss), 1) if rss else None,
                    "samples": len(rss), "every_s": sample_every,
                    "trend_mib_per_min": trend_mib_per_min(samples),
                    "trend_after_first_minute_mib_per_min": trend_mib_per_min(after_first_minute),
                    "trend_second_half_mib_per_min": trend_mib_per_min([s for s in samples if s[0] >= wall / 2])},
        "rss_series": [(round(t, 1), round(m, 1)) for t, m in samples],
        "rebuild": rebuild or None,
        "swaps": swaps,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, required=True, help="a data folder holding a snapshot")
    parser.add_argument("--corpus", choices=["seed", "realtimeqa"], default="seed",
                        help="articles the server (and a rebuild) reads")
    parser.add_argument("--questions", choices=sorted(QUESTION_FILES), help="default: the corpus's questions")
    parser.add_argument("--concurrency", default="1", help="comma-separated client counts, e.g. 1,4,16,64")
    parser.add_argument("--requests", type=int, default=300, help="requests per concurrency level")
    parser.add_argument("--max-seconds", type=float, default=120, help="time limit per concurrency level")
    parser.add_argument("--soak", type=float, help="instead: steady traffic for this many seconds (at most 1800)")
    parser.add_argument("--sample-every", type=float, default=5.0, help="RSS sampling period in a soak")
    parser.add_argument("--rebuild-at", type=float, help="in a soak: run a forced full rebuild after this many s")
    parser.add_argument("--articles", type=Path, help="articles folder instead of --corpus (questions still follow it)")
    parser.add_argument("--port", type=int, default=18600)
    parser.add_argument("--mode", choices=["extractive", "auto", "generative"], default="extractive",
                        help="the server's default answer mode (the load targets are for extractive answers)")
    parser.add_argument("--tag", default="", help="suffix for the results file name")
    args = parser.parse_args()

    qfile = QUESTION_FILES[args.questions or args.corpus]
    questions = [json.loads(line)["question"] for line in qfile.read_text().splitlines() if line.strip()]
    levels = [int(c) for c in args.concurrency.split(",")]
    articles = args.articles or corpus_folder(args.corpus)
    result: dict[str, Any] = {"corpus": args.corpus, "questions": len(questions)}
    env = {"ARTICLE_QA_RELOAD_POLL_SECONDS": "1", "ARTICLE_QA_ANSWER_MODE": args.mode}
    with BenchServer(articles, args.data, args.port, env=env) as server:
        result["rss_mib_idle"] = round(server.rss_mib(), 1)
        asyncio.run(drive(server.url, questions, 1, WARMUP, 60))
        result["rss_mib_warm"] = round(server.rss_mib(), 1)
        result["index"] = httpx.get(f"{server.url}/index", timeout=10).json()["counts"]
        if args.soak:
            seconds = min(args.soak, 1800)
            rebuild_cmd = [sys.executable, "-m", "cli.main", "ingest", str(articles), "--data", str(args.data),
                           "--force", "--quiet"]
            result["soak"] = asyncio.run(soak(server, questions, levels[0], seconds, args.sample_every,
                                              args.rebuild_at, rebuild_cmd))
            result["soak"]["concurrency"] = levels[0]
            name = f"soak-{args.corpus}-c{levels[0]}" + ("-rebuild" if args.rebuild_at is not None else "")
        else:
            result["levels"] = []
            for c in levels:
                rss_before = server.rss_mib()
                started = time.monotonic()
                tally = asyncio.run(drive(server.url, questions, c, args.requests, args.max_seconds))
                level = {"concurrency": c, **tally.summary(time.monotonic() - started),
                         "rss_mib": {"before": round(rss_before, 1), "after": round(server.rss_mib(), 1)}}
                result["levels"].append(level)
                print(json.dumps(level), flush=True)
            name = f"load-{args.corpus}"
    path = save(name + (f"-{args.tag}" if args.tag else ""), result)
    printable = {k: v for k, v in result.items() if k != "soak"}
    if "soak" in result:
        printable["soak"] = {k: v for k, v in result["soak"].items() if k != "rss_series"}
    print(json.dumps(printable, indent=2))
    print(f"saved {path}")


if __name__ == "__main__":
    main()
