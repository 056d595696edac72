"""Helpers shared by the benchmarks: corpus folders, machine description, percentiles, results files."""

from __future__ import annotations

import json
import os
import platform
import statistics
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("ARTICLE_QA_SHARED_DIR", ROOT.parent / "shared"))
CORPORA = {
    "seed": SHARED / "articles",
    "realtimeqa": SHARED / "datasets" / "realtimeqa-news" / "documents.jsonl",
}


def corpus_folder(name: str, limit: int | None = None) -> Path:
    """A folder holding the corpus: the seed folder itself, or a temp folder linking to a dataset file
    (or holding its first ``limit`` records)."""
    source = CORPORA[name]
    if source.is_dir():
        return source
    folder = Path(tempfile.mkdtemp(prefix=f"aqa-{name}-"))
    if limit:
        with open(source, encoding="utf-8") as fh:
            (folder / source.name).write_text("".join(line for _, line in zip(range(limit), fh, strict=False)),
                                              encoding="utf-8")
    else:
        (folder / source.name).symlink_to(source)
    return folder


def machine() -> dict[str, Any]:
    mem_kb = next((int(line.split()[1]) for line in Path("/proc/meminfo").read_text().splitlines()
                   if line.startswith("MemTotal")), 0)
    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), platform.processor())
    return {"cpus": os.cpu_count(), "cpu": cpu, "memory_gib": round(mem_kb / 1024 / 1024, 1),
            "python": platform.python_version(), "platform": platform.platform()}


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[min(98, max(0, int(q) - 1))]


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def save(name: str, payload: dict[str, Any]) -> Path:
    out = ROOT / "bench" / "results"
    out.mkdir(parents=True, exist_ok=True)
    path = out / f"{name}.json"
    payload = {"when": datetime.now(UTC).isoformat(timespec="seconds"), "machine": machine(), **payload}
    path.write_text(json.dumps(payload, indent=2))
    return path
