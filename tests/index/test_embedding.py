"""Coalesced encoding: concurrent callers share forward passes and still get exactly their own vectors."""

from __future__ import annotations

import threading

import numpy as np
import pytest

from index.embedding import Coalescer, Embedder

TEXTS = [f"Question number {i} about the robotics laboratory opened in {2000 + i}?" for i in range(24)]


def test_concurrent_encodes_match_solo_encodes(embedder: Embedder) -> None:
    solo = {t: embedder.encode([t])[0] for t in TEXTS}
    results: dict[str, np.ndarray] = {}
    barrier = threading.Barrier(len(TEXTS))

    def ask(text: str) -> None:
        barrier.wait()
        results[text] = embedder.encode_query(text)

    threads = [threading.Thread(target=ask, args=(t,)) for t in TEXTS]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for text in TEXTS:
        assert float(results[text] @ solo[text]) > 0.9999, text


def test_waiting_callers_ride_along_in_one_pass() -> None:
    gate, calls = threading.Event(), []

    def run(texts: list[str]) -> np.ndarray:
        calls.append(list(texts))
        gate.wait(5)
        return np.array([[float(len(t))] for t in texts], dtype=np.float32)

    coalescer = Coalescer(run, max_texts=8)
    out: dict[str, float] = {}
    first = threading.Thread(target=lambda: out.update(a=float(coalescer.encode(["a"])[0][0])))
    first.start()
    while not calls:
        threading.Event().wait(0.01)
    others = [threading.Thread(target=lambda w=w: out.update({w: float(coalescer.encode([w])[0][0])}))
              for w in ("bb", "ccc", "dddd")]
    for t in others:
        t.start()
    threading.Event().wait(0.2)
    gate.set()
    for t in [first, *others]:
        t.join(5)
    assert out == {"a": 1.0, "bb": 2.0, "ccc": 3.0, "dddd": 4.0}
    assert calls[0] == ["a"] and sorted(calls[1]) == ["bb", "ccc", "dddd"] and len(calls) == 2


def test_a_failed_pass_fails_every_caller_in_it() -> None:
    def run(texts: list[str]) -> np.ndarray:
        raise RuntimeError("model crashed")

    coalescer = Coalescer(run)
    with pytest.raises(RuntimeError, match="model crashed"):
        coalescer.encode(["a"])
    with pytest.raises(RuntimeError, match="model crashed"):
        coalescer.encode(["b", "c"])
