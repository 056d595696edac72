"""A small news office website on 127.0.0.1 for the feed tests: an Atom feed, a sitemap, robots.txt and article
pages in the seed articles' style, plus hostile routes (slow, looping, huge, not UTF-8, ...).

It is a real HTTP server (``http.server`` in a thread); every request is logged so tests can count them.
"""

from __future__ import annotations

import hashlib
import html
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from email.utils import formatdate
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from tests.conftest import free_port


@dataclass(frozen=True)
class NewsArticle:
    """An article page as a university news office publishes it (breadcrumb, dateline, byline, source)."""

    slug: str
    title: str
    date: str  # ISO day
    paragraphs: tuple[str, ...]
    author: str = "Lang Lang"
    editor: str = "Liu Xin"
    office: str = "Office of International Cooperation"

    @property
    def path(self) -> str:
        return f"/news/{self.date[:4]}/{self.slug}.html"

    def html(self) -> bytes:
        day = int(self.date[8:10])
        months = ["January", "February", "March", "April", "May", "June", "July", "August", "September",
                  "October", "November", "December"]
        written = f"{day} {months[int(self.date[5:7]) - 1]} {self.date[:4]}"
        body = "\n".join(f"<p>{html.escape(p)}</p>" for p in self.paragraphs)
        title = html.escape(self.title)
        return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<title>{title} - PKUHSC News</title>
<meta name="author" content="{html.escape(self.author)}">
<meta property="article:published_time" content="{self.date}T09:00:00+08:00">
</head><body>
<header><a href="/">PKUHSC</a><nav><ul><li><a href="/about.html">About</a></li>
<li><a href="/news/">News</a></li><li><a href="/contact.html">Contact</a></li></ul></nav></header>
<div class="crumbs">Home» News&amp;Events» News» {title}</div>
<main><article>
<h1>{title}</h1>
<p class="dateline">{written} | News</p>
{body}
<p>Written by: {html.escape(self.author)}</p>
<p>Edited by: {html.escape(self.editor)}</p>
<p>Source: {html.escape(self.office)}</p>
</article></main>
<footer><p>Copyright Peking University Health Science Center</p><a href="#top">TOP</a></footer>
</body></html>
""".encode()


NURSING = NewsArticle(
    "karolinska-nursing-exchange", "PKUHSC and Karolinska Institutet Launch a Joint Nursing Exchange", "2025-04-08",
    ("Peking University Health Science Center (PKUHSC) and Karolinska Institutet signed an agreement on April 8, "
     "2025 to launch a joint nursing exchange programme.",
     "Each year 15 nursing students from each university will spend a semester at the partner school, and the "
     "two schools will co-supervise research on elderly care.",
     "The agreement was signed in Stockholm by Xiao Ying, Dean of the PKUHSC School of Nursing."),
    author="Zhao Min",
)
BIOBANK = NewsArticle(
    "rare-disease-biobank", "Peking University Third Hospital Opens a Rare Disease Biobank", "2025-05-12",
    ("Peking University Third Hospital opened a rare disease biobank on May 12, 2025.",
     "The biobank stores blood and tissue samples from 12,000 patients with rare diseases and shares them with "
     "research teams across China.",
     "It is directed by Professor Qiao Jie and was funded by the National Health Commission."),
    author="Wang Lei",
)

LIBRARY = NewsArticle(
    "medical-library-study-seats", "Peking University Medical Library Adds Study Seats for Examination Weeks",
    "2025-02-20",
    ("The Peking University Medical Library added 260 study seats on its third floor on February 20, 2025.",
     "During the examination weeks the library now stays open until midnight, and students can book the seats "
     "online.",
     "The renovation was paid for by the PKUHSC Education Foundation."),
    author="Sun Hao",
)
HTML_PAGE = b"<!DOCTYPE html><html><head><title>PKUHSC News</title></head><body><h1>News</h1></body></html>"


@dataclass
class Route:
    """A fixed answer; ``etag`` and ``Last-Modified`` are derived from the body so conditional GETs work."""

    body: bytes
    content_type: str = "text/html; charset=utf-8"
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    modified: float = field(default_factory=time.time)
    validators: bool = True

    @property
    def etag(self) -> str:
        return '"' + hashlib.sha256(self.body).hexdigest()[:16] + '"'


Handler = Callable[[BaseHTTPRequestHandler], None]


@dataclass
class Hit:
    path: str
    status: int
    at: float
    headers: dict[str, str]


class FeedSite:
    """The site; ``publish`` adds an article to the page set, the Atom feed and the sitemap."""

    def __init__(self, host: str = "127.0.0.1") -> None:
        self.host = host
        self.port = free_port()
        self.routes: dict[str, Route | Handler] = {}
        self.articles: list[NewsArticle] = []
        self.hits: list[Hit] = []
        self._lock = threading.Lock()
        self.set("/robots.txt", b"User-agent: *\nDisallow: /private/\n", "text/plain")
        self._rebuild_listings()
        site = self

        class _Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                site._serve(self)

        self.server = ThreadingHTTPServer((host, self.port), _Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)

    @property
    def base(self) -> str:
        return f"http://{self.host}:{self.port}"

    def url(self, path: str) -> str:
        return self.base + path

    def start(self) -> FeedSite:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def set(self, path: str, body: bytes | Handler, content_type: str = "text/html; charset=utf-8",
            status: int = 200, **options: Any) -> None:
        with self._lock:
            self.routes[path] = body if callable(body) else Route(body, content_type, status, **options)

    def publish(self, *articles: NewsArticle) -> None:
        for article in articles:
            self.articles.append(article)
            self.set(article.path, article.html())
        self._rebuild_listings()

    def requests_to(self, path: str) -> list[Hit]:
        with self._lock:
            return [h for h in self.hits if h.path == path]

    def atom(self, articles: list[NewsArticle], extra_links: tuple[str, ...] = ()) -> bytes:
        entries = "".join(
            f"""<entry><title>{html.escape(a.title)}</title><link rel="alternate" href="{a.path}"/>
