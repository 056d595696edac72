"""Turns a raw document into a clean ``Article``: boilerplate removed, metadata extracted, offsets fixed."""

from __future__ import annotations

import hashlib
import re
import unicodedata
from dataclasses import dataclass, field

from core.documents import Article, RawDocument
from core.errors import InvalidArticleError
from core.text import FULL_DATE, parse_date

_BREADCRUMB_SEP = re.compile(r"\s*(?:»|›|>>|/|>|\|)\s*")
_BREADCRUMB = re.compile(r"^\s*(?:home|homepage|首页|首頁|主页|主頁)\s*(?:»|›|>>|>)", re.I)
_TRAILING_JUNK = {"top", "back to top", "share", "print", "email", "tweet", "read more", "more", "related"}
_NAME = r"[A-Z][\w.'’-]+(?:\s+[A-Z][\w.'’-]+){0,3}"
_FIELD_LINES: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("byline", re.compile(r"^(?:written by|words by|by|author|authors|reporter|text|撰稿|撰文|作者|记者|記者|文)"
                          r"\s*[:：]\s*(?P<v>.+)$", re.I)),
    ("byline", re.compile(rf"^by\s+(?P<v>{_NAME}(?:\s+and\s+{_NAME})?)$")),
    ("editor", re.compile(r"^(?:edited by|editor|editors|编辑|編輯|责任编辑|責任編輯)\s*[:：]\s*(?P<v>.+)$", re.I)),
    ("source_office", re.compile(r"^(?:source|from|来源|來源)\s*[:：]\s*(?P<v>.+)$", re.I)),
    ("url", re.compile(r"^(?:url|link|original(?: article)?|read online)\s*[:：]\s*(?P<v>https?://\S+)$", re.I)),
)
_DATELINE = re.compile(rf"^(?P<v>{FULL_DATE.pattern})\s*(?:[|·•–—-]\s*[\w &]{{0,40}})?$", re.I)
_TERMINAL = tuple(".!?:;\"'”’)。！？；：」』）")
_JOIN_MIN_CHARS = 40  # a lower-case line continues the previous one only if that one is longer than this
_TITLE_LINE_MAX_CHARS = 200  # a first line up to this long, without a full stop, can serve as the title
_TITLE_FALLBACK_CHARS = 120  # with no title anywhere, this many characters of the first line are used


