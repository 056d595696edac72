"""The downloader against a real HTTP server on 127.0.0.1: limits, redirects, robots.txt, pacing, validators."""

from __future__ import annotations

import time

import pytest

from core.errors import (
    FetchFailedError,
    FetchRefusedError,
    FetchTimeoutError,
    PrivateAddressError,
    RedirectLoopError,
    ResponseEncodingError,
    ResponseTooLargeError,
    RobotsDisallowedError,
)
from ingest.fetch import Fetcher, FetchPolicy, Validators, decode_body, is_public
from tests.ingest.feed_site import FeedSite, endless, redirect, slow

TIMEOUT = 10.0  # seconds; generous, the machine is shared and noisy
SHORT_TIMEOUT = 1.0  # for the one test of the limit itself; the slow route answers after 4 s


def fetcher(**policy: object) -> Fetcher:
    options: dict[str, object] = {"allow_private": True, "host_interval_seconds": 0.0, "timeout_seconds": TIMEOUT}
    return Fetcher(FetchPolicy(**{**options, **policy}))  # type: ignore[arg-type]


@pytest.mark.parametrize("address", ["127.0.0.1", "10.1.2.3", "172.16.0.9", "192.168.1.1", "169.254.169.254",
                                     "100.64.0.1", "0.0.0.0", "224.0.0.1", "::1", "fd00::1", "fe80::1%eth0",
                                     "::ffff:127.0.0.1"])
def test_non_public_addresses_are_recognised(address: str) -> None:
    assert not is_public(address)


@pytest.mark.parametrize("address", ["8.8.8.8", "151.101.1.69", "2a00:1450:4001:80b::200e"])
def test_public_addresses_are_allowed(address: str) -> None:
    assert is_public(address)


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost"])
def test_private_hosts_are_refused_before_any_request(site: FeedSite, host: str) -> None:
    with fetcher(allow_private=False) as f, pytest.raises(PrivateAddressError, match="non-public address"):
        f.get(f"http://{host}:{site.port}/feed.xml")
    assert site.hits == []


def test_only_http_and_https(site: FeedSite) -> None:
    with fetcher() as f:
        for url in ("file:///etc/passwd", "ftp://127.0.0.1/feed.xml", "gopher://127.0.0.1/"):
            with pytest.raises(FetchRefusedError, match="only http and https"):
                f.get(url)


def test_conditional_request_gets_304(site: FeedSite) -> None:
    with fetcher() as f:
        first = f.get(site.url("/feed.xml"))
        assert first.status == 200 and first.validators.etag and first.validators.last_modified
        again = f.get(site.url("/feed.xml"), first.validators)
        assert again.not_modified and again.body == b""
        assert f.get(site.url("/feed.xml"), Validators(etag='"other"')).status == 200
    feed_hits = site.requests_to("/feed.xml")
    assert [h.status for h in feed_hits] == [200, 304, 200]
    assert feed_hits[1].headers.get("If-None-Match") == first.validators.etag


def test_redirect_loop_and_too_many_redirects(site: FeedSite) -> None:
    site.set("/loop-a", redirect("/loop-b"))
    site.set("/loop-b", redirect("/loop-a"))
    for i in range(8):
        site.set(f"/hop-{i}", redirect(f"/hop-{i + 1}", 301))
    with fetcher(max_redirects=5) as f:
        with pytest.raises(RedirectLoopError, match="redirects loop back to"):
            f.get(site.url("/loop-a"))
        with pytest.raises(RedirectLoopError, match="more than 5 redirects"):
            f.get(site.url("/hop-0"))
        site.set("/moved", redirect("/feed.xml", 301))
        assert f.get(site.url("/moved")).url == site.url("/feed.xml")


def test_redirect_off_the_site_is_refused(site: FeedSite) -> None:
    site.set("/away", redirect(f"http://localhost:{site.port}/feed.xml"))
    with fetcher() as f, pytest.raises(FetchRefusedError, match="outside the site 127.0.0.1"):
        f.get(site.url("/away"), site="127.0.0.1")
    assert site.requests_to("/feed.xml") == []


