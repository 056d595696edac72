"""Readers that turn files in the articles folder into ``RawDocument`` records, one class per format."""

from __future__ import annotations

import json
import re
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from pathlib import Path
from typing import ClassVar

from core.documents import RawDocument
from core.errors import InvalidArticleError, UnsupportedFileError


def decode_text(data: bytes, name: str) -> str:
    """UTF-8 text or a clear error: binary and non-UTF-8 files are refused, not guessed at."""
    if b"\x00" in data[:8192]:
        raise InvalidArticleError(f"{name}: looks like a binary file, not text")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InvalidArticleError(
            f"{name}: not valid UTF-8 (byte {exc.start}); save the file as UTF-8 and try again"
        ) from exc
    if not text.strip():
        raise InvalidArticleError(f"{name}: the file is empty")
    return text


class SourceReader(ABC):
    """Reads one file format; a file may hold one or many articles."""

    extensions: ClassVar[tuple[str, ...]]

    @abstractmethod
    def read(self, name: str, data: bytes) -> list[RawDocument]: ...


class TextReader(SourceReader):
    extensions = (".txt",)

    def read(self, name: str, data: bytes) -> list[RawDocument]:
        return [RawDocument(key=name, source=name, text=decode_text(data, name), fmt="txt")]


_FRONT_MATTER = re.compile(r"\A---\s*\n(.*?)\n---\s*\n", re.S)
_MD_IMAGE = re.compile(r"!\[[^\]]*\]\([^)]*\)")
_MD_LINK = re.compile(r"\[([^\]]+)\]\([^)]*\)")
_MD_EMPHASIS = re.compile(r"(\*\*|__|\*|`)(?=\S)(.+?)(?<=\S)\1")
_MD_HEADING = re.compile(r"^\s{0,3}#{1,6}\s+", re.M)


class MarkdownReader(SourceReader):
    """Markdown with optional ``key: value`` front matter (title, date, url, author)."""

    extensions = (".md", ".markdown")

    def read(self, name: str, data: bytes) -> list[RawDocument]:
        text = decode_text(data, name)
        meta: dict[str, str] = {}
        match = _FRONT_MATTER.match(text)
        if match:
            for line in match.group(1).splitlines():
                key, sep, value = line.partition(":")
                if sep:
                    meta[key.strip().lower()] = value.strip().strip("\"'")
            text = text[match.end():]
        title = meta.get("title")
        if title is None:
            heading = re.search(r"^\s{0,3}#\s+(.+)$", text, re.M)
            title = heading.group(1).strip() if heading else None
        text = _MD_IMAGE.sub("", text)
        text = _MD_LINK.sub(r"\1", text)
        text = _MD_EMPHASIS.sub(r"\2", text)
        text = _MD_HEADING.sub("", text)
        authors = tuple(a.strip() for a in meta.get("author", "").split(",") if a.strip())
        return [
            RawDocument(
                key=name, source=name, text=text, title=title, date=meta.get("date"),
                url=meta.get("url"), authors=authors, fmt="md",
            )
        ]


class HtmlReader(SourceReader):
    """Main text and metadata of a web page, extracted by trafilatura."""

    extensions = (".html", ".htm")

    def read(self, name: str, data: bytes) -> list[RawDocument]:
        import trafilatura

        html = decode_text(data, name)
        doc = trafilatura.bare_extraction(
            html, include_comments=False, include_tables=True, favor_precision=True, with_metadata=True
        )
        body = getattr(doc, "text", None) if doc is not None else None
        if not body or not body.strip():
            raise InvalidArticleError(f"{name}: no article text found in the HTML")
        author = getattr(doc, "author", None)
        authors = tuple(a.strip() for a in re.split(r";|,| and ", author) if a.strip()) if author else ()
        return [
            RawDocument(
                key=name, source=getattr(doc, "url", None) or name, text=body,
                title=getattr(doc, "title", None), date=getattr(doc, "date", None),
                url=getattr(doc, "url", None), authors=authors, fmt="html",
            )
        ]


