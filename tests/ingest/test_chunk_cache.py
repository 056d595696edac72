"""The chunk cache: a rebuild reuses unchanged articles' chunks and tokens exactly, and re-splits changed ones."""

from __future__ import annotations

import shutil
from pathlib import Path

from index.snapshot import load_latest
from ingest.chunk_cache import ArticlePieces, ChunkCache, CleanCache
from ingest.chunking import ChunkingConfig, chunk_article
from ingest.pipeline import CHUNK_CACHE, IngestReport, build_snapshot, clean_documents, prepare
from ingest.sources import scan_folder
from tests.conftest import SeedIndex, make_settings


def test_cached_pieces_equal_a_fresh_split(tmp_path: Path, seed_index: SeedIndex) -> None:
    data = tmp_path / "data"
    shutil.copytree(seed_index.data_dir, data)
    articles = sorted(seed_index.snapshot.articles.values(), key=lambda a: a.id)
    settings = make_settings(seed_index.articles_dir, data)
    cold = prepare(articles, settings, data / "embeddings.sqlite")
    assert (data / CHUNK_CACHE).is_file()
    warm = prepare(articles, settings, data / "embeddings.sqlite")
    assert [c.to_dict() for c in warm.chunks] == [c.to_dict() for c in cold.chunks]
    assert warm.lexical_tokens == cold.lexical_tokens
    assert warm.embedded == 0 and (warm.vectors == cold.vectors).all()


def test_key_changes_with_article_content_and_settings(tmp_path: Path, seed_index: SeedIndex) -> None:
    article = next(iter(seed_index.snapshot.articles.values()))
    cache = ChunkCache(tmp_path / CHUNK_CACHE, "a")
    changed = type(article)(**{**article.__dict__, "text": article.text + " One more sentence."})
    assert cache.key(article) != cache.key(changed)
    assert cache.key(article) != ChunkCache(tmp_path / CHUNK_CACHE, "b").key(article)
    pieces = ArticlePieces([(c.start, c.end) for c in chunk_article(article, ChunkingConfig())], [["x", "y"], []])
    cache.put_many([(cache.key(article), pieces)])
    assert cache.get_many([cache.key(article), cache.key(changed)]) == {cache.key(article): pieces}


def test_edited_article_is_resplit_and_searchable(tmp_path: Path, seed_index: SeedIndex) -> None:
    articles, data = tmp_path / "articles", tmp_path / "data"
    shutil.copytree(seed_index.articles_dir, articles)
    shutil.copytree(seed_index.data_dir, data)
    path = articles / "polyu-pkuhsc-medical-technology-mou.txt"
    path.write_text(path.read_text() + "\n\nThe partners also opened a zebrafish laboratory in Kowloon.\n")
    report = build_snapshot(articles, data, make_settings(articles, data))
    assert report.updated == ["polyu-pkuhsc-medical-technology-mou"] and report.embedded >= 1
    snapshot = load_latest(data)[0]
    article = snapshot.articles["polyu-pkuhsc-medical-technology-mou"]
    expected = chunk_article(article, ChunkingConfig())
    got = [c for c in snapshot.chunks if c.article_id == article.id]
    assert [(c.start, c.end) for c in got] == [(c.start, c.end) for c in expected]
    assert any("zebrafish" in c.text for c in got)


def test_clean_cache_gives_back_the_cleaned_articles(tmp_path: Path, seed_index: SeedIndex) -> None:
    raws = scan_folder(seed_index.articles_dir).documents
    cache = CleanCache(tmp_path / CHUNK_CACHE)
    first = clean_documents(raws, IngestReport(None, False), cache=cache)
    cache.close()
    cache = CleanCache(tmp_path / CHUNK_CACHE)
    assert all(cache.get(CleanCache.key(r, a.id)) == a for r, a in zip(
        sorted(raws, key=lambda r: r.key), sorted(first, key=lambda a: a.source_key), strict=True))
    second = clean_documents(raws, IngestReport(None, False), cache=cache)
    cache.close()
    assert second == first
