"""Bounded, polite HTTP downloads for feeds, sitemaps and article pages.

Every download goes to a public address only (unless allowed), follows at most a few redirects that stay on the
site, honours robots.txt and a per-host pace, and stops at a size and time limit; each failure is a specific
``FeedError`` so the caller can report it and carry on.
"""

from __future__ import annotations

import codecs
import ipaddress
import re
import socket
import threading
import time
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any
from urllib.parse import urldefrag, urljoin, urlsplit, urlunsplit
from urllib.robotparser import RobotFileParser

import httpx

from core.config import Settings
from core.errors import (
    FeedError,
    FetchFailedError,
    FetchRefusedError,
    FetchTimeoutError,
    PrivateAddressError,
    RedirectLoopError,
    ResponseEncodingError,
    ResponseTooLargeError,
    RobotsDisallowedError,
)

ROBOTS_TTL_SECONDS = 3600.0  # robots.txt is read again after an hour
MAX_CRAWL_DELAY_SECONDS = 30.0  # a robots.txt Crawl-delay above this is capped (a poll must end)
MAX_ROBOTS_BYTES = 512_000  # Google's limit for robots.txt; the rest is ignored
READ_CHUNK_BYTES = 65_536
REDIRECTS = {301, 302, 303, 307, 308}
_CLIENT_ERRORS = range(HTTPStatus.BAD_REQUEST, HTTPStatus.INTERNAL_SERVER_ERROR)
_XML_ENCODING = re.compile(rb"""<\?xml[^>]*encoding\s*=\s*["']([A-Za-z0-9._-]+)["']""")
_META_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?([A-Za-z0-9._-]+)""", re.I)


@dataclass(frozen=True)
class FetchPolicy:
    """The limits every download obeys (from the ``ARTICLE_QA_FEED_*`` settings)."""

    allow_private: bool = False
    timeout_seconds: float = 20.0
    max_bytes: int = 5_000_000
    max_redirects: int = 5
    host_interval_seconds: float = 1.0
    user_agent: str = "article-qa/0.1 (+feed reader)"

    @classmethod
    def from_settings(cls, settings: Settings) -> FetchPolicy:
        return cls(settings.feed.allow_private, settings.feed.timeout_seconds, settings.feed.max_bytes,
                   settings.feed.max_redirects, settings.feed.host_interval_seconds, settings.feed.user_agent)


@dataclass(frozen=True)
class Validators:
    """What a previous download said about itself, sent back so an unchanged resource costs a 304."""

    etag: str | None = None
    last_modified: str | None = None

    def headers(self) -> dict[str, str]:
        headers = {}
        if self.etag:
            headers["If-None-Match"] = self.etag
        if self.last_modified:
            headers["If-Modified-Since"] = self.last_modified
        return headers


@dataclass(frozen=True)
class Download:
    """One finished download: ``url`` is where it ended after redirects; a 304 has an empty body."""

    url: str
    status: int
    body: bytes
    media_type: str
    charset: str | None
    validators: Validators

    @property
    def not_modified(self) -> bool:
        return self.status == HTTPStatus.NOT_MODIFIED

    def text(self) -> str:
        return decode_body(self.body, self.charset, self.url)


def decode_body(body: bytes, charset: str | None, url: str) -> str:
    """Text in the declared charset (HTTP header, XML declaration or HTML meta; UTF-8 when none), or an error."""
    declared = charset or _sniff_charset(body)
    encoding = (declared or "utf-8").lower()
    try:
        codecs.lookup(encoding)
    except LookupError:
        raise ResponseEncodingError(f"{url}: unknown character set {declared!r}") from None
    if encoding in {"utf-8", "utf8"}:
        encoding = "utf-8-sig"
    try:
        return body.decode(encoding)
    except UnicodeDecodeError as exc:
        what = "UTF-8" if encoding == "utf-8-sig" else encoding
        raise ResponseEncodingError(
            f"{url}: not valid {what} (byte {exc.start})" + ("" if declared else "; no other character set declared")
        ) from exc


def _sniff_charset(body: bytes) -> str | None:
    head = body[:2048]
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        return "utf-16"
    match = _XML_ENCODING.search(head) or _META_CHARSET.search(head)
    return match.group(1).decode("ascii") if match else None


def site_of(url: str) -> str:
    """The site a URL belongs to: its host name, without a leading ``www.`` (ports and schemes do not matter)."""
    host = (urlsplit(url).hostname or "").lower().rstrip(".")
    return host.removeprefix("www.")


def normalise_url(url: str, base: str | None = None) -> str:
    """An absolute URL without its fragment (a fragment names a place in the same page) or dot segments."""
    parts = urlsplit(urldefrag(urljoin(base, url.strip()) if base else url.strip())[0])
    segments: list[str] = []
    for segment in parts.path.split("/")[1:]:
        if segment == "..":
            if segments:
                segments.pop()
        elif segment != ".":
            segments.append(segment)
    if parts.path.rstrip("/").endswith(("/.", "/..")):
        segments.append("")
    path = "/" + "/".join(segments) if parts.path else ""
    return urlunsplit((parts.scheme, parts.netloc, path, parts.query, ""))


def is_public(address: str) -> bool:
    """True for a globally routable unicast address; loopback, private, link-local, shared and reserved are not."""
    ip = ipaddress.ip_address(address.split("%")[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_global and not ip.is_multicast


def check_public_host(host: str, port: int) -> None:
    """Refuse a host unless every address it resolves to is public."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise FetchFailedError(f"cannot resolve {host}: {exc}") from exc
    for info in infos:
        address = str(info[4][0])
        if not is_public(address):
            raise PrivateAddressError(
                f"{host} resolves to the non-public address {address}; refused "
                "(set ARTICLE_QA_FEED_ALLOW_PRIVATE=1 to fetch from a private network)")


