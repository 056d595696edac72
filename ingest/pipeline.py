"""The ingest stage end to end: folder -> articles -> chunks -> embeddings -> published snapshot."""

from __future__ import annotations

import json
import logging
import sqlite3
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np

from core.config import Settings
from core.documents import Article, Chunk, RawDocument
from core.errors import EmptyCorpusError, InvalidArticleError
from index.analysis import ANALYZER_VERSION, lexical_terms
from index.backends import backend_for
from index.distributed import embedding_executor
from index.embedding import EmbeddingCache, get_embedder
from index.fsutil import index_writes
from index.sentences import SentenceTable, build_table, chunk_sentence_groups
from ingest.chunk_cache import ArticlePieces, ChunkCache, CleanCache
from ingest.chunking import ChunkingConfig, chunk_article, chunks_from_spans, embedding_text, lexical_text
from ingest.cleaning import clean, slugify
from ingest.feed_store import FeedStore
from ingest.sources import scan_folder

log = logging.getLogger(__name__)

TOMBSTONES = "deleted.json"
CHUNK_CACHE = "chunks.sqlite"
Progress = Callable[[str, int, int], None]
PROGRESS_EVERY = 50  # articles between two progress reports while reading


@dataclass
class IngestReport:
    """What a build did; ``published`` is False when nothing changed and the current snapshot stands."""

    version: str | None
    published: bool
    added: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    duplicates: dict[str, str] = field(default_factory=dict)
    skipped: dict[str, str] = field(default_factory=dict)
    kept_previous: list[str] = field(default_factory=list)
    articles: int = 0
    chunks: int = 0
    embedded: int = 0
    seconds: float = 0.0
    first_version: str | None = None  # deferred sentence vectors: the passages-only version served meanwhile
    first_seconds: float | None = None  # when that version was published (the wait before answers)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def summary(self) -> str:
        head = f"snapshot {self.version}" + ("" if self.published else " (unchanged, nothing published)")
        return (
            f"{head}: {self.articles} articles, {self.chunks} chunks; added {len(self.added)}, "
            f"updated {len(self.updated)}, unchanged {len(self.unchanged)}, removed {len(self.removed)}, "
            f"duplicates {len(self.duplicates)}, skipped files {len(self.skipped)}; "
            f"embedded {self.embedded} new chunks in {self.seconds:.1f}s"
            + (f" (served from {self.first_version} after {self.first_seconds:.1f}s, before its sentence vectors)"
               if self.first_version and self.first_seconds is not None else "")
        )


def read_tombstones(data_dir: Path) -> set[str]:
    try:
        return set(json.loads((data_dir / TOMBSTONES).read_text()))
    except (FileNotFoundError, ValueError):
        return set()


def add_tombstone(data_dir: Path, source_key: str) -> None:
    from index.fsutil import write_atomic

    keys = read_tombstones(data_dir) | {source_key}
    data_dir.mkdir(parents=True, exist_ok=True)
    write_atomic(data_dir / TOMBSTONES, json.dumps(sorted(keys)).encode())


def article_id_for(raw: RawDocument) -> str:
    """Stable id from where the article came from: the file name, the record id inside a JSONL file, or the
    page URL's path for an article fetched from a feed or sitemap."""
    if raw.doc_id and (raw.fmt == "json" and "#" in raw.key or raw.fmt == "feed"):
        return slugify(raw.doc_id)
    return slugify(Path(raw.key.split("#")[0]).stem)


def clean_documents(raws: list[RawDocument], report: IngestReport, known: set[str] | None = None,
                    cache: CleanCache | None = None, progress: Progress | None = None) -> list[Article]:
    """Clean every document, assign unique ids, and store identical articles once.

    Documents whose id is already indexed go first, so a copy never takes over an existing article's id.
    With a ``cache``, a raw document seen before under the same id is not cleaned again.
    """
    known = known or set()
    raws = sorted(raws, key=lambda r: article_id_for(r) not in known)
    articles: list[Article] = []
    by_hash: dict[str, str] = {}
    used: set[str] = set()
    for i, raw in enumerate(raws):
        if progress and i % PROGRESS_EVERY == 0:
            progress("reading", i, len(raws))
        base = article_id_for(raw)
        article_id, n = base, 2
        while article_id in used:
            article_id, n = f"{base}-{n}", n + 1
        key = CleanCache.key(raw, article_id) if cache else ""
        article = cache.get(key) if cache else None
        if article is None:
            try:
                article = clean(raw, article_id)
            except InvalidArticleError as exc:
                report.skipped[raw.key] = str(exc).removeprefix(f"{raw.key}: ")
                continue
            if cache:
                cache.put(key, article)
        if article.content_hash in by_hash:
            report.duplicates[raw.key] = by_hash[article.content_hash]
            continue
        by_hash[article.content_hash] = article.id
        used.add(article.id)
        articles.append(article)
    return articles