def _record_to_raw(name: str, record: object, where: str, key: str) -> RawDocument:
    if not isinstance(record, dict):
        raise InvalidArticleError(f"{where}: expected a JSON object")
    text = record.get("text")
    if not isinstance(text, str) or not text.strip():
        raise InvalidArticleError(f"{where}: missing a non-empty \"text\" string")
    authors = record.get("authors") or []
    if isinstance(authors, str):
        authors = [authors]
    url = record.get("url") if isinstance(record.get("url"), str) else None
    date = record.get("date")
    title = record.get("title")
    doc_id = record.get("id")
    return RawDocument(
        key=key, source=url or name, text=text,
        title=title if isinstance(title, str) and title.strip() else None,
        date=str(date) if date else None, url=url,
        authors=tuple(str(a) for a in authors if str(a).strip()),
        doc_id=str(doc_id) if doc_id is not None else None, fmt="json",
    )


class JsonReader(SourceReader):
    """One article object: ``{title, text, date?, url?, authors?}`` (what ``POST /articles`` saves)."""

    extensions = (".json",)

    def read(self, name: str, data: bytes) -> list[RawDocument]:
        try:
            record = json.loads(decode_text(data, name))
        except json.JSONDecodeError as exc:
            raise InvalidArticleError(f"{name}: invalid JSON ({exc.msg} at line {exc.lineno})") from exc
        return [_record_to_raw(name, record, name, name)]


class JsonLinesReader(SourceReader):
    """Many articles, one JSON object a line, as in ``shared/datasets/*/documents.jsonl``."""

    extensions = (".jsonl",)

    def read(self, name: str, data: bytes) -> list[RawDocument]:
        docs: list[RawDocument] = []
        for lineno, line in enumerate(decode_text(data, name).splitlines(), start=1):
            if not line.strip():
                continue
            where = f"{name} line {lineno}"
            try:
                record = json.loads(line)
            except json.JSONDecodeError as exc:
                raise InvalidArticleError(f"{where}: invalid JSON ({exc.msg})") from exc
            doc_id = record.get("id") if isinstance(record, dict) else None
            docs.append(_record_to_raw(name, record, where, f"{name}#{doc_id if doc_id is not None else lineno}"))
        return docs


READERS: tuple[SourceReader, ...] = (TextReader(), MarkdownReader(), HtmlReader(), JsonReader(), JsonLinesReader())
SUPPORTED_EXTENSIONS: tuple[str, ...] = tuple(ext for r in READERS for ext in r.extensions)


def reader_for(name: str) -> SourceReader:
    """The reader registered for a file name's extension."""
    suffix = Path(name).suffix.lower()
    for reader in READERS:
        if suffix in reader.extensions:
            return reader
    raise UnsupportedFileError(
        f"{name}: unsupported file type {suffix or '(none)'}; supported: {', '.join(SUPPORTED_EXTENSIONS)}"
    )


def read_bytes(name: str, data: bytes) -> list[RawDocument]:
    return reader_for(name).read(name, data)


@dataclass
class FolderScan:
    """What was read from a folder, and which files were skipped and why."""

    documents: list[RawDocument] = field(default_factory=list)
    skipped: dict[str, str] = field(default_factory=dict)
    files: int = 0


def scan_folder(folder: Path) -> FolderScan:
    """Read every supported file under ``folder`` (recursively, hidden files ignored, sorted for stable ids)."""
    scan = FolderScan()
    if not folder.is_dir():
        raise InvalidArticleError(f"{folder}: not a folder")
    for path in sorted(folder.rglob("*")):
        rel = path.relative_to(folder).as_posix()
        if any(part.startswith(".") for part in path.relative_to(folder).parts) or not path.is_file():
            continue
        if path.suffix.lower() not in SUPPORTED_EXTENSIONS:
            scan.skipped[rel] = f"unsupported file type {path.suffix or '(none)'}"
            continue
        scan.files += 1
        try:
            scan.documents.extend(read_bytes(rel, path.read_bytes()))
        except (InvalidArticleError, OSError) as exc:
            scan.skipped[rel] = str(exc).removeprefix(f"{rel}: ")
    return scan
