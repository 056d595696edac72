"""Browser fixtures for the page tests: one Chromium per session, a fresh context per test."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, sync_playwright

from tests.service.browser import CHROMIUM, CHROMIUM_ARGS, Session, open_session


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing: install Debian's chromium package")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture()
def desktop(browser: Browser) -> Iterator[Session]:
    yield from open_session(browser, 1280, 900)


@pytest.fixture()
def phone(browser: Browser) -> Iterator[Session]:
    yield from open_session(browser, 390, 844)