@dataclass
class Prepared:
    """Chunks with their vectors and BM25 tokens, ready to be written as (or assembled into) a snapshot."""

    chunks: list[Chunk]
    vectors: np.ndarray
    lexical_tokens: list[list[str]]
    model_id: str
    embedded: int
    sentences: SentenceTable | None  # None: sentence vectors are encoded when a question needs them
    sentences_embedded: int = 0
    deferred: bool = False  # sentence vectors left for a second version of the same build


def chunking_config(settings: Settings) -> ChunkingConfig:
    return ChunkingConfig(settings.chunking.words, settings.chunking.max_words, settings.chunking.overlap_sentences)


SentenceMode = Literal["deferred", "separate", "on_demand", "pooled"]


def prepare(
    articles: list[Article], settings: Settings, cache_path: Path, progress: Progress | None = None,
    sentences: SentenceMode | None = None,
) -> Prepared:
    """Chunk, tokenise and embed articles; unchanged articles come from the chunk and embedding caches.

    ``sentences``: how sentence vectors are made (default: the setting). Deferred ones are encoded here when
    the cache lacks at most ``deferred_inline_sentences`` of them, else left out (``Prepared.deferred``)."""
    chunking = chunking_config(settings)
    pieces_cache = ChunkCache(cache_path.with_name(CHUNK_CACHE), json.dumps(asdict(chunking), sort_keys=True))
    keys = [pieces_cache.key(a) for a in articles]
    known = pieces_cache.get_many(keys)
    fresh: list[tuple[str, ArticlePieces]] = []
    chunks: list[Chunk] = []
    embed_texts: list[str] = []
    lexical_tokens: list[list[str]] = []
    for article, key in zip(articles, keys, strict=True):
        pieces = known.get(key)
        if pieces is None:
            split = chunk_article(article, chunking)
            pieces = ArticlePieces([(c.start, c.end) for c in split],
                                   [lexical_terms(lexical_text(article, c)) for c in split])
            fresh.append((key, pieces))
        else:
            split = chunks_from_spans(article, pieces.spans)
        chunks.extend(split)
        embed_texts.extend(embedding_text(article, c) for c in split)
        lexical_tokens.extend(pieces.tokens)
    embedder = get_embedder(settings.embedding.model, settings.threads, settings.embedding.coalesce_max_texts)
    cache = EmbeddingCache(cache_path, embedder.model_id, embedder.dimension)
    count = _counter("embedding", len(embed_texts), progress)
    mode = sentences or settings.embedding.sentence_vectors
    groups = chunk_sentence_groups({a.id: a for a in articles}, chunks)
    rows = [row for group in groups for row in group]
    texts = {a.id: a.text for a in articles}
    sentence_texts = [texts[article_id][start:end] for article_id, start, end in rows]
    deferred = False
    if mode == "deferred":
        deferred = cache.missing(sentence_texts) > settings.embedding.deferred_inline_sentences
        mode = "on_demand" if deferred else "separate"
    with embedding_executor(settings) as encode_batches:
        if mode == "on_demand":
            vectors, embedded = cache.embed(embedder, embed_texts, settings.embedding.batch_size, count,
                                            encode_batches)
            table, sentences_embedded = None, 0
        else:
            if mode == "pooled" and encode_batches is None:
                spans = [_spans_in(text, chunk, group) for text, chunk, group in zip(embed_texts, chunks, groups,
                                                                                     strict=True)]
                vectors, pooled, embedded, sentences_embedded = cache.embed_pooled(
                    embedder, embed_texts, spans, settings.embedding.batch_size, count)
                sentence_vectors = np.vstack([np.zeros((0, embedder.dimension), dtype=np.float32), *pooled])
            else:
                vectors, embedded = cache.embed(embedder, embed_texts, settings.embedding.batch_size, count,
                                                encode_batches)
                sentence_vectors, sentences_embedded = cache.embed(
                    embedder, sentence_texts, settings.embedding.batch_size,
                    _counter("sentences", len(sentence_texts), progress), encode_batches)
            table = build_table(rows, sentence_vectors)
    pieces_cache.put_many(fresh)
    return Prepared(chunks, vectors, lexical_tokens, embedder.model_id, embedded, table, sentences_embedded, deferred)


def stored_sentences(settings: Settings) -> SentenceMode:
    """What a complete version holds: deferred sentence vectors end as separately encoded ones."""
    mode = settings.embedding.sentence_vectors
    return "separate" if mode == "deferred" else mode


def _spans_in(embedded: str, chunk: Chunk, sentences: list[tuple[str, int, int]]) -> list[tuple[int, int]]:
    """Where each sentence of a chunk sits in the text the embedder reads (the chunk after its title line)."""
    offset = len(embedded) - len(chunk.text)
    return [(offset + start - chunk.start, offset + end - chunk.start) for _, start, end in sentences]


