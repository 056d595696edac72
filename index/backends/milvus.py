"""The Milvus backend: dense and BM25 search in Milvus, one collection per index version, switched atomically.

Each rebuild writes the article store's records for a new version, then a new collection ``<prefix>_<version>``
(dense vectors, the chunks' BM25 tokens with Milvus's own BM25 function, and integer filter fields), verifies
it, and only then moves the pointer: a row appended to ``<prefix>_aliases`` (milvus-lite 2.5 does not implement
aliases), and on a Milvus server the native alias ``<prefix>`` as well. A crash before that leaves the pointer
on the last good collection; the next rebuild drops what the crash left. Searches go to the concrete collection
of the version a replica loaded, so queries in flight finish on it while the pointer moves.

The same code talks to the embedded engine (a ``.db`` file path: milvus-lite runs the C++ engine as a child
process) and to Milvus standalone or distributed (``http://host:19530`` with a token).
"""

from __future__ import annotations

import logging
import re
import threading
import time
import warnings
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from core.config import Settings
from core.documents import Article, Chunk
from core.errors import (
    IndexUnavailableError,
    IndexWriteError,
    SnapshotCorruptError,
    SnapshotNotFoundError,
)
from index.backends.base import (
    Candidates,
    IndexBackend,
    IndexSnapshot,
    PublishHook,
    SearchFilters,
    TermStats,
    ordinal,
    term_stats_from_tokens,
    vector_dimension,
)
from index.backends.store import ArticleStore
from index.sentences import SentenceTable
from index.snapshot import FORMAT_VERSION, new_version

log = logging.getLogger(__name__)
# milvus-lite 2.5.1 imports pkg_resources (hence setuptools<81), which warns on import.
warnings.filterwarnings("ignore", message="pkg_resources is deprecated", category=UserWarning)

# bm25s's defaults (method "lucene"): Milvus scores BM25 with the same formula times (k1 + 1), which is divided
# back out so lexical scores (a confidence signal) are the local backend's.
BM25_K1 = 1.5
BM25_B = 0.75
# Milvus caps VARCHAR fields at 65,535 bytes; a chunk's tokens stay far below it.
MAX_VARCHAR = 65_535
POINTER_SUFFIX = "aliases"
# Pointer rows kept: the switch history (older rows name dropped collections).
POINTER_HISTORY = 50
# Seconds a rebuild waits for another replica's rebuild to finish (as the local backend's writers wait).
REBUILD_WAIT_SECONDS = 600.0
# Seconds to wait for a Milvus server to accept the connection before reporting the index unavailable.
CONNECT_TIMEOUT = 10.0
_VERSION = re.compile(r"^(\d{8}T\d{12}Z)_([0-9a-f]{6})$")
_clients: dict[tuple[str, str], Any] = {}
_clients_lock = threading.Lock()
# Dense searches run on these threads while the caller's thread runs the BM25 search (both wait on the engine).
SEARCH_THREADS = 8
_SEARCHES = ThreadPoolExecutor(SEARCH_THREADS, thread_name_prefix="milvus-search")
_NO_ALIASES: set[str] = set()  # engines that answered UNIMPLEMENTED to alias calls (milvus-lite)


def connect(uri: str, token: str = "") -> Any:
    """One client per (uri, token) and process: the embedded engine allows one owner per file."""
    from pymilvus import MilvusClient

    key = (uri, token)
    with _clients_lock:
        if key not in _clients:
            if uri.endswith(".db"):
                Path(uri).parent.mkdir(parents=True, exist_ok=True)
            try:
                _clients[key] = MilvusClient(uri=uri, token=token, timeout=CONNECT_TIMEOUT)
            except Exception as exc:
                hint = (" (the embedded engine's file is open in another process, e.g. a running `serve`: "
                        "rebuild through its admin API or --watch, or run Milvus as a server)"
                        if uri.endswith(".db") else "")
                raise IndexUnavailableError(f"cannot connect to Milvus at {uri}: {exc}{hint}") from exc
        return _clients[key]


def disconnect(uri: str, token: str = "") -> None:
    """Close a client (and stop the embedded engine it started); the next use connects again."""
    with _clients_lock:
        client = _clients.pop((uri, token), None)
    if client is not None:
        client.close()
        if uri.endswith(".db"):
            from milvus_lite.server_manager import server_manager_instance

            server_manager_instance.release_server(uri)


