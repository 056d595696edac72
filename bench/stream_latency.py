"""``/ask/stream`` timings as the page sees them: time to the sources, to the first token, to the final answer.

A real ``article-qa serve`` on 127.0.0.1, a bounded number of sequential requests over the seed questions.

    python -m bench.stream_latency --data /tmp/seed-data --requests 50
    python -m bench.stream_latency --data /tmp/seed-data --requests 14 --mode generative
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

import httpx

from bench.common import ROOT, SHARED, percentile, save
from bench.load import QUESTION_FILES


def wait_ready(url: str, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{url}/readyz", timeout=2).status_code == httpx.codes.OK:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise TimeoutError(f"{url} not ready after {timeout} s")


def timed_stream(client: httpx.Client, url: str, body: dict[str, object]) -> dict[str, float]:
    """Milliseconds from sending the request to each event's first arrival."""
    seen: dict[str, float] = {}
    started = time.perf_counter()
    with client.stream("POST", f"{url}/ask/stream", json=body) as response:
        response.raise_for_status()
        for line in response.iter_lines():
            if line.startswith("event:"):
                seen.setdefault(line[6:].strip(), (time.perf_counter() - started) * 1000)
    return seen


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--data", type=Path, required=True, help="a data folder holding a snapshot")
    parser.add_argument("--articles", type=Path, default=SHARED / "articles")
    parser.add_argument("--questions", choices=sorted(QUESTION_FILES), default="seed")
    parser.add_argument("--requests", type=int, default=50)
    parser.add_argument("--mode", choices=["extractive", "generative", "auto"], default="extractive")
    parser.add_argument("--port", type=int, default=8766)
    args = parser.parse_args()

    questions = [json.loads(line)["question"] for line in QUESTION_FILES[args.questions].read_text().splitlines()
                 if line.strip()]
    url = f"http://127.0.0.1:{args.port}"
    server = subprocess.Popen(
        [sys.executable, "-m", "cli.main", "serve", "--articles", str(args.articles), "--data", str(args.data),
         "--host", "127.0.0.1", "--port", str(args.port)],
        cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    events: dict[str, list[float]] = {}
    errors = 0
    try:
        wait_ready(url, 120)
        with httpx.Client(timeout=300) as client:
            timed_stream(client, url, {"question": questions[0], "mode": args.mode})  # warm-up (model load)
            for i in range(args.requests):
                seen = timed_stream(client, url, {"question": questions[i % len(questions)], "mode": args.mode})
                errors += "error" in seen
                for name, ms in seen.items():
                    events.setdefault(name, []).append(ms)
    finally:
        server.terminate()
        server.wait(timeout=30)
    result = {
        "questions": args.questions, "requests": args.requests, "mode": args.mode, "errors": errors,
        "ms_to_event": {name: {"p50": round(percentile(v, 50), 1), "p95": round(percentile(v, 95), 1),
                               "count": len(v)} for name, v in events.items()},
    }
    path = save(f"stream-{args.questions}-{args.mode}", result)
    print(json.dumps(result, indent=2))
    print(f"saved {path}")


if __name__ == "__main__":
    main()
