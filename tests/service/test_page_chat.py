"""Browser tests of the chat flows: streaming, conversation, the source viewer, filters and feedback.

Real Chromium against the real server of ``live_server`` over the two seed articles; nothing is mocked.
"""

from __future__ import annotations

import json
import re
import sqlite3

import httpx
from playwright.sync_api import Locator, expect

from tests.conftest import LiveServer, needs_generator
from tests.service.browser import Session

MANCHESTER = "pkuhsc-manchester-joint-webinar.txt"
POLYU = "polyu-pkuhsc-medical-technology-mou.txt"
RECORD_STATES = """(index) => {
  window.__states = [];
  const seen = (card) => {
    const state = card.dataset.state;
    window.__states.push({state, sources: card.querySelectorAll('.early-sources .source-item').length,
                          answer: card.querySelectorAll('.answer-text').length});
  };
  new MutationObserver(() => {
    const card = document.querySelectorAll('.answer-card')[index];
    if (card && (window.__states.length === 0 || window.__states.at(-1).state !== card.dataset.state)) seen(card);
  }).observe(document.querySelector('#conversation'), {subtree: true, childList: true, attributes: true});
}"""


def test_sources_are_shown_before_the_answer_completes(live_server: LiveServer, desktop: Session) -> None:
    desktop.open(live_server.url)
    page = desktop.page
    page.evaluate(RECORD_STATES, 0)
    card = desktop.ask("How many graduates has PolyU trained?")

    expect(card.locator(".answer-text")).to_contain_text("52,000")
    states = page.evaluate("() => window.__states")
    names = [s["state"] for s in states]
    assert "sources" in names and names[-1] == "answered", states
    early = states[names.index("sources")]
    # When the sources were on screen, the answer was not there yet.
    assert early["sources"] >= 1 and early["answer"] == 0, states
    assert names.index("sources") < names.index("answered")
    # The request went to the streaming endpoint.
    assert any(url.endswith("/ask/stream") for url in desktop.requests)
    assert desktop.page_errors == []


@needs_generator
def test_generator_draft_streams_then_the_verified_answer_replaces_it(live_server: LiveServer,
                                                                      desktop: Session) -> None:
    desktop.open(live_server.url)
    page = desktop.page
    page.evaluate("""() => {
      window.__drafts = [];
      new MutationObserver(() => {
        const d = document.querySelector('.answer-card .draft-text');
        const card = document.querySelector('.answer-card');
        if (d && d.textContent) window.__drafts.push({text: d.textContent, state: card.dataset.state});
      }).observe(document.querySelector('#conversation'), {subtree: true, childList: true, characterData: true});
    }""")
    page.locator("#filters > summary").click()
    page.locator("#mode").select_option("auto")
    card = desktop.send("Which hospital has held the China-UK clinical genomics training program?")
    expect(card).to_have_attribute("data-state", re.compile("^(answered|abstained)$"), timeout=300_000)
    drafts = page.evaluate("() => window.__drafts")
    assert drafts and all(d["state"] == "sources" for d in drafts), drafts
    assert drafts[0]["text"] == "PKU First Hospital", "the extractive draft shows first"
    # The draft is gone; what stays is the verified answer (or the abstention).
    expect(card.locator(".draft")).to_have_count(0)
    if card.get_attribute("data-state") == "answered":
        answer = card.locator(".answer-text").inner_text()
        assert answer in card.locator(".citation .passage-text").first.inner_text()


