"""Fixtures shared by the feed tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.ingest.feed_site import NURSING, FeedSite


@pytest.fixture()
def site() -> Iterator[FeedSite]:
    """A real HTTP site on 127.0.0.1 that has published one article."""
    site = FeedSite().start()
    site.publish(NURSING)
    yield site
    site.stop()
