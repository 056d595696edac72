"""Accessibility of the chat page, checked by axe-core (installed from npm by scripts/install.sh --browser).

Each state people meet is checked at desktop and phone width: the empty page, an answer, an abstention, the
source viewer and the admin panel. No serious or critical violation is allowed.
"""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.conftest import LiveServer
from tests.service.browser import Session


@pytest.mark.parametrize("width", ["desktop", "phone"])
def test_no_serious_accessibility_violations(live_server: LiveServer, width: str,
                                             request: pytest.FixtureRequest) -> None:
    session: Session = request.getfixturevalue(width)
    session.open(live_server.url)
    page = session.page
    found: dict[str, list[dict[str, object]]] = {"empty page": session.axe()}

    card = session.ask("When was the Manchester joint centre founded?")
    expect(card.locator(".answer-text")).to_contain_text("2014")
    session.ask("Who won the 2022 football World Cup?")
    page.locator("#filters > summary").click()
    page.locator(".answer-card details.passages > summary").first.click()
    found["answer, abstention, filters"] = session.axe()

    card.locator(".citation-title").first.click()
    expect(page.locator("#viewer-body mark")).to_have_count(1)
    found["source viewer"] = session.axe()
    page.keyboard.press("Escape")

    page.locator("#open-admin").click()
    expect(page.locator("#article-list .article-row")).to_have_count(2)
    found["admin panel"] = session.axe()

    assert {state: v for state, v in found.items() if v} == {}
