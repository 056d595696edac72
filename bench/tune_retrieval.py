"""Retrieval ablation on a benchmark index built by `article-qa eval`: Recall@k of gold articles per setting.

    python -m bench.tune_retrieval --dataset realtimeqa-news
"""

from __future__ import annotations

import argparse
import json
import random
from datetime import date

import numpy as np

from core.config import Settings
from evaluation import metrics as m
from evaluation.datasets import EvalQuestion, load
from index import snapshot as snap
from index.embedding import Embedder, get_embedder
from index.retriever import HybridRetriever, RetrievalConfig, SearchFilters
from ingest.cleaning import slugify
from qa import temporal
from qa.evidence import EvidenceConfig, EvidenceStage, TermWeights, rerank
from qa.question import analyze_question


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--dataset", default="realtimeqa-news")
    parser.add_argument("--sample", type=int, default=None, help="at most this many questions (seeded)")
    parser.add_argument("--grid", choices=["fusion", "recency", "rerank"], default="fusion")
    args = parser.parse_args()
    settings = Settings()
    data = load(args.dataset, settings.datasets_dir)
    snapshot, _ = snap.load_latest(settings.eval_dir / args.dataset / "data")
    embedder = get_embedder(settings.embedding.model, settings.threads)
    questions = [q for q in data.questions if q.gold_docs and q.answerable]
    if args.sample and args.sample < len(questions):
        questions = random.Random(0).sample(questions, args.sample)
    vectors = {q.id: embedder.encode_query(q.question) for q in questions}
    rows = []
    if args.grid == "rerank":
        rerank_grid(settings, snapshot, embedder, questions, vectors)
        return
    dated = any(q.as_of for q in questions)
    half_lives = [None, 7.0, 14.0] if dated else [None]
    if args.grid == "fusion":
        grid = [("rrf", d, k, h, 0.5) for d in (0.5, 0.7, 1.0) for k in (20, 60) for h in half_lives]
        grid += [("convex", d, 0, h, 0.5) for d in (0.3, 0.5, 0.7, 1.0, 1.5) for h in half_lives]
    else:
        grid = [("rrf", d, 60, h, w) for d in (0.5, 1.0) for h in (3.0, 7.0, 14.0) for w in (0.25, 0.5, 1.0, 2.0)]
    for fusion, dense_w, rrf_k, half_life, recency_w in grid:
        lex_w = 1.0
        retriever = HybridRetriever(snapshot, embedder, RetrievalConfig(50, rrf_k or 60, dense_w, lex_w, fusion))
        recalls: dict[int, list[float]] = {1: [], 3: [], 5: []}
        ndcg: list[float] = []
        for q in questions:
            as_of = date.fromisoformat(q.as_of) if q.as_of else None
            filters, prefer = temporal.scope(q.question, SearchFilters() if as_of else None, as_of, half_life,
                                             recency_w)
            hits = retriever.search(q.question, 20, filters, prefer, query_vector=vectors[q.id]).hits
            ranked = list(dict.fromkeys(h.article.id for h in hits))
            gold = {slugify(d) for d in q.gold_docs}
            for k in recalls:
                recalls[k].append(m.recall_at(ranked, gold, k))
            if data.qrels:
                ndcg.append(m.ndcg_at(ranked, {slugify(d): r for d, r in data.qrels[q.id].items()}, 10))
        row = {"fusion": fusion, "dense_w": dense_w, "lexical_w": lex_w, "rrf_k": rrf_k, "half_life": half_life,
               "recency_w": recency_w,
               **{f"R@{k}": round(100 * m.mean(v), 1) for k, v in recalls.items()},
               **({"nDCG@10": round(m.mean(ndcg), 4)} if ndcg else {})}
        rows.append(row)
        print(json.dumps(row))


def rerank_grid(settings: Settings, snapshot: snap.Snapshot, embedder: Embedder, questions: list[EvalQuestion],
                vectors: dict[str, np.ndarray]) -> None:
    """Recall@k with the passages re-ranked by the reader's best evidence sentence, at several weights."""
    retriever = HybridRetriever(snapshot, embedder, RetrievalConfig.of(settings.retrieval))
    stage = EvidenceStage(TermWeights(*snapshot.term_stats()), lambda t: embedder.encode(t, batch_size=16))
    weights = (0.0, 0.5, 1.0, 2.0, 4.0)
    recalls: dict[float, dict[int, list[float]]] = {w: {1: [], 3: []} for w in weights}
    for q in questions:
        as_of = date.fromisoformat(q.as_of) if q.as_of else None
        filters, prefer = temporal.scope(q.question, SearchFilters() if as_of else None, as_of,
                                         settings.retrieval.recency_half_life_days, settings.retrieval.recency_weight)
        result = retriever.search(q.question, 10, filters, prefer, query_vector=vectors[q.id])
        evidence = stage.sentences(analyze_question(q.question), result.hits, result.query_vector)
        gold = {slugify(d) for d in q.gold_docs}
        for w in weights:
            config = EvidenceConfig(rerank_weight=w)
            ranked = list(dict.fromkeys(h.article.id for h in rerank(result.hits, evidence, config)))
            for k in (1, 3):
                recalls[w][k].append(m.recall_at(ranked, gold, k))
    for w in weights:
        print(json.dumps({"rerank_weight": w, "dense_w": settings.retrieval.dense_weight,
                          **{f"R@{k}": round(100 * m.mean(v), 1) for k, v in recalls[w].items()}}))


if __name__ == "__main__":
    main()