def test_follow_up_question_is_rewritten_and_answered_from_the_cited_article(
        live_server: LiveServer, desktop: Session) -> None:
    desktop.open(live_server.url)
    first = desktop.ask("When was the Manchester joint centre founded?")
    expect(first.locator(".answer-text")).to_contain_text("2014")

    second = desktop.ask("Who wrote that article?")
    page = desktop.page
    rewritten = page.locator(".turn").nth(1).locator(".rewritten-question")
    expect(rewritten).to_have_text(re.compile(r'^Who wrote the article ".*Manchester Hold a Joint Webinar"\?$'))
    expect(second).to_have_attribute("data-state", "answered")
    expect(second.locator(".answer-text")).to_have_text("Lang Lang")
    sources = second.locator(".citation-source").all_inner_texts()
    assert sources and set(sources) == {MANCHESTER}

    # A new chat forgets the conversation: the same follow-up alone has nothing to lean on.
    page.locator("#new-chat").click()
    expect(page.locator(".turn")).to_have_count(0)
    alone = desktop.ask("Who wrote that article?")
    expect(alone).to_have_attribute("data-state", "abstained")


def test_citation_opens_the_article_with_the_quote_highlighted(live_server: LiveServer, desktop: Session) -> None:
    desktop.open(live_server.url)
    card = desktop.ask("When was the Manchester joint centre founded?")
    page = desktop.page
    quote = card.locator(".citation .passage-text mark").first.inner_text().strip()
    assert "2014" in quote

    card.locator(".citation-title").first.click()
    viewer = page.locator("#viewer")
    expect(viewer).to_be_visible()
    expect(viewer.locator("#viewer-title")).to_have_text(
        "Peking University Health Science Center and the University of Manchester Hold a Joint Webinar")
    expect(viewer.locator("#viewer-meta")).to_contain_text("2021-01-11")
    expect(viewer.locator("#viewer-meta")).to_contain_text("by Lang Lang")
    expect(viewer.locator("#viewer-meta")).to_contain_text(MANCHESTER)
    mark = viewer.locator("#viewer-body mark")
    expect(mark).to_have_count(1)
    assert mark.inner_text().strip() == quote
    # The full article is there, not only the passage.
    body = viewer.locator("#viewer-body").inner_text()
    assert "The opening ceremony of the joint webinar" in body and "Edited by: Liu Xin" in body
    # The highlighted span was scrolled into the visible part of the article.
    in_view = page.evaluate("""() => {
      const m = document.querySelector('#viewer-body mark').getBoundingClientRect();
      const b = document.querySelector('#viewer-body').getBoundingClientRect();
      return m.top >= b.top - 1 && m.bottom <= b.bottom + 1;
    }""")
    assert in_view
    # No link for an article without an http(s) URL; Escape closes and focus returns to the citation.
    expect(viewer.locator("#viewer-link")).to_be_hidden()
    page.keyboard.press("Escape")
    expect(viewer).to_be_hidden()
    assert page.evaluate("() => document.activeElement.classList.contains('citation-title')")


def _source_files(card: Locator) -> set[str]:
    card.locator("details.passages > summary").click()
    return set(card.locator(".passage-source").all_inner_texts())


def test_date_filter_changes_the_sources(live_server: LiveServer, desktop: Session) -> None:
    desktop.open(live_server.url)
    page = desktop.page
    question = "What did the universities agree to?"
    unfiltered = _source_files(desktop.ask(question))
    assert unfiltered == {MANCHESTER, POLYU}

    page.locator("#filters > summary").click()
    page.locator("#published-before").fill("2022-01-01")
    expect(page.locator("#filters-count")).to_have_text("(1 active)")
    before_2022 = _source_files(desktop.ask(question))
    assert before_2022 == {MANCHESTER}

    page.locator("#clear-filters").click()
    page.locator("#published-after").fill("2024-01-01")
    after_2024 = _source_files(desktop.ask(question))
    assert after_2024 == {POLYU}
    dates = page.locator(".answer-card").nth(2).locator(".passage-date").all_inner_texts()
    assert dates and all(d >= "2024-01-01" for d in dates)


def test_source_filter_lists_the_articles_sources(live_server: LiveServer, desktop: Session) -> None:
    desktop.open(live_server.url)
    page = desktop.page
    page.locator("#filters > summary").click()
    options = page.locator("#source option")
    expect(options).to_have_count(3)
    page.locator("#source").select_option(POLYU)
    card = desktop.ask("What did the universities agree to?")
    assert _source_files(card) == {POLYU}


