"""Adding and removing articles in the articles folder (the source of truth a rebuild reads)."""

from __future__ import annotations

import json
import os
from pathlib import Path

from core.documents import Article
from core.errors import ArticleExistsError, InvalidArticleError, PayloadTooLargeError
from index.fsutil import fsync_dir
from ingest.cleaning import clean, slugify
from ingest.pipeline import add_tombstone, article_id_for
from ingest.sources import SUPPORTED_EXTENSIONS, read_bytes, reader_for


def safe_filename(name: str) -> str:
    """A plain file name inside the articles folder: no directories, no dot files, a known extension."""
    base = Path(name.replace("\\", "/")).name
    stem, suffix = Path(base).stem, Path(base).suffix.lower()
    reader_for(base)
    clean_stem = slugify(stem)
    if not clean_stem:
        raise InvalidArticleError(f"{name!r} is not a usable file name")
    return f"{clean_stem}{suffix}"


def check_article(name: str, data: bytes, max_bytes: int) -> list[Article]:
    """Parse and clean an upload exactly as a rebuild would, so a bad file is refused before it is saved."""
    if len(data) > max_bytes:
        raise PayloadTooLargeError(f"{name}: {len(data)} bytes; uploads are limited to {max_bytes} bytes")
    raws = read_bytes(name, data)
    if not raws:
        raise InvalidArticleError(f"{name}: no articles in the file")
    return [clean(raw, article_id_for(raw)) for raw in raws]


def save(articles_dir: Path, name: str, data: bytes, max_bytes: int) -> list[Article]:
    """Validate, then write atomically; an existing file of the same name is never overwritten."""
    filename = safe_filename(name)
    articles = check_article(filename, data, max_bytes)
    target = articles_dir / filename
    if target.resolve().parent != articles_dir.resolve():
        raise InvalidArticleError(f"{name!r} would be saved outside the articles folder")
    articles_dir.mkdir(parents=True, exist_ok=True)
    tmp = articles_dir / f".{filename}.{os.getpid()}.upload"
    with open(tmp, "wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())
    try:
        os.link(tmp, target)
    except FileExistsError:
        raise ArticleExistsError(
            f"{filename} already exists in the articles folder; delete that article first or choose another name"
        ) from None
    finally:
        tmp.unlink(missing_ok=True)
    fsync_dir(articles_dir)
    return articles


def json_article_bytes(title: str, text: str, date: str | None, url: str | None, authors: list[str]) -> bytes:
    record = {"title": title, "text": text, "date": date, "url": url, "authors": authors}
    return json.dumps({k: v for k, v in record.items() if v}, ensure_ascii=False, indent=2).encode()


def remove(articles_dir: Path, data_dir: Path, article: Article) -> str:
    """Delete a single-article file, or hide one record of a multi-article file or one page fetched from a feed
    (its key is a URL, never a path); returns what was done."""
    key = article.source_key
    if "#" not in key and "://" not in key:
        path = (articles_dir / key).resolve()
        inside = path.parent == articles_dir.resolve() or articles_dir.resolve() in path.parents
        if inside and path.is_file() and path.suffix.lower() in SUPPORTED_EXTENSIONS:
            path.unlink()
            fsync_dir(path.parent)
            return f"deleted file {key}"
    add_tombstone(data_dir, key)
    return f"excluded {key} from future builds"
