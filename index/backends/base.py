"""The index backend interface: what a retriever searches and what a rebuild publishes, whatever holds the index.

A backend stores one immutable index per version and names the live one (a ``CURRENT`` file, a Milvus alias);
an ``IndexSnapshot`` is one loaded version: the article and chunk records the answering stages read, and the
dense and lexical candidate searches the retriever fuses. Retrieval, fusion and answering never know which
backend they run on.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np

from core.documents import Article, Chunk
from index.sentences import SentenceTable

# Vocabulary (term -> column), document frequency per column, and the number of chunks: the corpus statistics
# the reader's IDF term weights need.
TermStats = tuple[dict[str, int], np.ndarray, int]
# Candidates by chunk position: {position: score} from dense search and from BM25.
Candidates = tuple[dict[int, float], dict[int, float]]
PublishHook = Callable[[str], None]


@dataclass(frozen=True)
class SearchFilters:
    published_after: date | None = None
    published_before: date | None = None
    source: str | None = None
    article_ids: frozenset[str] | None = None

    def active(self) -> bool:
        return any(v is not None for v in (self.published_after, self.published_before, self.source,
                                           self.article_ids))


class IndexSnapshot(ABC):
    """One loaded, immutable index version; a new version gets a new object, so searches never see a half swap."""

    version: str
    path: Path | None
    manifest: dict[str, Any]
    articles: dict[str, Article]
    chunks: list[Chunk]
    chunk_dates: np.ndarray
    sentences: SentenceTable | None = None  # sentence vectors computed at ingest (None for older versions)

    @property
    def model_id(self) -> str:
        return str(self.manifest["embedding"]["model"])

    @abstractmethod
    def candidates(self, query_vector: np.ndarray, tokens: list[str], depth: int,
                   filters: SearchFilters | None) -> Candidates:
        """Up to ``depth`` dense and BM25 candidates (BM25 only with ``tokens``) that pass ``filters``."""

    @abstractmethod
    def term_stats(self) -> TermStats:
        """BM25 document frequencies of the indexed chunks, for IDF term weights."""


class IndexBackend(ABC):
    """Where index versions are written, named current, listed, loaded and pruned; chosen by a setting."""

    name: str

    @abstractmethod
    def current_version(self) -> str | None:
        """The version the live pointer names, or None before the first build."""

    @abstractmethod
    def list_versions(self) -> list[str]:
        """Complete versions, newest first."""

    @abstractmethod
    def load(self, version: str) -> IndexSnapshot:
        """Load and verify one version (SnapshotNotFoundError, SnapshotCorruptError)."""

    def load_latest(self) -> tuple[IndexSnapshot, list[str]]:
        """The current version, or the newest loadable one when it is damaged; also the problems met."""
        from core.errors import SnapshotCorruptError, SnapshotNotFoundError

        problems: list[str] = []
        current = self.current_version()
        candidates = ([current] if current else []) + [v for v in self.list_versions() if v != current]
        for version in candidates:
            try:
                return self.load(version), problems
            except (SnapshotCorruptError, SnapshotNotFoundError) as exc:
                problems.append(str(exc))
        raise SnapshotNotFoundError(
            f"no loadable index in {self.describe()}" + (f" ({'; '.join(problems)})" if problems else ""))

    @abstractmethod
    def previous_articles(self) -> tuple[str | None, dict[str, Any], dict[str, Article]]:
        """The current version, its manifest and its articles, for incremental rebuilds (empty when unreadable)."""

    @abstractmethod
    def publish(self, articles: list[Article], chunks: list[Chunk], vectors: np.ndarray,
                lexical_tokens: list[list[str]], model_id: str, extra: dict[str, Any] | None = None,
                keep: int | None = None, hook: PublishHook | None = None,
                sentences: SentenceTable | None = None) -> str:
        """Write a complete new version aside, then switch the live pointer to it; the caller holds the lock.

        ``keep``: versions kept for rollback (default: the backend's setting); ``sentences``: the chunks'
        sentence vectors, stored with the version."""

    @abstractmethod
    def activate(self, version: str) -> None:
        """Point the live pointer at a kept version (rollback); it is loaded and verified first."""

    @abstractmethod
    def write_lock(self) -> AbstractContextManager[None]:
        """One rebuild at a time for everyone sharing this index (IndexBusyError when another one runs)."""

    def rebuild_holder(self) -> str | None:
        """Who holds the rebuild lock elsewhere, when that is known without waiting; None when free."""
        return None

    @abstractmethod
    def describe(self) -> str:
        """Where the index lives, for messages."""


EMPTY_INDEX_DIMENSION = 384  # vector width assumed for an index built from no vectors (the packaged embedders')


def vector_dimension(vectors: np.ndarray) -> int:
    """Width of a batch of row vectors; an empty batch has none, so an index over it gets the packaged width."""
    width = int(vectors.shape[1]) if vectors.ndim > 1 else 0
    return width or EMPTY_INDEX_DIMENSION


def ordinal(iso: str | None) -> int:
    """Day number of an ISO date (-1 when unknown): dates filter and rank as integers."""
    if not iso:
        return -1
    try:
        return date.fromisoformat(iso[:10]).toordinal()
    except ValueError:
        return -1


def term_stats_from_tokens(lexical_tokens: list[list[str]]) -> TermStats:
    """Document frequencies counted from the chunks' BM25 tokens, as bm25s counts them."""
    df: dict[str, int] = {}
    for tokens in lexical_tokens:
        for term in set(tokens):
            df[term] = df.get(term, 0) + 1
    vocab = {term: i for i, term in enumerate(sorted(df))}
    return vocab, np.array([df[t] for t in sorted(df)], dtype=np.int64), len(lexical_tokens)


LockFactory = Callable[[], AbstractContextManager[None]]
