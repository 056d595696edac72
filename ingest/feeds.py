"""What a feed or a sitemap lists (one small reader class per format), and an article page as a ``RawDocument``."""

from __future__ import annotations

import io
import re
from abc import ABC, abstractmethod
from dataclasses import asdict, dataclass, field
from itertools import islice
from typing import Any, ClassVar
from urllib.parse import urlsplit

import feedparser
from htmldate import find_date
from lxml import etree
from trafilatura import bare_extraction
from trafilatura.feeds import is_potential_feed
from trafilatura.sitemaps import DETECT_SITEMAP_LINK, SitemapObject, is_plausible_sitemap
from trafilatura.utils import load_html

from core.documents import RawDocument
from core.errors import InvalidArticleError, NotAFeedError
from ingest.cleaning import slugify
from ingest.fetch import Download, normalise_url

FEED = "feed"
SITEMAP = "sitemap"
MAX_LISTED = 10_000  # links read from one feed or sitemap document (trafilatura's own cap is similar)
HTML_TYPES = {"text/html", "application/xhtml+xml", ""}
_HTML_START = re.compile(r"^\s*(?:<!--.*?-->\s*)*<(?:!doctype\s+html|html)\b", re.I | re.S)


@dataclass(frozen=True)
class Link:
    """An article a feed or sitemap lists, with what the listing says about it.

    ``stamp`` is the listing's own change marker (Atom ``updated``, RSS ``pubDate``, sitemap ``lastmod``): while
    it stays the same, an article already downloaded is not requested again.
    """

    url: str
    title: str | None = None
    date: str | None = None
    authors: tuple[str, ...] = ()
    stamp: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Link:
        return cls(**{**data, "authors": tuple(data.get("authors") or ())})


@dataclass
class Listing:
    """The articles one feed or sitemap document lists, plus further sitemaps (from a sitemap index)."""

    links: list[Link] = field(default_factory=list)
    sitemaps: list[str] = field(default_factory=list)


def looks_like_html(download: Download, text: str) -> bool:
    return download.media_type in {"text/html", "application/xhtml+xml"} or bool(_HTML_START.match(text[:2048]))


class ListingReader(ABC):
    """Reads one listing format."""

    kind: ClassVar[str]
    accept: ClassVar[str]

    @abstractmethod
    def read(self, download: Download) -> Listing: ...


class FeedReader(ListingReader):
    """RSS and Atom feeds, parsed by feedparser (relative links resolved against the feed's URL)."""

    kind = FEED
    accept = "application/atom+xml, application/rss+xml, application/xml;q=0.9, text/xml;q=0.9, */*;q=0.1"

    def read(self, download: Download) -> Listing:
        text = download.text()
        if looks_like_html(download, text) and not is_potential_feed(text.lstrip()):
            raise NotAFeedError(f"{download.url}: an HTML page, not an RSS or Atom feed")
        headers = {"content-location": download.url, "content-type": download.media_type or "application/xml"}
        # A stream, never bytes or a string: feedparser would treat those as a file name or URL to open.
        parsed = feedparser.parse(io.BytesIO(text.encode("utf-8")), response_headers=headers)
        if not parsed.get("version"):
            problem = parsed.get("bozo_exception")
            raise NotAFeedError(f"{download.url}: not an RSS or Atom feed"
                                + (f" (not well-formed XML: {problem})" if parsed.get("bozo") and problem else ""))
        if parsed.get("bozo") and not any(entry.get("link") or entry.get("id") for entry in parsed.entries):
            raise NotAFeedError(f"{download.url}: not well-formed XML ({parsed.get('bozo_exception')}) "
                                "and no article links could be recovered")
        listing = Listing()
        for entry in islice(parsed.entries, MAX_LISTED):
            href = entry.get("link") or ""
            if not href and str(entry.get("id", "")).startswith(("http://", "https://")):
                href = entry["id"]
            if not href:
                continue
            authors = tuple(a["name"] for a in entry.get("authors", []) if isinstance(a, dict) and a.get("name"))
            listing.links.append(Link(
                url=normalise_url(href, download.url), title=entry.get("title") or None,
                date=entry.get("published") or entry.get("updated") or None, authors=authors,
                stamp=entry.get("updated") or entry.get("published") or None,
            ))
        return listing