def content_hash(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def slugify(value: str, max_len: int = 80) -> str:
    """A URL-safe id from a file name or title."""
    value = unicodedata.normalize("NFKD", value).encode("ascii", "ignore").decode("ascii")
    value = re.sub(r"[^A-Za-z0-9]+", "-", value).strip("-").lower()
    return value[:max_len].strip("-") or "article"


def _normalise_whitespace(text: str) -> str:
    text = unicodedata.normalize("NFC", text.replace("\r\n", "\n").replace("\r", "\n"))
    text = text.replace("\u00a0", " ").replace("\u200b", "").replace("\t", " ")
    return "\n".join(re.sub(r" {2,}", " ", line).strip() for line in text.split("\n"))


def _same(a: str, b: str) -> bool:
    def norm(s: str) -> str:
        return re.sub(r"\W+", " ", s).strip().lower()

    return bool(a) and norm(a) == norm(b)


@dataclass
class _Builder:
    """Accumulates paragraphs while remembering where metadata values land in the final text."""

    paragraphs: list[str] = field(default_factory=list)
    marks: list[tuple[str, int, str]] = field(default_factory=list)

    def add(self, paragraph: str, meta: tuple[str, str] | None = None) -> None:
        if meta:
            self.marks.append((meta[0], len(self.paragraphs), meta[1]))
        self.paragraphs.append(paragraph)

    def build(self) -> tuple[str, dict[str, tuple[int, int]]]:
        offsets, pos = [], 0
        for para in self.paragraphs:
            offsets.append(pos)
            pos += len(para) + 2
        spans: dict[str, tuple[int, int]] = {}
        for name, index, value in self.marks:
            at = self.paragraphs[index].find(value)
            if at >= 0 and name not in spans:
                spans[name] = (offsets[index] + at, offsets[index] + at + len(value))
        return "\n\n".join(self.paragraphs), spans


def _paragraphs(text: str) -> list[str]:
    """Blank-line separated paragraphs, with paragraphs broken mid-sentence joined back together."""
    blocks = [b.strip() for b in re.split(r"\n\s*\n", text)]
    lines: list[str] = []
    for block in blocks:
        if not block:
            continue
        lines.extend(line for line in block.split("\n") if line.strip())
    merged: list[str] = []
    for line in lines:
        if merged and not merged[-1].endswith(_TERMINAL) and line[:1].islower() and len(merged[-1]) > _JOIN_MIN_CHARS:
            merged[-1] = f"{merged[-1]} {line}"
        else:
            merged.append(line)
    return merged


def _strip_site_suffix(title: str, source: str) -> str:
    """ "Squid Game returns - CNN" -> "Squid Game returns" when the suffix names the source's site."""
    match = re.search(r"\s+[-|–—]\s+([\w .]{2,30})$", title)
    if match:
        site = re.sub(r"\W", "", match.group(1).lower())
        if site and site in re.sub(r"\W", "", source.lower()):
            return title[: match.start()].strip()
    return title


def _strip_frame(lines: list[str]) -> tuple[list[str], str | None]:
    """Drops a leading breadcrumb trail and trailing page chrome; returns the crumb's last part as a title hint."""
    crumb_title: str | None = None
    if lines and _BREADCRUMB.match(lines[0]):
        parts = [p for p in _BREADCRUMB_SEP.split(lines[0]) if p.strip()]
        crumb_title = parts[-1].strip() if len(parts) > 1 else None
        lines = lines[1:]
    while lines and lines[-1].strip().lower().strip(".:") in _TRAILING_JUNK:
        lines.pop()
    return lines, crumb_title


def _choose_title(raw: RawDocument, lines: list[str], crumb_title: str | None) -> str | None:
    """The document's own title, else a short unpunctuated first line, the breadcrumb, or the first words."""
    title = _strip_site_suffix((raw.title or "").strip(), raw.url or raw.source) or None
    if title is None and lines and len(lines[0]) <= _TITLE_LINE_MAX_CHARS and not lines[0].endswith((".", "?", "!")):
        title = lines[0]
    if title is None:
        title = crumb_title
    if title is None and lines:
        title = lines[0][:_TITLE_FALLBACK_CHARS]
    return title


def _field_line(line: str, fields: dict[str, str]) -> tuple[str, str] | None:
    """The (name, value) of a byline, editor, source or URL line not seen before, else None."""
    for name, pattern in _FIELD_LINES:
        match = pattern.match(line)
        if match and name not in fields:
            return name, match.group("v").strip().rstrip(".")
    return None


def clean(raw: RawDocument, article_id: str) -> Article:
    """Clean one raw document; raises ``InvalidArticleError`` when no body text remains."""
    lines, crumb_title = _strip_frame(_paragraphs(_normalise_whitespace(raw.text)))
    title = _choose_title(raw, lines, crumb_title)

    fields: dict[str, str] = {}
    builder = _Builder()
    title_kept = False
    dateline: str | None = None
    if raw.title and title and not any(_same(line, title) for line in lines[:3]):
        builder.add(title)
        title_kept = True
    for line in lines:
        if title and _same(line, title) or (crumb_title and _same(line, crumb_title) and title_kept):
            if not title_kept:
                builder.add(line)
                title_kept = True
            continue
        dl = _DATELINE.match(line)
        if dl and dateline is None:
            dateline = dl.group("v")
            builder.add(dateline, ("date", dateline))
            continue
        found = _field_line(line, fields)
        if found:
            fields[found[0]] = found[1]
            builder.add(line, found)
        else:
            builder.add(line)

    text, spans = builder.build()
    body_chars = sum(len(p) for p in builder.paragraphs)
    if body_chars == 0 or not re.search(r"\w", text):
        raise InvalidArticleError(f"{raw.key}: no article text left after cleaning")

    published = parse_date(raw.date) or parse_date(dateline)
    if published is None:
        first = FULL_DATE.search(text)
        published = parse_date(first.group(0)) if first else None
        if first and published:
            spans.setdefault("date", (first.start(), first.end()))
    byline = fields.get("byline") or (", ".join(raw.authors) if raw.authors else None)
    return Article(
        id=article_id,
        title=title or article_id,
        text=text,
        source=raw.url or raw.source if raw.fmt == "html" else raw.source,
        content_hash=content_hash(f"{title}\n{published}\n{text}"),
        date=published.isoformat() if published else None,
        url=raw.url or fields.get("url"),
        byline=byline,
        editor=fields.get("editor"),
        source_office=fields.get("source_office"),
        source_key=raw.key,
        metadata_spans=spans,
    )
