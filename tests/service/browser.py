"""Driving the chat page in Debian's Chromium: launch flags, one open page, and waiting for answers."""

from __future__ import annotations

import os
import re
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, Locator, Page, expect

from qa.generation.models import cache_dir

REPO = Path(__file__).resolve().parents[2]
STATIC = REPO / "service" / "static"
# Screenshots the tests take go outside the repository; `make screenshots` refreshes the README's images.
ARTIFACTS = Path(os.environ.get("ARTICLE_QA_TEST_ARTIFACTS", Path(tempfile.gettempdir()) / "article-qa-artifacts"))
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
AXE = cache_dir() / "npm" / "node_modules" / "axe-core" / "axe.min.js"

READY_TIMEOUT_MS = 180_000  # the first index build may still be running
ANSWER_TIMEOUT_MS = 120_000  # the first question loads the embedding model
DONE_STATE = re.compile(r"^(answered|abstained|error)$")


class Session:
    """One open page plus everything it requested and logged."""

    def __init__(self, page: Page) -> None:
        self.page = page
        self.requests: list[str] = []
        self.console: list[str] = []
        self.page_errors: list[str] = []
        page.on("request", lambda request: self.requests.append(request.url))
        page.on("console", lambda message: self.console.append(f"{message.type}: {message.text}"))
        page.on("pageerror", lambda error: self.page_errors.append(str(error)))

    def open(self, base_url: str) -> None:
        self.page.goto(base_url.rstrip("/") + "/")
        self.page.wait_for_selector("#status[data-state='ready']", timeout=READY_TIMEOUT_MS)

    def send(self, question: str) -> Locator:
        """Type a question and press Enter; returns its answer card at once (it may still be loading)."""
        page = self.page
        before = page.locator(".answer-card").count()
        page.locator("#question").fill(question)
        page.locator("#question").press("Enter")
        return page.locator(".answer-card").nth(before)

    def ask(self, question: str) -> Locator:
        """Type a question, press Enter and return its finished answer card."""
        card = self.send(question)
        expect(card).to_have_attribute("data-state", DONE_STATE, timeout=ANSWER_TIMEOUT_MS)
        if card.get_attribute("data-state") == "error":
            pytest.fail(f"/ask failed for {question!r}: {card.inner_text()}")
        return card

    def axe(self, context: str = "document") -> list[dict[str, Any]]:
        """Serious and critical axe-core violations of the page as it is now."""
        if not AXE.is_file():
            pytest.fail(f"{AXE} is missing: run scripts/install.sh --browser")
        if not self.page.evaluate("() => typeof window.axe !== 'undefined'"):
            self.page.evaluate(AXE.read_text(encoding="utf-8"))  # by the DevTools protocol: the page's CSP stays on
        result = self.page.evaluate(
            "async (context) => { const r = await window.axe.run(context === 'document' ? document : "
            "document.querySelector(context), {resultTypes: ['violations']}); "
            "return r.violations.map(v => ({id: v.id, impact: v.impact, help: v.help, "
            "nodes: v.nodes.map(n => n.target.join(' ')).slice(0, 5)})); }",
            context,
        )
        return [v for v in result if v["impact"] in {"serious", "critical"}]


def open_session(browser: Browser, width: int, height: int) -> Iterator[Session]:
    context = browser.new_context(
        viewport={"width": width, "height": height},
        color_scheme="light",
        reduced_motion="reduce",  # instant scrolling, so screenshots are deterministic
    )
    context.set_default_timeout(30_000)
    try:
        yield Session(context.new_page())
    finally:
        context.close()
