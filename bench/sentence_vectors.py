"""Sentence vectors pooled from their chunk's pass against separately encoded ones, on an index built by
`article-qa eval`: the time each way takes at build, and how often each ranks the sentence that holds the
gold answer first among the sentences of the three articles the eval retrieved. Separate vectors are read
from the index's stored table where it has one, else encoded here (what the default, on-demand mode encodes
per question).

    python -m bench.sentence_vectors --dataset squad2-dev-half \
        --report data/eval/reports/squad2-dev-half-extractive.json
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

from core.config import Settings
from evaluation import metrics as m
from index.backends import backend_for
from index.embedding import get_embedder
from index.sentences import chunk_sentence_groups
from ingest.chunking import embedding_text
from ingest.pipeline import _spans_in

ARTICLES_SEARCHED = 3  # the eval's top retrieved articles whose sentences compete
TIMING_SAMPLE = 500  # texts timed per kind (the rest is extrapolated)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--dataset", required=True)
    parser.add_argument("--report", type=Path, required=True, help="the eval report of that index")
    args = parser.parse_args()
    settings = Settings()
    snapshot = backend_for(settings.override(data_dir=settings.eval_dir / args.dataset / "data")).load_latest()[0]
    table = snapshot.sentences
    embedder = get_embedder(settings.embedding.model, settings.threads)
    groups = chunk_sentence_groups(snapshot.articles, snapshot.chunks)
    texts = [embedding_text(snapshot.articles[c.article_id], c) for c in snapshot.chunks]
    spans = [_spans_in(t, c, g) for t, c, g in zip(texts, snapshot.chunks, groups, strict=True)]
    rows = [row for group in groups for row in group]

    started = time.perf_counter()
    _, pooled_parts = embedder.encode_pooled(texts, spans)
    pooled_s = time.perf_counter() - started
    pooled = {row: vector for group, part in zip(groups, pooled_parts, strict=True)
              for row, vector in zip(group, part, strict=True)}
    sentence_texts = [snapshot.articles[a].text[s:e] for a, s, e in rows]
    started = time.perf_counter()
    embedder.encode(sentence_texts[:TIMING_SAMPLE])
    separate_s = (time.perf_counter() - started) * len(rows) / min(TIMING_SAMPLE, len(rows))
    separate = ({row: table.vector(*row) for row in rows} if table is not None
                else dict(zip(rows, embedder.encode(sentence_texts), strict=True)))
    started = time.perf_counter()
    embedder.encode(texts[:TIMING_SAMPLE])
    passages_s = (time.perf_counter() - started) * len(texts) / min(TIMING_SAMPLE, len(texts))

    ranks: dict[str, list[int]] = {"separate": [], "pooled": []}
    for p in json.loads(args.report.read_text())["predictions"]:
        gold = [m.normalize(g) for g in p.get("gold") or [] if m.normalize(g)]
        searched = set(p["retrieved"][:ARTICLES_SEARCHED])
        candidates = [r for r in rows if r[0] in searched]
        holds = [any(g in m.normalize(snapshot.articles[a].text[s:e]) for g in gold) for a, s, e in candidates]
        if not p["answerable"] or not any(holds):
            continue
        question = embedder.encode_query(p["question"])
        for kind in ranks:
            vectors = [(separate if kind == "separate" else pooled)[r] for r in candidates]
            order = np.argsort([-float(question @ v) for v in vectors])
            ranks[kind].append(next(i for i, o in enumerate(order) if holds[o]) + 1)
    out: dict[str, object] = {
        "dataset": args.dataset, "questions": len(ranks["pooled"]), "chunks": len(texts), "sentences": len(rows),
        "seconds": {"passages": round(passages_s, 1), "separate_sentences": round(separate_s, 1),
                    "pooled_passages_and_sentences": round(pooled_s, 1)}}
    for kind, found in ranks.items():
        r = np.array(found, dtype=float)
        out[kind] = {"first_pct": round(float((r == 1).mean()) * 100, 1), "mrr": round(float((1 / r).mean()), 3)}
    print(json.dumps(out))


if __name__ == "__main__":
    main()
