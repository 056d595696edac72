"""Retrieval ablation on a benchmark index built by `article-qa eval`: Recall@k of gold articles per setting.

    python -m bench.tune_retrieval --dataset realtimeqa-news
"""

from __future__ import annotations

import argparse
import itertools
import json
from datetime import date

from core.config import Settings
from evaluation import metrics as m
from evaluation.datasets import load
from index import snapshot as snap
from index.embedding import get_embedder
from index.retriever import HybridRetriever, RetrievalConfig, SearchFilters
from ingest.cleaning import slugify
from service import temporal


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--dataset", default="realtimeqa-news")
    args = parser.parse_args()
    settings = Settings()
    data = load(args.dataset, settings.datasets_dir)
    snapshot, _ = snap.load_latest(settings.eval_dir / args.dataset / "data")
    embedder = get_embedder(settings.embedding_model, settings.threads)
    questions = [q for q in data.questions if q.gold_docs]
    vectors = {q.id: embedder.encode_query(q.question) for q in questions}
    rows = []
    grid = itertools.product([0.5, 1.0, 1.5], [1.0], [10, 60], [None, 7.0, 14.0])
    for dense_w, lex_w, rrf_k, half_life in grid:
        retriever = HybridRetriever(snapshot, embedder, RetrievalConfig(50, rrf_k, dense_w, lex_w))
        recalls: dict[int, list[float]] = {1: [], 3: [], 5: []}
        for q in questions:
            as_of = date.fromisoformat(q.as_of) if q.as_of else None
            filters, prefer = temporal.scope(q.question, SearchFilters() if as_of else None, as_of, half_life)
            hits = retriever.search(q.question, 20, filters, prefer, query_vector=vectors[q.id]).hits
            ranked = list(dict.fromkeys(h.article.id for h in hits))
            gold = {slugify(d) for d in q.gold_docs}
            for k in recalls:
                recalls[k].append(m.recall_at(ranked, gold, k))
        row = {"dense_w": dense_w, "lexical_w": lex_w, "rrf_k": rrf_k, "half_life": half_life,
               **{f"R@{k}": round(100 * m.mean(v), 1) for k, v in recalls.items()}}
        rows.append(row)
        print(json.dumps(row))


if __name__ == "__main__":
    main()