<id>{self.url(a.path)}</id><published>{a.date}T09:00:00+08:00</published>
<updated>{a.date}T09:00:00+08:00</updated><author><name>{html.escape(a.author)}</name></author></entry>
""" for a in reversed(articles))
        entries += "".join(f"""<entry><title>Elsewhere</title><link href="{html.escape(u)}"/><id>{html.escape(u)}</id>
<updated>2025-01-01T00:00:00Z</updated></entry>
""" for u in extra_links)
        return f"""<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom" xml:base="{self.base}/">
<title>PKUHSC News</title><id>{self.url('/feed.xml')}</id><updated>2025-06-01T00:00:00Z</updated>
<link rel="self" href="/feed.xml"/>
{entries}</feed>
""".encode()

    def sitemap(self, paths: list[str]) -> bytes:
        urls = "".join(f"<url><loc>{self.url(p)}</loc><lastmod>{d}</lastmod></url>\n" for p, d in
                       [(a.path, a.date) for a in self.articles if a.path in paths])
        return f"""<?xml version="1.0" encoding="UTF-8"?>
<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">
{urls}</urlset>
""".encode()

    def _rebuild_listings(self) -> None:
        self.set("/feed.xml", self.atom(self.articles), "application/atom+xml")
        self.set("/sitemap.xml", self.sitemap([a.path for a in self.articles]), "application/xml")

    def _serve(self, handler: BaseHTTPRequestHandler) -> None:
        path = handler.path.split("?")[0]
        hit = Hit(path, 0, time.monotonic(), dict(handler.headers.items()))
        with self._lock:
            route = self.routes.get(path)
            self.hits.append(hit)  # logged before answering, so a client never sees an answer before its hit
        try:
            if route is None:
                hit.status = 404
                handler.send_error(404)
            elif callable(route):
                hit.status = 200
                route(handler)
            else:
                self._answer(handler, route, hit)
        except (BrokenPipeError, ConnectionResetError):
            pass

    @staticmethod
    def _answer(handler: BaseHTTPRequestHandler, route: Route, hit: Hit) -> None:
        modified = formatdate(route.modified, usegmt=True)
        tag = handler.headers.get("If-None-Match")  # RFC 9110: when present, If-Modified-Since is ignored
        if route.validators and route.status == 200 and (
                tag == route.etag if tag is not None else handler.headers.get("If-Modified-Since") == modified):
            hit.status = 304
            handler.send_response(304)
            handler.send_header("ETag", route.etag)
            handler.end_headers()
            return
        hit.status = route.status
        handler.send_response(route.status)
        handler.send_header("Content-Type", route.content_type)
        handler.send_header("Content-Length", str(len(route.body)))
        if route.validators:
            handler.send_header("ETag", route.etag)
            handler.send_header("Last-Modified", modified)
        for key, value in route.headers.items():
            handler.send_header(key, value)
        handler.end_headers()
        handler.wfile.write(route.body)


def slow(seconds: float) -> Handler:
    """Answers only after ``seconds``: longer than the test's download time limit."""

    def handle(handler: BaseHTTPRequestHandler) -> None:
        time.sleep(seconds)
        handler.send_response(200)
        handler.send_header("Content-Type", "application/atom+xml")
        handler.end_headers()
        handler.wfile.write(b"<feed/>")

    return handle


def endless(chunk: int = 65_536) -> Handler:
    """A body that never ends (no Content-Length): only a size limit stops the download."""

    def handle(handler: BaseHTTPRequestHandler) -> None:
        handler.send_response(200)
        handler.send_header("Content-Type", "application/atom+xml")
        handler.end_headers()
        handler.wfile.write(b'<?xml version="1.0"?><feed xmlns="http://www.w3.org/2005/Atom">')
        block = b"<!-- " + b"x" * chunk + b" -->"
        for _ in range(10_000):
            handler.wfile.write(block)

    return handle


def redirect(to: str, status: int = 302) -> Handler:
    def handle(handler: BaseHTTPRequestHandler) -> None:
        handler.send_response(status)
        handler.send_header("Location", to)
        handler.send_header("Content-Length", "0")
        handler.end_headers()

    return handle


def loop() -> Handler:
    """Redirects to itself: a redirect loop whatever path it is mounted on."""

    def handle(handler: BaseHTTPRequestHandler) -> None:
        redirect(handler.path)(handler)

    return handle
