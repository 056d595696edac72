"""Sentence vectors for the evidence stage, which scores the sentences of the retrieved chunks by dense
similarity to the question.

Each sentence is encoded as a text of its own and stored here with each index version, so answering
encodes only the question. By default (``ARTICLE_QA_EMBEDDING_SENTENCE_VECTORS=deferred``) a large build
publishes its passages first, and the evidence stage encodes the few sentences it reads until the same index
is published again with this table; ``separate`` encodes every sentence before publishing, ``on_demand``
never stores them, and ``pooled`` (in-process builds) pools a sentence's vector from the token states of its
chunk's own embedding pass. Built vectors go through the embedding cache, so unchanged text is never
encoded again.
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from core.documents import Article, Chunk
from core.text import sentence_spans

SENTENCES_FILE = "sentences.npz"


@dataclass(frozen=True)
class SentenceTable:
    """Every sentence of every chunk (deduplicated across overlapping chunks) and its vector."""

    article_ids: np.ndarray  # str, one per row
    starts: np.ndarray  # int64 article offsets
    ends: np.ndarray
    vectors: np.ndarray  # float32, one L2-normalised row per sentence
    _rows: dict[tuple[str, int, int], int] = field(default_factory=dict, repr=False, compare=False)

    def __post_init__(self) -> None:
        self._rows.update({(str(a), int(s), int(e)): i for i, (a, s, e)
                           in enumerate(zip(self.article_ids, self.starts, self.ends, strict=True))})

    def __len__(self) -> int:
        return len(self.starts)

    def vector(self, article_id: str, start: int, end: int) -> np.ndarray | None:
        row = self._rows.get((article_id, start, end))
        return None if row is None else self.vectors[row]

    def to_bytes(self) -> bytes:
        buffer = io.BytesIO()
        np.savez(buffer, article_ids=self.article_ids.astype(str), starts=self.starts, ends=self.ends,
                 vectors=self.vectors)
        return buffer.getvalue()

    @classmethod
    def read(cls, folder: Path) -> SentenceTable | None:
        """The table stored in an index version folder, or None for a version built before sentences were kept."""
        path = folder / SENTENCES_FILE
        if not path.is_file():
            return None
        with np.load(path, allow_pickle=False) as data:
            return cls(data["article_ids"], data["starts"], data["ends"], data["vectors"].astype(np.float32))


def chunk_sentences(articles: dict[str, Article], chunks: list[Chunk]) -> list[tuple[str, int, int]]:
    """``(article id, start, end)`` of every sentence inside a chunk, each once, in chunk order."""
    return [row for group in chunk_sentence_groups(articles, chunks) for row in group]


def chunk_sentence_groups(articles: dict[str, Article], chunks: list[Chunk]) -> list[list[tuple[str, int, int]]]:
    """Per chunk, the sentences it is the first chunk to hold (overlapping chunks share a sentence once)."""
    seen: set[tuple[str, int, int]] = set()
    out: list[list[tuple[str, int, int]]] = []
    for chunk in chunks:
        article = articles[chunk.article_id]
        group = []
        for start, end in sentence_spans(article.text, chunk.start, chunk.end):
            key = (article.id, start, end)
            if key not in seen:
                seen.add(key)
                group.append(key)
        out.append(group)
    return out


def build_table(rows: list[tuple[str, int, int]], vectors: np.ndarray) -> SentenceTable:
    return SentenceTable(np.array([r[0] for r in rows], dtype=str), np.array([r[1] for r in rows], dtype=np.int64),
                         np.array([r[2] for r in rows], dtype=np.int64), np.asarray(vectors, dtype=np.float32))