class HostPacer:
    """Keeps at least ``interval`` seconds between two requests to one host, across threads."""

    def __init__(self, interval: float) -> None:
        self.interval = interval
        self._last: dict[str, float] = {}
        self._lock = threading.Lock()

    def wait(self, host: str, interval: float | None = None) -> None:
        """Sleep until this host may be asked again; ``interval`` (a Crawl-delay) may ask for a longer gap."""
        gap = max(self.interval, interval or 0.0)
        with self._lock:
            now = time.monotonic()
            at = max(now, self._last.get(host, now - gap) + gap)
            self._last[host] = at
        if at > now:
            time.sleep(at - now)


@dataclass
class _Robots:
    parser: RobotFileParser | None  # None: everything allowed
    read_at: float
    crawl_delay: float = 0.0


class Fetcher:
    """Downloads URLs under a ``FetchPolicy``; one client, one robots.txt cache and one pace for all sources."""

    def __init__(self, policy: FetchPolicy, transport: httpx.BaseTransport | None = None) -> None:
        self.policy = policy
        self.pacer = HostPacer(policy.host_interval_seconds)
        self._robots: dict[str, _Robots] = {}
        self._client = httpx.Client(
            follow_redirects=False, timeout=httpx.Timeout(policy.timeout_seconds), trust_env=False,
            headers={"User-Agent": policy.user_agent}, transport=transport,
        )

    def close(self) -> None:
        self._client.close()

    def __enter__(self) -> Fetcher:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def get(self, url: str, validators: Validators | None = None, site: str | None = None,
            accept: str = "*/*") -> Download:
        """Download ``url``; with ``site``, the URL and every redirect must stay on that site."""
        current, seen = normalise_url(url), set()
        headers = {"Accept": accept, **(validators.headers() if validators else {})}
        for _ in range(self.policy.max_redirects + 1):
            seen.add(current)
            self._check(current, site)
            self._check_robots(current)
            location = self._request(current, headers)
            if isinstance(location, Download):
                return location
            following = normalise_url(location, current)
            if following in seen:
                raise RedirectLoopError(f"{url}: redirects loop back to {following}")
            current = following
        raise RedirectLoopError(f"{url}: more than {self.policy.max_redirects} redirects")

    def _check(self, url: str, site: str | None) -> None:
        parts = urlsplit(url)
        if parts.scheme not in {"http", "https"} or not parts.hostname:
            raise FetchRefusedError(f"{url}: only http and https URLs are fetched")
        if site is not None and site_of(url) != site:
            raise FetchRefusedError(f"{url}: outside the site {site}")
        if not self.policy.allow_private:
            try:
                port = parts.port or (443 if parts.scheme == "https" else 80)
            except ValueError as exc:
                raise FetchRefusedError(f"{url}: bad port ({exc})") from exc
            check_public_host(parts.hostname, port)

    def _request(self, url: str, headers: dict[str, str]) -> Download | str:
        """One GET: a finished ``Download``, or the Location a redirect points to."""
        host = urlsplit(url).netloc.lower()
        robots = self._robots.get(host)
        self.pacer.wait(host, robots.crawl_delay if robots else None)
        deadline = time.monotonic() + self.policy.timeout_seconds
        try:
            with self._client.stream("GET", url, headers=headers) as response:
                self._check_peer(url, response)
                if response.status_code in REDIRECTS and response.headers.get("location"):
                    return response.headers["location"]
                found = Validators(response.headers.get("etag"), response.headers.get("last-modified"))
                media_type, charset = _content_type(response.headers.get("content-type", ""))
                if response.status_code == HTTPStatus.NOT_MODIFIED:
                    return Download(url, HTTPStatus.NOT_MODIFIED, b"", media_type, charset, found)
                if response.status_code != HTTPStatus.OK:
                    raise FetchFailedError(f"{url}: HTTP {response.status_code} {response.reason_phrase}".rstrip(),
                                           response.status_code)
                body = self._read(url, response, deadline)
                return Download(url, 200, body, media_type, charset, found)
        except httpx.TimeoutException as exc:
            raise FetchTimeoutError(f"{url}: no answer within {self.policy.timeout_seconds:g} s") from exc
        except httpx.HTTPError as exc:
            raise FetchFailedError(f"{url}: {type(exc).__name__}: {exc}") from exc

    def _check_peer(self, url: str, response: httpx.Response) -> None:
        """The address actually connected to must be public too (a DNS answer may change after the check)."""
        if self.policy.allow_private:
            return
        stream: Any = response.extensions.get("network_stream")
        peer = stream.get_extra_info("server_addr") if stream is not None else None
        if peer and not is_public(str(peer[0])):
            raise PrivateAddressError(f"{url}: connected to the non-public address {peer[0]}; refused")

    def _read(self, url: str, response: httpx.Response, deadline: float) -> bytes:
        limit = self.policy.max_bytes
        declared = response.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > limit:
            raise ResponseTooLargeError(f"{url}: {int(declared)} bytes, more than the limit of {limit}")
        parts: list[bytes] = []
        size = 0
        for chunk in response.iter_bytes(READ_CHUNK_BYTES):
            size += len(chunk)
            if size > limit:
                raise ResponseTooLargeError(f"{url}: more than the limit of {limit} bytes")
            if time.monotonic() > deadline:
                raise FetchTimeoutError(f"{url}: not downloaded within {self.policy.timeout_seconds:g} s")
            parts.append(chunk)
        return b"".join(parts)

    def _check_robots(self, url: str) -> None:
        parts = urlsplit(url)
        if parts.path == "/robots.txt":
            return
        host = parts.netloc.lower()
        robots = self._robots.get(host)
        if robots is None or time.monotonic() - robots.read_at > ROBOTS_TTL_SECONDS:
            robots = self._read_robots(f"{parts.scheme}://{parts.netloc}/robots.txt")
            if robots is None:
                raise RobotsDisallowedError(f"{url}: the site's robots.txt could not be read; not fetching for now")
            self._robots[host] = robots
        if robots.parser is not None and not robots.parser.can_fetch(self.policy.user_agent, url):
            raise RobotsDisallowedError(f"{url}: disallowed by the site's robots.txt")

    def _read_robots(self, robots_url: str) -> _Robots | None:
        """RFC 9309: a 4xx answer allows everything; an unreachable robots.txt (5xx, network) allows nothing."""
        try:
            download = self.get(robots_url, site=site_of(robots_url), accept="text/plain")
        except FetchFailedError as exc:
            if exc.status is not None and exc.status in _CLIENT_ERRORS:
                return _Robots(None, time.monotonic())
            return None
        except FeedError:
            return None
        parser = RobotFileParser(robots_url)
        parser.parse(download.body[:MAX_ROBOTS_BYTES].decode("utf-8", errors="replace").splitlines())
        delay = parser.crawl_delay(self.policy.user_agent)
        return _Robots(parser, time.monotonic(), min(float(delay or 0.0), MAX_CRAWL_DELAY_SECONDS))


def _content_type(header: str) -> tuple[str, str | None]:
    media_type, _, params = header.partition(";")
    charset = None
    for param in params.split(";"):
        key, _, value = param.partition("=")
        if key.strip().lower() == "charset" and value.strip():
            charset = value.strip().strip("\"'")
    return media_type.strip().lower(), charset