def test_timeout_is_reported(site: FeedSite) -> None:
    site.set("/slow.xml", slow(4.0))
    started = time.monotonic()
    with fetcher(timeout_seconds=SHORT_TIMEOUT) as f, pytest.raises(FetchTimeoutError, match="no answer within 1 s"):
        f.get(site.url("/slow.xml"))
    assert time.monotonic() - started < 3.5


def test_huge_responses_stop_at_the_limit(site: FeedSite) -> None:
    site.set("/endless.xml", endless())
    site.set("/declared.xml", b"x" * 300_000, "application/xml")
    with fetcher(max_bytes=200_000) as f:
        with pytest.raises(ResponseTooLargeError, match="more than the limit of 200000 bytes"):
            f.get(site.url("/endless.xml"))
        with pytest.raises(ResponseTooLargeError, match="300000 bytes, more than the limit"):
            f.get(site.url("/declared.xml"))


def test_error_status_is_a_failure(site: FeedSite) -> None:
    with fetcher() as f, pytest.raises(FetchFailedError, match="HTTP 404") as caught:
        f.get(site.url("/missing.xml"))
    assert caught.value.status == 404


def test_robots_txt_is_respected(site: FeedSite) -> None:
    site.set("/private/secret.html", b"<html><body><p>secret</p></body></html>")
    with fetcher() as f:
        with pytest.raises(RobotsDisallowedError, match="disallowed by the site's robots.txt"):
            f.get(site.url("/private/secret.html"))
        f.get(site.url("/feed.xml"))
    assert site.requests_to("/private/secret.html") == []
    assert len(site.requests_to("/robots.txt")) == 1  # read once, then cached


def test_missing_robots_allows_and_broken_robots_refuses(site: FeedSite) -> None:
    site.set("/robots.txt", b"gone", "text/plain", status=404)
    with fetcher() as f:
        assert f.get(site.url("/feed.xml")).status == 200
    site.set("/robots.txt", b"oops", "text/plain", status=503)
    with fetcher() as f, pytest.raises(RobotsDisallowedError, match="robots.txt could not be read"):
        f.get(site.url("/feed.xml"))


def test_requests_to_one_host_are_paced(site: FeedSite) -> None:
    started = time.monotonic()
    with fetcher(host_interval_seconds=0.25) as f:
        for _ in range(4):
            f.get(site.url("/feed.xml"))
    elapsed = time.monotonic() - started
    assert len(site.hits) == 5  # robots.txt and four feeds
    assert elapsed >= 4 * 0.25 - 0.05  # each request started at least the interval after the one before
    assert site.hits[-1].at - site.hits[0].at >= 0.7  # and the site saw them spread out


def test_crawl_delay_slows_the_pace(site: FeedSite) -> None:
    site.set("/robots.txt", b"User-agent: *\nCrawl-delay: 1\n", "text/plain")  # whole seconds only
    started = time.monotonic()
    with fetcher() as f:
        for _ in range(2):
            f.get(site.url("/feed.xml"))
    assert time.monotonic() - started >= 1.95  # robots.txt, then one second before each feed request
    assert len(site.hits) == 3


def test_text_decoding_follows_the_declared_charset() -> None:
    latin = "Café Zürich".encode("latin-1")
    with pytest.raises(ResponseEncodingError, match="not valid UTF-8 .*no other character set declared"):
        decode_body(latin, None, "http://site/page")
    assert decode_body(latin, "iso-8859-1", "http://site/page") == "Café Zürich"
    meta = b'<html><head><meta charset="windows-1252"></head><body>caf\xe9</body></html>'
    assert "café" in decode_body(meta, None, "http://site/page")
    with pytest.raises(ResponseEncodingError, match="unknown character set 'x-klingon'"):
        decode_body(b"abc", "x-klingon", "http://site/page")
    assert decode_body("\ufeffok".encode(), None, "http://site/page") == "ok"
