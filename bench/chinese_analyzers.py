"""BM25 over Chinese: the packaged analyser (characters plus adjacent-character bigrams) against jieba's words.

    .venv/bin/pip install jieba==0.42.1          # only for this comparison; the service does not use it
    .venv/bin/python -m bench.chinese_analyzers --datasets cmrc2018-dev,rgb-zh

BM25 alone (bm25s, the index's own scorer), every question of each set against all of its documents: where the
gold paragraph (CMRC 2018) or the first positive passage (RGB) ranks. Only the analyser differs between rows, so
the rows compare segmentation and nothing else; fusion with the dense ranking is measured by ``article-qa eval``.
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Callable
from typing import Any

import bm25s
import numpy as np

from bench.common import SHARED, machine, save
from core.text import HAN
from index.analysis import analyze, fold_script, lexical_terms

RANKS_KEPT = 100  # a gold document below this rank counts as not found
FEW = 5  # recall at this many documents: about what the evidence stage reads


def _jieba() -> Any:
    try:
        import jieba  # noqa: PLC0415 - optional, for this comparison only
    except ImportError as exc:
        raise SystemExit("this comparison needs jieba: .venv/bin/pip install jieba==0.42.1") from exc
    jieba.setLogLevel(60)
    return jieba


def analysers() -> dict[str, Callable[[str], list[str]]]:
    """Each analyser keeps the English tokens as the index does and differs only in how it cuts Han text."""
    jieba = _jieba()

    def parts(text: str) -> tuple[list[str], list[str], list[str]]:
        folded = fold_script(text)
        tokens = analyze(folded)
        latin = [t for t in tokens if not HAN.fullmatch(t)]
        chars = [t for t in tokens if HAN.fullmatch(t)]
        cut = [w for w in jieba.cut_for_search(folded) if w.strip() and all(HAN.fullmatch(c) for c in w)]
        return latin, chars, cut

    def jieba_words(text: str) -> list[str]:
        latin, _, cut = parts(text)
        return latin + cut

    def chars_and_jieba(text: str) -> list[str]:
        latin, chars, cut = parts(text)
        return latin + chars + [w for w in cut if len(w) > 1]

    def bigrams_and_jieba(text: str) -> list[str]:
        return lexical_terms(text) + [w for w in parts(text)[2] if len(w) > 1]

    return {"characters + bigrams (packaged)": lexical_terms, "jieba words (search mode)": jieba_words,
            "characters + jieba words": chars_and_jieba, "characters + bigrams + jieba words": bigrams_and_jieba}


def _records(dataset: str, name: str) -> list[dict[str, Any]]:
    with open(SHARED / "datasets" / dataset / name, encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


def ranks(docs: list[list[str]], questions: list[list[str]], gold: list[set[int]]) -> np.ndarray:
    vocab: dict[str, int] = {}
    corpus = [[vocab.setdefault(t, len(vocab)) for t in doc] for doc in docs]
    index = bm25s.BM25()
    index.index(bm25s.tokenization.Tokenized(ids=corpus, vocab=vocab), show_progress=False)
    out = []
    for terms, wanted in zip(questions, gold, strict=True):
        ids = [vocab[t] for t in terms if t in vocab]
        if not ids or not wanted:
            out.append(RANKS_KEPT)
            continue
        order = np.argsort(-index.get_scores(ids))[:RANKS_KEPT]
        out.append(next((r for r, i in enumerate(order) if int(i) in wanted), RANKS_KEPT))
    return np.array(out)


def run(dataset: str) -> list[dict[str, Any]]:
    documents = _records(dataset, "documents.jsonl")
    position = {d["id"]: i for i, d in enumerate(documents)}
    questions = [q for q in _records(dataset, "questions.jsonl") if q.get("evidence_doc_ids")]
    gold = [{position[g] for g in q["evidence_doc_ids"] if g in position} for q in questions]
    rows = []
    for name, analyse in analysers().items():
        started = time.perf_counter()
        docs = [analyse(f"{d.get('title') or ''}\n{d['text']}") for d in documents]
        seconds = time.perf_counter() - started
        found = ranks(docs, [analyse(q["question"]) for q in questions], gold)
        rows.append({"dataset": dataset, "analyser": name, "questions": len(questions), "documents": len(documents),
                     "recall_at_1": round(100 * float((found < 1).mean()), 1),
                     f"recall_at_{FEW}": round(100 * float((found < FEW).mean()), 1),
                     "mrr": round(float(np.where(found < RANKS_KEPT, 1 / (found + 1), 0).mean()), 3),
                     "analyse_s": round(seconds, 1)})
        print(rows[-1], flush=True)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", default="cmrc2018-dev,rgb-zh")
    args = parser.parse_args()
    rows = [row for dataset in args.datasets.split(",") for row in run(dataset)]
    print(save("chinese_analyzers", {"machine": machine(), "rows": rows}))


if __name__ == "__main__":
    main()