def _filter_numbers(articles: dict[str, Article]) -> tuple[dict[str, int], dict[str, int]]:
    """Article and source numbers stored with each chunk: filters become integer expressions, so no article
    text or id is ever spliced into a Milvus expression."""
    article_no = {article_id: i for i, article_id in enumerate(articles)}
    source_no = {s: i for i, s in enumerate(sorted({a.source.strip().lower() for a in articles.values()}))}
    return article_no, source_no


@dataclass
class MilvusSnapshot(IndexSnapshot):
    """One index version: records from the article store in memory, candidates from its Milvus collection."""

    version: str
    path: Path | None
    manifest: dict[str, Any]
    articles: dict[str, Article]
    chunks: list[Chunk]
    collection: str
    backend: MilvusBackend = field(repr=False)
    terms: TermStats = field(repr=False)
    chunk_dates: np.ndarray = field(repr=False, default_factory=lambda: np.zeros(0))
    article_no: dict[str, int] = field(repr=False, default_factory=dict)
    source_no: dict[str, int] = field(repr=False, default_factory=dict)
    sentences: SentenceTable | None = field(repr=False, default=None)

    def term_stats(self) -> TermStats:
        return self.terms

    def expression(self, filters: SearchFilters | None) -> str | None:
        """The filters as a Milvus boolean expression of integer fields; "" when nothing can match."""
        if filters is None or not filters.active():
            return None
        parts = []
        if filters.published_after is not None:
            parts.append(f"date >= {filters.published_after.toordinal()}")
        if filters.published_before is not None:
            parts.append(f"(date <= {filters.published_before.toordinal()} and date >= 0)")
        if filters.source is not None:
            number = self.source_no.get(filters.source.strip().lower())
            if number is None:
                return ""
            parts.append(f"source_no == {number}")
        if filters.article_ids is not None:
            numbers = sorted(self.article_no[a] for a in filters.article_ids if a in self.article_no)
            if not numbers:
                return ""
            parts.append(f"article_no in [{', '.join(map(str, numbers))}]")
        return " and ".join(parts)

    def candidates(self, query_vector: np.ndarray, tokens: list[str], depth: int,
                   filters: SearchFilters | None) -> Candidates:
        """Dense (inner product) and BM25 searches in the version's collection, filtered inside Milvus."""
        expr = self.expression(filters)
        if expr == "" or not self.chunks:
            return {}, {}
        depth = min(depth, len(self.chunks))
        backend = self.backend
        dense_search = _SEARCHES.submit(
            backend.search, self.collection, [np.asarray(query_vector, dtype=np.float32).tolist()], "dense",
            {"metric_type": "IP", "params": backend.search_params}, depth, expr)  # in parallel with BM25
        lexical: dict[int, float] = {}
        if tokens:
            found = backend.search(self.collection, [" ".join(tokens)], "sparse", {"metric_type": "BM25"}, depth,
                                   expr)
            lexical = {i: s / (BM25_K1 + 1.0) for i, s in found.items() if s > 0}
        return dense_search.result(), lexical


