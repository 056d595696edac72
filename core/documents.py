"""Typed records passed between stages: sources -> articles -> chunks -> snapshot."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass(frozen=True)
class RawDocument:
    """One article as read from a source, before cleaning; ``key`` identifies its origin."""

    key: str
    source: str
    text: str
    title: str | None = None
    date: str | None = None
    url: str | None = None
    authors: tuple[str, ...] = ()
    doc_id: str | None = None
    fmt: str = "txt"


@dataclass(frozen=True)
class Article:
    """A cleaned article; citation offsets refer to ``text``."""

    id: str
    title: str
    text: str
    source: str
    content_hash: str
    date: str | None = None
    url: str | None = None
    byline: str | None = None
    editor: str | None = None
    source_office: str | None = None
    source_key: str = ""
    metadata_spans: dict[str, tuple[int, int]] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["metadata_spans"] = {k: list(v) for k, v in self.metadata_spans.items()}
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Article:
        spans = {k: (int(v[0]), int(v[1])) for k, v in (data.get("metadata_spans") or {}).items()}
        return cls(**{**data, "metadata_spans": spans})


@dataclass(frozen=True)
class Chunk:
    """A run of whole sentences of one article, ``text == article.text[start:end]``."""

    id: str
    article_id: str
    index: int
    start: int
    end: int
    text: str

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Chunk:
        return cls(**data)
