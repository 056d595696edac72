"""Browser test of the admin panel: upload (drag and drop and the file picker), rebuild, ask, delete.

Runs against ``fresh_server``, a real server over a private copy of the seed articles, so the uploads do not
leak into other tests.
"""

from __future__ import annotations

import re
from pathlib import Path

from playwright.sync_api import Dialog, expect

from tests.conftest import ADMIN_TOKEN, LiveServer
from tests.service.browser import Session

FERRY = """---
title: Harbour ferry adds a night crossing
date: 2025-03-20
author: Dana Ilves
---

The Port Vell harbour ferry will add a night crossing at 23:40 from April 2025. \
The new crossing takes 35 minutes and is run by the ferry company Blue Gull Lines.
"""
CAT = """Port Vell lighthouse keeper adopts a ginger cat

12 March 2025 | News

The keeper of the Port Vell lighthouse, Marta Quiros, adopted a ginger cat named Biscuit Tangerine in March 2025.
The cat now sleeps beside the lamp room and greets the ferry crews every morning.
"""
REBUILD_TIMEOUT_MS = 120_000


def _drop_file(session: Session, name: str, text: str) -> None:
    """Drop a file on the drop zone the way a browser does after a drag from the desktop."""
    transfer = session.page.evaluate_handle(
        "([name, text]) => { const dt = new DataTransfer(); "
        "dt.items.add(new File([text], name, {type: 'text/markdown'})); return dt; }", [name, text])
    session.page.dispatch_event("#dropzone", "dragenter", {"dataTransfer": transfer})
    expect(session.page.locator("#dropzone")).to_have_class(re.compile(r"\bdragging\b"))
    session.page.dispatch_event("#dropzone", "drop", {"dataTransfer": transfer})


def _wait_rebuilt(session: Session, articles: int) -> None:
    page = session.page
    expect(page.locator("#admin-message")).to_contain_text("Rebuild finished", timeout=REBUILD_TIMEOUT_MS)
    expect(page.locator("#index-articles")).to_have_text(str(articles))
    expect(page.locator("#article-list .article-row")).to_have_count(articles)
    expect(page.locator("#rebuild-progress")).to_be_hidden()


def test_admin_uploads_rebuilds_asks_and_deletes(fresh_server: LiveServer, desktop: Session,
                                                 tmp_path: Path) -> None:
    desktop.open(fresh_server.url)
    page = desktop.page
    page.locator("#open-admin").click()
    admin = page.locator("#admin")
    expect(admin).to_be_visible()
    expect(page.locator("#index-articles")).to_have_text("2")
    expect(page.locator("#index-version")).not_to_have_text("–")
    version_before = page.locator("#index-version").inner_text()

    # Without the token the service refuses, and the panel says so.
    page.locator("#rebuild").click()
    expect(page.locator("#admin-message")).to_contain_text("token")

    page.locator("#admin-token").fill(ADMIN_TOKEN)
    page.locator("#admin-token").press("Enter")
    expect(page.locator("#admin-message")).to_contain_text("Token set")

    _drop_file(desktop, "harbour-ferry-night.md", FERRY)
    cat = tmp_path / "port-vell-lighthouse-cat.txt"
    cat.write_text(CAT, encoding="utf-8")
    page.locator("#upload-files").set_input_files(str(cat))
    rows = page.locator("#upload-results .upload-row[data-state='ok']")
    expect(rows).to_have_count(2)
    expect(rows.first).to_contain_text("Harbour ferry adds a night crossing")
    assert (fresh_server.articles_dir / "harbour-ferry-night.md").is_file()

    page.locator("#rebuild").click()
    _wait_rebuilt(desktop, 4)
    assert page.locator("#index-version").inner_text() != version_before
    expect(page.locator("#article-list")).to_contain_text("Port Vell lighthouse keeper adopts a ginger cat")
    # The chat's own index line and source filter follow without a reload.
    expect(page.locator("#index-info")).to_contain_text("4 articles")
    expect(page.locator("#source option")).to_have_count(5)

    page.locator("#admin .close-button").click()
    expect(admin).to_be_hidden()
    card = desktop.ask("Which company runs the night crossing of the harbour ferry?")
    expect(card.locator(".answer-text")).to_have_text("Blue Gull Lines")
    expect(card.locator(".citation-source").first).to_have_text("harbour-ferry-night.md")

    # Delete the cat article: confirmed, rebuilt, gone from the list.
    page.locator("#open-admin").click()
    page.once("dialog", lambda dialog: dialog_accept(dialog))
    row = page.locator("#article-list .article-row[data-article-id='port-vell-lighthouse-cat']")
    row.get_by_role("button", name=re.compile("Delete")).click()
    _wait_rebuilt(desktop, 3)
    expect(page.locator("#article-list")).not_to_contain_text("Port Vell lighthouse keeper")
    assert desktop.page_errors == []


def dialog_accept(dialog: Dialog) -> None:
    assert "Delete" in dialog.message
    dialog.accept()