class MilvusBackend(IndexBackend):
    """Index versions as Milvus collections, their records in the shared article store."""

    name = "milvus"

    def __init__(self, uri: str, store: ArticleStore, prefix: str = "article_qa", token: str = "",
                 index_type: str = "FLAT", index_params: dict[str, Any] | None = None,
                 search_params: dict[str, Any] | None = None, insert_batch: int = 2000, keep: int = 3) -> None:
        if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]{0,180}", prefix):
            raise ValueError(f"Milvus collection prefix {prefix!r}: use letters, digits and underscores")
        self.uri = uri
        self.token = token
        self.store = store
        self.prefix = prefix
        self.index_type = index_type
        self.index_params = dict(index_params or {})
        self.search_params = dict(search_params or {})
        self.insert_batch = max(1, insert_batch)
        self.keep = keep
        self.lock_timeout = REBUILD_WAIT_SECONDS
        self.pointer = f"{prefix}_{POINTER_SUFFIX}"
        self._pointer_ready = False
        self._native_alias = not uri.endswith(".db") and uri not in _NO_ALIASES

    @classmethod
    def from_settings(cls, settings: Settings, data_dir: Path) -> MilvusBackend:
        uri = settings.milvus.uri or str((data_dir / "milvus.db").absolute())
        token = settings.milvus.token.get_secret_value() if settings.milvus.token else ""
        store = ArticleStore(settings.index.article_store_dir or data_dir / "store")
        return cls(uri, store, settings.milvus.collection, token, settings.milvus.index_type,
                   settings.milvus.index_params, settings.milvus.search_params, settings.milvus.insert_batch,
                   settings.milvus.keep_collections)

    @property
    def client(self) -> Any:
        return connect(self.uri, self.token)

    def describe(self) -> str:
        return f"Milvus at {self.uri} (collections {self.prefix}_*, records in {self.store.root})"

    def collection_name(self, version: str) -> str:
        return f"{self.prefix}_{version.replace('-', '_')}"

    def version_of(self, collection: str) -> str | None:
        if not collection.startswith(f"{self.prefix}_"):
            return None
        match = _VERSION.match(collection[len(self.prefix) + 1:])
        return f"{match.group(1)}-{match.group(2)}" if match else None

    @contextmanager
    def _engine(self, what: str) -> Iterator[None]:
        """Engine failures become IndexUnavailableError, which the service answers with 503."""
        try:
            yield
        except (IndexUnavailableError, SnapshotNotFoundError, SnapshotCorruptError):
            raise
        except Exception as exc:
            raise IndexUnavailableError(f"Milvus at {self.uri} failed to {what}: {type(exc).__name__}: {exc}") \
                from exc

    # the pointer ("alias") -------------------------------------------------------------------------------

    def _ensure_pointer(self) -> None:
        if self._pointer_ready:
            return
        from pymilvus import DataType

        client = self.client
        if not client.has_collection(self.pointer):
            schema = client.create_schema(auto_id=False, enable_dynamic_field=False)
            schema.add_field("seq", DataType.INT64, is_primary=True)
            schema.add_field("target", DataType.VARCHAR, max_length=255)
            schema.add_field("vec", DataType.FLOAT_VECTOR, dim=2)  # Milvus needs one vector field
            params = client.prepare_index_params()
            params.add_index("vec", index_type="FLAT", metric_type="L2")
            try:
                client.create_collection(self.pointer, schema=schema, index_params=params,
                                         consistency_level="Strong")
            except Exception:
                if not client.has_collection(self.pointer):  # another replica may have created it first
                    raise
        client.load_collection(self.pointer)
        self._pointer_ready = True

    def _history(self) -> list[tuple[int, str]]:
        """Pointer rows (sequence, collection), newest first."""
        with self._engine("read the index pointer"):
            if not self._pointer_ready and not self.client.has_collection(self.pointer):
                return []
            self._ensure_pointer()
            rows = self.client.query(self.pointer, filter="seq >= 0", output_fields=["seq", "target"],
                                     limit=POINTER_HISTORY * 4, consistency_level="Strong")
        return sorted(((int(r["seq"]), str(r["target"])) for r in rows), reverse=True)

    def _switch(self, collection: str) -> None:
        """The atomic switch: one appended row (a row is visible whole or not at all); then the native alias."""
        self._ensure_pointer()
        seq = time.time_ns()
        self.client.insert(self.pointer, [{"seq": seq, "target": collection, "vec": [0.0, 0.0]}])
        if self._native_alias:
            try:
                if self.prefix in self.client.list_aliases().get("aliases", []):
                    self.client.alter_alias(collection, self.prefix)
                else:
                    self.client.create_alias(collection, self.prefix)
            except Exception as exc:  # the pointer row is what replicas read; the alias is for other tools
                log.info("Milvus alias %s not moved (%s); replicas follow %s", self.prefix, exc, self.pointer)
                _NO_ALIASES.add(self.uri)
                self._native_alias = False
        old = [s for s, _ in self._history()[POINTER_HISTORY:]]
        if old:
            self.client.delete(self.pointer, filter=f"seq <= {max(old)}")

    def activate(self, version: str) -> None:
        """Point the index at a kept version (rollback); every replica follows within a poll interval."""
        self.load(version)
        with self.write_lock(), self._engine("switch the index pointer"):
            self._switch(self.collection_name(version))

    # versions --------------------------------------------------------------------------------------------

    def current_version(self) -> str | None:
        history = self._history()
        return self.version_of(history[0][1]) if history else None

    def _collections(self) -> set[str]:
        with self._engine("list collections"):
            return {c for c in self.client.list_collections() if self.version_of(c)}

    def list_versions(self) -> list[str]:
        """Published versions whose collection and records still exist, newest first."""
        existing = self._collections()
        stored = set(self.store.versions())
        seen: list[str] = []
        for _, collection in self._history():
            version = self.version_of(collection)
            if version and collection in existing and version in stored and version not in seen:
                seen.append(version)
        return sorted(seen, reverse=True)

    def load(self, version: str) -> MilvusSnapshot:
        manifest, articles, chunks, terms = self.store.read(version)
        collection = self.collection_name(version)
        with self._engine(f"load collection {collection}"):
            if not self.client.has_collection(collection):
                raise SnapshotNotFoundError(f"version {version}: Milvus collection {collection} not found")
            self.client.load_collection(collection)
            rows = self.client.query(collection, filter="", output_fields=["count(*)"], consistency_level="Strong")
        count = int(rows[0]["count(*)"]) if rows else 0
        if count != len(chunks):
            raise SnapshotCorruptError(f"version {version}: collection {collection} holds {count} chunks, "
                                       f"the records {len(chunks)}")
        article_no, source_no = _filter_numbers(articles)
        dates = np.array([ordinal(articles[c.article_id].date) for c in chunks], dtype=np.int64)
        return MilvusSnapshot(version=version, path=self.store.root / version, manifest=manifest, articles=articles,
                              chunks=chunks, collection=collection, backend=self, terms=terms, chunk_dates=dates,
                              article_no=article_no, source_no=source_no, sentences=self.store.sentences(version))

    def previous_articles(self) -> tuple[str | None, dict[str, Any], dict[str, Article]]:
        version = self.current_version()  # an unreachable engine fails the build here, before any work
        if version is None:
            return None, {}, {}
        try:
            return version, self.store.manifest(version), self.store.articles(version)
        except (OSError, ValueError, KeyError):
            return None, {}, {}

    def search(self, collection: str, data: list[Any], field_name: str, params: dict[str, Any], limit: int,
               expr: str | None) -> dict[int, float]:
        """{chunk position: score} of one search in one collection."""
        with self._engine(f"search {collection}"):
            found = self.client.search(collection, data=data, anns_field=field_name, limit=limit,
                                       filter=expr or "", search_params=params, output_fields=[])
        return {int(hit["id"]): float(hit["distance"]) for hit in found[0]}

    # writing ---------------------------------------------------------------------------------------------

    def write_lock(self) -> AbstractContextManager[None]:
        return self.store.rebuild_lock(self.lock_timeout)

    def rebuild_holder(self) -> str | None:
        return self.store.holder()

    def _create(self, collection: str, dimension: int) -> None:
        from pymilvus import DataType, Function, FunctionType

        client = self.client
        schema = client.create_schema(auto_id=False, enable_dynamic_field=False)
        schema.add_field("id", DataType.INT64, is_primary=True)
        schema.add_field("article_no", DataType.INT64)
        schema.add_field("source_no", DataType.INT64)
        schema.add_field("date", DataType.INT64)
        # The chunk's BM25 tokens, analysed by index/analysis.py exactly as for the local backend.
        schema.add_field("lexical", DataType.VARCHAR, max_length=MAX_VARCHAR, enable_analyzer=True,
                         analyzer_params={"tokenizer": "whitespace"})
        schema.add_field("sparse", DataType.SPARSE_FLOAT_VECTOR)
        schema.add_field("dense", DataType.FLOAT_VECTOR, dim=dimension)
        schema.add_function(Function(name="bm25", function_type=FunctionType.BM25, input_field_names=["lexical"],
                                     output_field_names=["sparse"]))
        params = client.prepare_index_params()
        params.add_index("dense", index_type=self.index_type, metric_type="IP", params=self.index_params)
        params.add_index("sparse", index_type="SPARSE_INVERTED_INDEX", metric_type="BM25",
                         params={"bm25_k1": BM25_K1, "bm25_b": BM25_B})
        client.create_collection(collection, schema=schema, index_params=params, consistency_level="Bounded")

    def _insert(self, collection: str, articles: list[Article], chunks: list[Chunk], vectors: np.ndarray,
                lexical_tokens: list[list[str]]) -> None:
        by_id = {a.id: a for a in articles}
        article_no, source_no = _filter_numbers(by_id)
        for start in range(0, len(chunks), self.insert_batch):
            rows = []
            for i in range(start, min(start + self.insert_batch, len(chunks))):
                article = by_id[chunks[i].article_id]
                text = " ".join(lexical_tokens[i]).encode()[:MAX_VARCHAR].decode(errors="ignore")
                rows.append({"id": i, "article_no": article_no[article.id],
                             "source_no": source_no[article.source.strip().lower()], "date": ordinal(article.date),
                             "lexical": text, "dense": vectors[i].astype(np.float32).tolist()})
            self.client.insert(collection, rows)

    def _drop(self, collection: str) -> None:
        try:
            self.client.drop_collection(collection)
        except Exception as exc:
            log.warning("could not drop Milvus collection %s: %s", collection, exc)

    def publish(self, articles: list[Article], chunks: list[Chunk], vectors: np.ndarray,
                lexical_tokens: list[list[str]], model_id: str, extra: dict[str, Any] | None = None,
                keep: int | None = None, hook: PublishHook | None = None,
                sentences: SentenceTable | None = None) -> str:
        """Records, then a complete and verified collection, then the pointer; the caller holds the lock."""
        step = hook or (lambda name: None)
        self._drop_unpublished()
        version = new_version()
        collection = self.collection_name(version)
        dimension = vector_dimension(vectors)
        terms = term_stats_from_tokens(lexical_tokens)
        manifest = {
            "format": FORMAT_VERSION, "version": version,
            "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "embedding": {"model": model_id, "dimension": dimension},
            "counts": {"articles": len(articles), "chunks": len(chunks)},
            "backend": {"name": self.name, "collection": collection, "index_type": self.index_type},
            **(extra or {}),
        }
        self.store.write(version, articles, chunks, terms, manifest, step, sentences)
        try:
            with self._engine(f"write collection {collection}"):
                self._create(collection, dimension)
                step("collection")
                self._insert(collection, articles, chunks, vectors, lexical_tokens)
                self.client.flush(collection)
                step("inserted")
                self.client.load_collection(collection)
                rows = self.client.query(collection, filter="", output_fields=["count(*)"],
                                         consistency_level="Strong")
                if not rows or int(rows[0]["count(*)"]) != len(chunks):
                    raise IndexWriteError(f"collection {collection} holds {rows} rows, expected {len(chunks)}")
                step("loaded")
        except BaseException as exc:
            self._drop(collection)
            self.store.remove(version)
            if isinstance(exc, IndexUnavailableError):
                raise IndexWriteError(str(exc)) from exc
            raise
        with self._engine("switch the index pointer"):
            self._switch(collection)
        step("published")
        self.prune(self.keep if keep is None else keep)
        return version

    def _drop_unpublished(self) -> None:
        """What a killed rebuild left: collections and record folders no pointer row ever named."""
        self.store.clean_partial()
        published = {c for _, c in self._history()}
        for collection in self._collections() - published:
            self._drop(collection)
            version = self.version_of(collection)
            if version:
                self.store.remove(version)

    def prune(self, keep: int) -> list[str]:
        """Keep the current and the newest ``keep - 1`` other published versions; drop the rest; release all but
        the two newest from the engine's memory (a replica may still answer on the previous one)."""
        history = self._history()
        existing = self._collections()
        kept: list[str] = []
        for _, collection in history:
            if collection in existing and collection not in kept:
                kept.append(collection)
        current = history[0][1] if history else None
        keep_set = {current} if current in existing else set()
        for collection in sorted(kept, reverse=True):
            if len(keep_set) >= max(1, keep):
                break
            keep_set.add(collection)
        removed = []
        for collection in existing - keep_set:
            self._drop(collection)
            removed.append(collection)
        kept_versions = {self.version_of(c) for c in keep_set}
        for version in self.store.versions():
            if version not in kept_versions:
                self.store.remove(version)
        for collection in sorted(keep_set, reverse=True)[2:]:
            if collection != current:
                try:
                    self.client.release_collection(collection)
                except Exception as exc:
                    log.warning("could not release Milvus collection %s: %s", collection, exc)
        return [v for v in (self.version_of(c) for c in removed) if v]
