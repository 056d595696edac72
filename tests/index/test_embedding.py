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


def test_the_multilingual_embedder_places_a_question_near_its_passage_in_either_language() -> None:
    """The packaged multilingual-e5-small (``ARTICLE_QA_EMBEDDING_MODEL=e5``): a Chinese question is nearest
    the passage that answers it, in Chinese or in English, and far from an unrelated one."""
    from index.embedding import get_embedder

    e5 = get_embedder("e5", 2)
    passages = e5.encode(["中心配备高仿真模拟人82台。", "The centre has 82 high-fidelity patient simulators.",
                          "The football club signed a new goalkeeper on Tuesday."])
    assert passages.shape == (3, e5.dimension)
    assert np.allclose(np.linalg.norm(passages, axis=1), 1.0, atol=1e-4)
    scores = passages @ e5.encode_query("中心配备了多少台高仿真模拟人？")
    assert scores[0] > scores[2] and scores[1] > scores[2], scores
    english = passages @ e5.encode_query("How many simulators does the centre have?")
    assert english[0] > english[2] and english[1] > english[2], english