def test_thumbs_up_is_stored(live_server: LiveServer, desktop: Session) -> None:
    desktop.open(live_server.url)
    question = "How many healthcare-related teaching and research staff does PolyU have?"
    card = desktop.ask(question)
    answer = card.locator(".answer-text").inner_text()
    up = card.locator(".feedback-up")
    expect(up).to_have_accessible_name("Helpful")
    up.click()
    expect(card.locator(".feedback")).to_have_attribute("data-state", "saved")
    expect(up).to_have_attribute("aria-pressed", "true")
    expect(card.locator(".feedback-down")).to_be_disabled()

    with sqlite3.connect(live_server.data_dir / "feedback.sqlite3") as db:
        rows = db.execute("SELECT rating, question, answer, citations, snapshot FROM feedback WHERE question = ?",
                          (question,)).fetchall()
    assert len(rows) == 1
    rating, stored_question, stored_answer, citations, snapshot = rows[0]
    assert (rating, stored_question, stored_answer) == ("up", question, answer)
    assert json.loads(citations)[0]["source"] == POLYU
    assert snapshot and snapshot == httpx.get(f"{live_server.url}/readyz", timeout=10).json()["snapshot"]


def test_keyboard_only(live_server: LiveServer, desktop: Session) -> None:
    desktop.open(live_server.url)
    page = desktop.page
    # The question box has focus on load; typing and Enter sends.
    assert page.evaluate("() => document.activeElement.id") == "question"
    page.keyboard.type("When was the Manchester joint centre founded?")
    page.keyboard.press("Enter")
    card = page.locator(".answer-card").first
    expect(card).to_have_attribute("data-state", "answered", timeout=120_000)
    # Shift+Enter makes a new line instead of sending.
    page.keyboard.type("first line")
    page.keyboard.press("Shift+Enter")
    page.keyboard.type("second")
    assert page.locator("#question").input_value() == "first line\nsecond"
    expect(page.locator(".answer-card")).to_have_count(1)
    page.locator("#question").fill("")

    # Tab moves through the controls in reading order, each with a visible focus ring.
    order = []
    for _ in range(18):
        page.keyboard.press("Tab")
        order.append(page.evaluate("""() => {
          const e = document.activeElement;
          const style = getComputedStyle(e);
          return {id: e.id, cls: e.className || e.tagName.toLowerCase(),
                  outline: style.outlineStyle + ' ' + style.outlineWidth};
        }"""))
    ids = [o["id"] or o["cls"].split()[0] for o in order]
    assert "skip-link" in ids, ids  # focus wrapped round to the top of the page
    order = order[ids.index("skip-link"):]
    ids = ids[ids.index("skip-link"):]
    expected = ["skip-link", "new-chat", "open-admin", "citation-title", "open-article", "feedback-button",
                "question", "ask"]
    positions = [ids.index(name) for name in expected if name in ids]
    assert len(positions) == len(expected) and positions == sorted(positions), ids
    assert "summary" in ids  # the collapsible passages and filters are reachable too
    invisible = [o for o in order
                 if o["cls"] != "body" and (not o["outline"].startswith("solid") or o["outline"].endswith(" 0px"))]
    assert invisible == []


def test_errors_while_answering_show_as_an_error_card(live_server: LiveServer, desktop: Session) -> None:
    desktop.open(live_server.url)
    page = desktop.page
    card = desktop.send("Why " + "very " * 300 + "long?")
    expect(card).to_have_attribute("data-state", "error")
    expect(card).to_have_attribute("data-error", "invalid_question")
    expect(card).to_have_attribute("role", "alert")
    expect(card.locator(".error-message")).to_contain_text("the limit is 1000")
    # The page stays usable: the next question is answered.
    expect(page.locator("#ask")).to_be_enabled()
    next_card = desktop.ask("When was the Manchester joint centre founded?")
    expect(next_card.locator(".answer-text")).to_contain_text("2014")
    assert desktop.page_errors == []
