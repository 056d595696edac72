"""Article text is untrusted: the page shows markup in an article literally and never runs it (real Chromium)."""

from __future__ import annotations

import httpx
from playwright.sync_api import Browser, Dialog, expect

from tests.conftest import LiveServer, rebuild_and_load

SCRIPT = "<script>window.__pwned=1</script>"
IMG = '<img src=x onerror="window.__pwned=1;alert(1)">'
ARTICLE = (
    "Harbour museum opens a ship model exhibit\n\n5 May 2025 | News\n\n"
    "The harbour museum opened a new exhibit on 5 May 2025. "
    f"The exhibit shows 48 ship models {SCRIPT} and {IMG} from three centuries.\n"
)
QUESTION = "How many ship models does the harbour museum exhibit show?"


def _index_hostile_article(server: LiveServer) -> None:
    (server.articles_dir / "harbour-museum.txt").write_text(ARTICLE)
    rebuild_and_load(server, 3)
    text = httpx.get(f"{server.url}/articles/harbour-museum").json()["text"]
    assert SCRIPT in text and IMG in text, "the markup is part of the indexed article text"


def test_markup_in_an_article_is_shown_as_text_and_never_runs(fresh_server: LiveServer, browser: Browser) -> None:
    _index_hostile_article(fresh_server)
    answer = httpx.post(f"{fresh_server.url}/ask", json={"question": QUESTION}, timeout=60).json()
    assert answer["answer"] and "48" in answer["answer"], answer
    assert any(IMG in c["quote"] for c in answer["citations"]), "the cited sentence carries the markup"

    context = browser.new_context(viewport={"width": 1280, "height": 900})
    context.set_default_timeout(60_000)
    page = context.new_page()
    dialogs: list[str] = []

    def on_dialog(dialog: Dialog) -> None:
        dialogs.append(dialog.message)
        dialog.dismiss()

    page.on("dialog", on_dialog)
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    try:
        response = page.goto(fresh_server.url + "/")
        assert response is not None and "script-src 'self'" in response.headers["content-security-policy"]
        question = page.locator("#question")
        expect(question).to_be_editable(timeout=180_000)
        question.fill(QUESTION)
        question.press("Enter")

        expect(page.get_by_text(IMG, exact=False).first).to_be_visible(timeout=120_000)
        expect(page.get_by_text(SCRIPT, exact=False).first).to_be_visible()
        page.wait_for_timeout(500)  # give an injected onerror handler time to fire, were there one
        assert page.evaluate("() => window.__pwned") is None
        assert page.locator("img[src='x']").count() == 0
        assert page.evaluate("() => [...document.scripts].filter(s => s.text.includes('__pwned')).length") == 0
        assert dialogs == [] and errors == []
    finally:
        context.close()