def _counter(stage: str, total: int, progress: Progress | None) -> Callable[[int], None]:
    """Adds each finished batch to a running count and reports it as ``stage`` progress."""
    done = 0

    def tick(n: int) -> None:
        nonlocal done
        done += n
        if progress:
            progress(stage, done, total)

    return tick


SNAPSHOT_LAYOUT = 2  # what a build stores; 2: a version may hold sentence vectors. A newer layout rebuilds once.


def build_snapshot(
    articles_dir: Path,
    data_dir: Path,
    settings: Settings,
    progress: Progress | None = None,
    force: bool = False,
    on_first_version: Callable[[str], object] | None = None,
) -> IngestReport:
    """Read ``articles_dir`` and publish a new snapshot into ``data_dir`` if anything changed.

    With deferred sentence vectors and more sentences to encode than ``deferred_inline_sentences``, the
    passages are published first (``on_first_version`` is told, so a service can serve it) and the same
    index with its sentence vectors after; a stop in between leaves that first version, and the next build
    completes it."""
    started = time.perf_counter()
    report = IngestReport(version=None, published=False)
    scan = scan_folder(articles_dir)
    report.skipped.update(scan.skipped)
    fetched = FeedStore(data_dir).documents()
    report.skipped.update(fetched.skipped)
    tombstones = read_tombstones(data_dir)
    raws = [r for r in scan.documents + fetched.documents if r.key not in tombstones]
    config_stamp = {"chunking": asdict(chunking_config(settings)), "embedding_model": settings.embedding.model,
                    "sentence_vectors": stored_sentences(settings), "layout": SNAPSHOT_LAYOUT,
                    "analyzer": ANALYZER_VERSION}

    backend = backend_for(settings, data_dir)
    with backend.write_lock():
        prev_version, prev_manifest, previous = backend.previous_articles()
        with index_writes(data_dir, "the chunk cache", (OSError, sqlite3.Error)):
            clean_cache = CleanCache(data_dir / CHUNK_CACHE)
            try:
                articles = clean_documents(raws, report, set(previous), clean_cache, progress)
            finally:
                clean_cache.close()
        present_keys = {a.source_key for a in articles} | set(report.duplicates)
        for old in previous.values():
            source_file = old.source_key.split("#")[0]
            if source_file in report.skipped and old.source_key not in present_keys:
                articles.append(old)
                report.kept_previous.append(old.id)
        if not articles:
            raise EmptyCorpusError(
                f"no articles could be read from {articles_dir}"
                + (f" ({len(report.skipped)} files skipped)" if report.skipped else "")
                + "; nothing was changed"
            )
        ids = {a.id for a in articles}
        for article in articles:
            prior = previous.get(article.id)
            if prior is None:
                report.added.append(article.id)
            elif prior.content_hash != article.content_hash:
                report.updated.append(article.id)
            else:
                report.unchanged.append(article.id)
        report.removed = sorted(set(previous) - ids)
        report.articles = len(articles)

        same_config = prev_manifest.get("build") == config_stamp
        if prev_version and same_config and not force and not (report.added or report.updated or report.removed):
            report.version = prev_version
            report.chunks = int(prev_manifest.get("counts", {}).get("chunks", 0))
            report.seconds = time.perf_counter() - started
            return report

        cache_path = data_dir / "embeddings.sqlite"
        sources = {"articles_dir": str(articles_dir), "feed_pages": len(fetched.documents)}
        delay = settings.index.fault_delay_ms / 1000

        def hook(step: str) -> None:
            if progress:
                progress(step, 1, 1)
            if delay:
                time.sleep(delay)

        def publish(prepared: Prepared, stamp: dict[str, Any]) -> str:
            return backend.publish(articles, prepared.chunks, prepared.vectors, prepared.lexical_tokens,
                                   prepared.model_id, sentences=prepared.sentences,
                                   extra={"build": stamp, "sources": sources}, hook=hook)

        caches = ("the embedding and chunk caches", (OSError, sqlite3.Error))
        with index_writes(data_dir, *caches):
            prepared = prepare(articles, settings, cache_path, progress)
        report.embedded = prepared.embedded
        pending = {**config_stamp, "sentences_pending": True}
        completes = prev_manifest.get("build") == pending and not (report.added or report.updated or report.removed)
        if prepared.deferred and not completes:
            report.first_version = publish(prepared, pending)
            report.first_seconds = time.perf_counter() - started
            log.info("ingest: serving %s while its sentence vectors are encoded", report.first_version)
            if on_first_version:
                on_first_version(report.first_version)
        if prepared.deferred:
            with index_writes(data_dir, *caches):
                prepared = prepare(articles, settings, cache_path, progress, sentences="separate")
            report.embedded += prepared.embedded
        report.chunks = len(prepared.chunks)
        report.version = publish(prepared, config_stamp)
        report.published = True
    report.seconds = time.perf_counter() - started
    log.info("ingest: %s", report.summary())
    return report
