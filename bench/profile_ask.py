"""Where ``/ask`` spends its time under load: py-spy samples a real server while bounded traffic runs.

    python -m bench.profile_ask --data /work/cache/rtqa-data --corpus realtimeqa --concurrency 16 --seconds 30

Prints, for the stages that matter, the share of busy samples (all threads; threads waiting on a lock are idle
and not sampled) whose stack
passes through them, and keeps the raw collapsed stacks (``bench/results/ask-profile-*.txt``) for a flame graph.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import shutil
import subprocess
import sys
from collections import Counter
from pathlib import Path

from bench.common import ROOT, corpus_folder, save
from bench.load import QUESTION_FILES, WARMUP, drive
from bench.server import BenchServer

STAGES = {
    "retrieval (HybridRetriever.search)": "HybridRetriever.search",
    "  query encode in retrieval": "HybridRetriever.search;MiniLMEmbedder.encode",
    "  BM25 get_scores": "get_scores",
    "  FAISS search": "replacement_search",
    "reading (ExtractiveReader)": "ExtractiveReader.",
    "  sentence encodes in reading": "ExtractiveReader.;MiniLMEmbedder.encode",
    "model forward pass (any caller)": "MiniLMEmbedder._forward",
    "HTTP, validation, JSON (FastAPI/uvicorn, outside AnswerPipeline.run)": "",
}


def summarize(raw: Path) -> dict[str, float]:
    """Share of samples per stage from py-spy's collapsed stacks (``frame;frame;... count`` lines)."""
    stacks: Counter[str] = Counter()
    for line in raw.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if stack and count.isdigit():
            stacks[stack] += int(count)
    total = sum(stacks.values()) or 1
    out: dict[str, float] = {}
    for label, needle in STAGES.items():
        if needle:
            parts = needle.split(";")
            hits = sum(n for s, n in stacks.items() if all(p in s for p in parts)
                       and (len(parts) == 1 or s.index(parts[0]) < s.rindex(parts[1])))
        else:
            hits = sum(n for s, n in stacks.items()
                       if "AnswerPipeline.run" not in s and ("uvicorn" in s or "starlette" in s or "fastapi" in s))
        out[label] = round(100 * hits / total, 1)
    out["samples"] = total
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, required=True)
    parser.add_argument("--corpus", choices=["seed", "realtimeqa"], default="realtimeqa")
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--seconds", type=float, default=30)
    parser.add_argument("--port", type=int, default=18620)
    args = parser.parse_args()

    pyspy = shutil.which("py-spy") or str(Path(sys.executable).with_name("py-spy"))
    questions = [json.loads(line)["question"] for line in QUESTION_FILES[args.corpus].read_text().splitlines()
                 if line.strip()]
    out = ROOT / "bench" / "results"
    out.mkdir(parents=True, exist_ok=True)
    raw = out / f"ask-profile-{args.corpus}-c{args.concurrency}.txt"
    with BenchServer(corpus_folder(args.corpus), args.data, args.port,
                     env={"ARTICLE_QA_ANSWER_MODE": "extractive"}) as server:
        asyncio.run(drive(server.url, questions, 1, WARMUP, 60))
        recorder = subprocess.Popen([pyspy, "record", "--pid", str(server.pid), "--duration", str(int(args.seconds)),
                                     "--rate", "200", "--format", "raw", "--output", str(raw), "--nonblocking"],
                                    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        tally = asyncio.run(drive(server.url, questions, args.concurrency, 10**9, args.seconds))
        recorder.wait(timeout=args.seconds + 60)
    result = {"corpus": args.corpus, "concurrency": args.concurrency, "load": tally.summary(args.seconds),
              "busy_sample_share_pct": summarize(raw), "raw_stacks": str(raw)}
    path = save(f"ask-profile-{args.corpus}-c{args.concurrency}", result)
    print(json.dumps(result, indent=2))
    print(f"saved {path}")


if __name__ == "__main__":
    main()