class SitemapReader(ListingReader):
    """XML and plain-text sitemaps and sitemap indexes, read with trafilatura's sitemap helpers."""

    kind = SITEMAP
    accept = "application/xml, text/xml;q=0.9, text/plain;q=0.5, */*;q=0.1"

    def read(self, download: Download) -> Listing:
        text = download.text()
        if looks_like_html(download, text):
            raise NotAFeedError(f"{download.url}: an HTML page, not a sitemap")
        if not is_plausible_sitemap(download.url, text):
            raise NotAFeedError(f"{download.url}: not a sitemap (neither sitemap XML nor a list of URLs)")
        sitemap = _Sitemap(download.url, text)
        sitemap.process()
        listing = Listing(sitemaps=list(dict.fromkeys(sitemap.sitemap_urls)))
        for url in dict.fromkeys(sitemap.urls):
            stamp = sitemap.lastmod.get(url)
            listing.links.append(Link(url=url, date=stamp, stamp=stamp))
        # Newest first, so the per-poll limit takes the latest articles; undated ones keep their order after.
        listing.links.sort(key=lambda link: link.stamp or "", reverse=True)
        return listing


class _Sitemap(SitemapObject):
    """trafilatura's ``SitemapObject`` over content already downloaded, keeping each page's ``<lastmod>``.

    Links are not filtered by domain here: the collector reports each off-site link instead of dropping it.
    """

    __slots__ = ("is_index", "lastmod")

    def __init__(self, url: str, content: str) -> None:
        super().__init__(base_url=url, domain=site_key(url), sitemapsurls=[], external=True)
        self.current_url = url
        self.content = content
        self.lastmod: dict[str, str] = {}
        self.is_index = False

    def handle_link(self, link: str) -> None:
        link = normalise_url(link, self.base_url)
        if link == self.current_url or not link.startswith(("http://", "https://")):
            return
        if self.is_index or DETECT_SITEMAP_LINK.search(link):
            self.sitemap_urls.append(link)
        else:
            self.urls.append(link)

    def extract_sitemap_links(self) -> None:
        """Overrides trafilatura's parser (called by ``process``) to read XML without entities or network."""
        parser = etree.XMLParser(encoding="utf-8", resolve_entities=False, no_network=True, recover=True)
        try:
            tree = etree.fromstring(self.content.encode("utf-8"), parser)
        except etree.XMLSyntaxError:
            return
        if tree is None:
            return
        self.is_index = etree.QName(tree).localname == "sitemapindex"
        for entry in islice(tree.iter(), MAX_LISTED * 4):
            if not isinstance(entry.tag, str) or etree.QName(entry).localname not in {"url", "sitemap"}:
                continue
            loc = _child_text(entry, "loc")
            if not loc or not loc.startswith("http"):
                continue
            self.handle_link(loc)
            lastmod = _child_text(entry, "lastmod")
            if lastmod:
                self.lastmod[normalise_url(loc, self.base_url)] = lastmod


def _child_text(entry: Any, name: str) -> str | None:
    for child in entry:
        if isinstance(child.tag, str) and child.tag.rsplit("}", 1)[-1] == name and len(child) == 0:
            return (child.text or "").strip() or None
    return None


def site_key(url: str) -> str:
    return (urlsplit(url).hostname or "").lower()


READERS: dict[str, ListingReader] = {FEED: FeedReader(), SITEMAP: SitemapReader()}


def reader_for(kind: str) -> ListingReader:
    try:
        return READERS[kind]
    except KeyError:
        raise ValueError(f"unknown listing kind {kind!r}; expected one of {', '.join(READERS)}") from None


def doc_id_for(url: str) -> str:
    """A readable article id from a URL's path: ``/news/2025/robotics-lab.html`` -> ``news-2025-robotics-lab``."""
    parts = urlsplit(url)
    path = re.sub(r"\.(?:s?html?|php|aspx?|jsp)$", "", parts.path.strip("/"), flags=re.I)
    return slugify(" ".join(p for p in (path, parts.query) if p) or parts.hostname or "article")


def extract_page(download: Download, link: Link) -> RawDocument:
    """Main text and metadata of an article page: trafilatura for text, title and byline, htmldate for the date."""
    if download.media_type not in HTML_TYPES:
        raise InvalidArticleError(f"{download.url}: not an HTML page ({download.media_type})")
    # Parsed once here: handed a string that looks like a URL, htmldate would download it itself.
    tree = load_html(download.text())
    if tree is None:
        raise InvalidArticleError(f"{download.url}: not an HTML page")
    published = find_date(tree, url=download.url, original_date=True, extensive_search=False)
    doc = bare_extraction(tree, url=download.url, include_comments=False, include_tables=True,
                          favor_precision=True, with_metadata=True)
    body = getattr(doc, "text", None) if doc is not None else None
    if not body or not body.strip():
        raise InvalidArticleError(f"{download.url}: no article text found in the page")
    author = getattr(doc, "author", None)
    authors = tuple(a.strip() for a in re.split(r";|,| and ", author) if a.strip()) if author else link.authors
    return RawDocument(
        key=link.url, source=download.url, text=body, title=getattr(doc, "title", None) or link.title,
        date=published or link.date, url=download.url, authors=authors, doc_id=doc_id_for(link.url), fmt="feed",
    )
