"""Retrieval Recall@k and answer quality of two `article-qa eval` reports side by side (e.g. local vs milvus).

    .venv/bin/article-qa eval squad2-dev-half --no-oracle --sample 1000 --out data/eval/backends/local
    ARTICLE_QA_INDEX_BACKEND=milvus .venv/bin/article-qa eval squad2-dev-half --no-oracle --sample 1000 \\
        --out data/eval/backends/milvus
    .venv/bin/python -m bench.compare_reports data/eval/backends/{local,milvus}/squad2-dev-half-extractive.json

Recall@k is the share of answerable questions whose gold article (news: any gold article; SQuAD: the question's
paragraph) is among the first k retrieved articles.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

KS = (1, 3, 5, 10)


def recall(report: dict[str, Any]) -> dict[str, float]:
    metrics = report["metrics"]
    if all(f"recall@{k}" in metrics for k in KS):
        return {f"recall@{k}": float(metrics[f"recall@{k}"]) for k in KS}
    answerable = [p for p in report["predictions"] if p["answerable"] and p.get("context")]
    return {f"recall@{k}": round(100 * sum(p["context"] in p["retrieved"][:k] for p in answerable)
                                 / max(1, len(answerable)), 2) for k in KS}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("reports", type=Path, nargs=2)
    args = parser.parse_args()
    rows: dict[str, dict[str, Any]] = {}
    for path in args.reports:
        report = json.loads(path.read_text())
        rows[str(path)] = {**recall(report), "f1": report["metrics"].get("f1"),
                           "questions": report["options"]["questions"], "index": report.get("index", {})}
    first, second = (json.loads(p.read_text()) for p in args.reports)
    same = sum(a["prediction"] == b["prediction"] and a["retrieved"] == b["retrieved"]
               for a, b in zip(first["predictions"], second["predictions"], strict=True))
    for name, row in rows.items():
        print(name, row)
    a, b = rows.values()
    print({f"{k} difference (points)": round(b[k] - a[k], 2) for k in a if k.startswith("recall@") or k == "f1"})
    print(f"identical answer and ranking: {same} of {len(first['predictions'])}")


if __name__ == "__main__":
    main()
