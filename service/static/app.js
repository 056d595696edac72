/* Article QA chat page.
 *
 * Plain ES2020, no build step, no external requests. Safe under
 * `Content-Security-Policy: script-src 'self'; style-src 'self'`:
 * no inline handlers, no style attributes.
 *
 * All text that comes from the API (article titles, passages, quotes,
 * answers, error messages) is untrusted and is put into the page only with
 * textContent / document.createTextNode — never as HTML.
 */
"use strict";

(() => {
  const ABSTAIN_TEXT = "Not found in the articles";
  const READY_POLL_MS = 2000;

  const $ = (selector) => document.querySelector(selector);
  const prefersReducedMotion = () =>
    window.matchMedia && window.matchMedia("(prefers-reduced-motion: reduce)").matches;

  /** Create an element with optional class name and text (set via textContent). */
  function el(tag, className, text) {
    const node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined && text !== null) node.textContent = String(text);
    return node;
  }

  /* ------------------------------------------------------------------ */
  /* Formatting helpers                                                  */
  /* ------------------------------------------------------------------ */

  function percent(confidence) {
    const value = Number(confidence);
    if (!Number.isFinite(value)) return "–";
    return `${Math.round(Math.min(1, Math.max(0, value)) * 100)}%`;
  }

  function confidenceLevel(confidence) {
    const value = Number(confidence);
    if (!Number.isFinite(value)) return "low";
    if (value >= 0.7) return "high";
    if (value >= 0.4) return "medium";
    return "low";
  }

  /** A <time> element for an ISO date, or the word "undated". */
  function dateNode(date, className) {
    if (typeof date === "string" && date.trim() !== "") {
      const time = el("time", className, date);
      time.dateTime = date;
      return time;
    }
    const span = el("span", className, "undated");
    span.classList.add("undated");
    return span;
  }

  /** Only http(s) URLs become links; anything else (javascript:, data:) stays text. */
  function safeHttpUrl(url) {
    if (typeof url !== "string" || url === "") return null;
    try {
      const parsed = new URL(url, window.location.href);
      return parsed.protocol === "http:" || parsed.protocol === "https:" ? parsed.href : null;
    } catch (_err) {
      return null;
    }
  }

  /* ------------------------------------------------------------------ */
  /* Highlighting                                                        */
  /* ------------------------------------------------------------------ */

  /** The passage of the same article whose [start, end) contains the citation, if any. */
  function containingPassage(citation, passages) {
    for (const p of passages) {
      if (
        p && p.article_id === citation.article_id &&
        typeof p.text === "string" &&
        p.start <= citation.start && citation.end <= p.end
      ) {
        return p;
      }
    }
    return null;
  }

  /**
   * Where the quote sits inside the passage text, as [from, to) in JS string
   * units. Offsets from the API count code points while JS strings count UTF-16
   * units, so the quote is searched for near the expected offset first and
   * the raw slice is only the fallback.
   */
  function locateQuote(passage, citation) {
    const text = passage.text;
    const quote = typeof citation.quote === "string" ? citation.quote : "";
    const approx = Math.max(0, citation.start - passage.start);
    if (quote !== "") {
      let idx = text.indexOf(quote, Math.max(0, approx - 10));
      if (idx < 0) idx = text.indexOf(quote);
      if (idx >= 0) return [idx, idx + quote.length];
    }
    const from = Math.min(text.length, approx);
    const to = Math.min(text.length, Math.max(from, citation.end - passage.start));
    return [from, to];
  }

  /** Fill `container` with passage text where the cited span is a <mark>. */
  function renderHighlighted(container, citation, passages) {
    const passage = containingPassage(citation, passages);
    if (!passage) {
      container.appendChild(el("mark", null, citation.quote || ""));
      return;
    }
    const [from, to] = locateQuote(passage, citation);
    const text = passage.text;
    const before = text.slice(0, from).replace(/^\s+/, "");
    const after = text.slice(to).replace(/\s+$/, "");
    if (before) container.appendChild(document.createTextNode(before));
    container.appendChild(el("mark", null, text.slice(from, to)));
    if (after) container.appendChild(document.createTextNode(after));
  }

  /* ------------------------------------------------------------------ */
  /* Rendering of one exchange                                           */
  /* ------------------------------------------------------------------ */

  function renderMetaLine(item, titleClass, dateClass, sourceClass) {
    const head = el("div", "source-head");
    const href = safeHttpUrl(item.url);
    const title = el(href ? "a" : "span", titleClass, item.title || "Untitled article");
    if (href) {
      title.href = href;
      title.target = "_blank";
      title.rel = "noopener noreferrer";
    }
    head.appendChild(title);

    const meta = el("div", "source-meta");
    meta.appendChild(dateNode(item.date, dateClass));
    if (sourceClass !== null) {
      meta.appendChild(el("span", "sep", "·")).setAttribute("aria-hidden", "true");
      meta.appendChild(el("span", sourceClass, item.source || "unknown source"));
    }
    head.appendChild(meta);
    return head;
  }

  function renderCitations(citations, passages) {
    const section = el("section", "citations");
    section.appendChild(el("h3", "section-title", citations.length === 1 ? "Source" : "Sources"));
    const list = el("ol", "citation-list");
    for (const citation of citations) {
      const item = el("li", "citation");
      item.appendChild(renderMetaLine(citation, "citation-title", "citation-date", "citation-source"));
      const text = el("blockquote", "passage-text");
      renderHighlighted(text, citation, passages);
      item.appendChild(text);
      list.appendChild(item);
    }
    section.appendChild(list);
    return section;
  }

  function renderPassages(passages) {
    const details = el("details", "passages");
    details.appendChild(el("summary", null, `All retrieved passages (${passages.length})`));
    const list = el("ol", "passage-list");
    for (const passage of passages) {
      const item = el("li", "passage");
      const head = renderMetaLine(passage, "passage-title", "passage-date", "passage-source");
      const score = Number(passage.score);
      if (passage.score !== null && passage.score !== undefined && Number.isFinite(score)) {
        head.querySelector(".source-meta").appendChild(el("span", "passage-score", `score ${score.toFixed(3)}`));
      }
      item.appendChild(head);
      item.appendChild(el("p", "passage-body", (passage.text || "").trim()));
      list.appendChild(item);
    }
    details.appendChild(list);
    return details;
  }

  function fillAnswer(card, data) {
    card.replaceChildren();
    card.removeAttribute("aria-busy");
    const citations = Array.isArray(data.citations) ? data.citations : [];
    const passages = Array.isArray(data.passages) ? data.passages : [];
    const abstained = Boolean(data.abstained) || data.answer === null || data.answer === undefined;

    card.classList.toggle("abstained", abstained);
    card.dataset.state = abstained ? "abstained" : "answered";

    const top = el("div", "answer-top");
    const label = el("p", "answer-label", abstained ? "No answer" : "Answer");
    top.appendChild(label);
    const conf = el("span", `confidence confidence-${confidenceLevel(data.confidence)}`,
      `${percent(data.confidence)} confidence`);
    conf.title = "How sure the service is of this answer";
    top.appendChild(conf);
    card.appendChild(top);

    if (abstained) {
      card.appendChild(el("p", "answer-text", ABSTAIN_TEXT));
      if (typeof data.reason === "string" && data.reason.trim() !== "") {
        card.appendChild(el("p", "reason", data.reason));
      }
    } else {
      card.appendChild(el("p", "answer-text", data.answer));
      if (citations.length > 0) card.appendChild(renderCitations(citations, passages));
    }

    if (passages.length > 0) card.appendChild(renderPassages(passages));
  }

  function fillError(card, message) {
    card.replaceChildren();
    card.removeAttribute("aria-busy");
    card.classList.add("error");
    card.dataset.state = "error";
    card.setAttribute("role", "alert");
    card.appendChild(el("p", "answer-label", "Something went wrong"));
    card.appendChild(el("p", "error-message", message));
  }

  function addExchange(question) {
    const turn = el("li", "turn");
    turn.appendChild(el("p", "question-bubble", question));
    const card = el("article", "answer-card loading");
    card.dataset.state = "loading";
    card.setAttribute("aria-busy", "true");
    const loading = el("p", "loading-text");
    loading.appendChild(el("span", "spinner")).setAttribute("aria-hidden", "true");
    loading.appendChild(document.createTextNode("Searching the articles…"));
    card.appendChild(loading);
    turn.appendChild(card);
    $("#conversation").appendChild(turn);
    $("#welcome").hidden = true;
    turn.scrollIntoView({ block: "start", behavior: prefersReducedMotion() ? "auto" : "smooth" });
    return card;
  }

  /* ------------------------------------------------------------------ */
  /* API                                                                  */
  /* ------------------------------------------------------------------ */

  function currentFilters() {
    const filters = {};
    const after = $("#published-after").value.trim();
    const before = $("#published-before").value.trim();
    const source = $("#source").value.trim();
    if (after) filters.published_after = after;
    if (before) filters.published_before = before;
    if (source) filters.source = source;
    return filters;
  }

  async function errorMessage(response) {
    let body = null;
    try {
      body = await response.json();
    } catch (_err) {
      body = null;
    }
    if (body && typeof body.message === "string" && body.message !== "") return body.message;
    if (body && body.error === "not_ready") return "The index is still being built. Please try again in a moment.";
    if (body && typeof body.error === "string") return `${body.error} (HTTP ${response.status})`;
    return `The request failed (HTTP ${response.status}${response.statusText ? ` ${response.statusText}` : ""}).`;
  }

  async function ask(question) {
    const payload = { question };
    const filters = currentFilters();
    if (Object.keys(filters).length > 0) payload.filters = filters;
    const response = await fetch("/ask", {
      method: "POST",
      headers: { "Content-Type": "application/json", Accept: "application/json" },
      body: JSON.stringify(payload),
    });
    if (!response.ok) throw new Error(await errorMessage(response));
    return response.json();
  }

  /* ------------------------------------------------------------------ */
  /* Status and footer                                                    */
  /* ------------------------------------------------------------------ */

  function setStatus(state, text) {
    const status = $("#status");
    status.dataset.state = state;
    status.querySelector(".status-text").textContent = text;
  }

  async function loadIndexInfo() {
    const info = $("#index-info");
    try {
      const response = await fetch("/index", { headers: { Accept: "application/json" } });
      if (!response.ok) throw new Error(String(response.status));
      const manifest = await response.json();
      const parts = [];
      if (manifest && manifest.version !== undefined) parts.push(`Index snapshot ${manifest.version}`);
      const counts = (manifest && manifest.counts) || {};
      if (Number.isFinite(counts.articles)) parts.push(`${counts.articles} article${counts.articles === 1 ? "" : "s"}`);
      if (Number.isFinite(counts.chunks)) parts.push(`${counts.chunks} passage${counts.chunks === 1 ? "" : "s"}`);
      info.textContent = parts.length > 0 ? parts.join(" · ") : "Index ready";
    } catch (_err) {
      info.textContent = "Index information unavailable";
    }
  }

  async function checkReady() {
    try {
      const response = await fetch("/readyz", { headers: { Accept: "application/json" } });
      if (response.ok) {
        setStatus("ready", "Ready");
        loadIndexInfo();
        return;
      }
      setStatus("building", response.status === 503 ? "Building the index…" : `Not ready (HTTP ${response.status})`);
    } catch (_err) {
      setStatus("offline", "Service unreachable");
    }
    window.setTimeout(checkReady, READY_POLL_MS);
  }

  /* ------------------------------------------------------------------ */
  /* Wiring                                                               */
  /* ------------------------------------------------------------------ */

  function updateFiltersCount() {
    const n = Object.keys(currentFilters()).length;
    $("#filters-count").textContent = n > 0 ? `(${n} active)` : "";
  }

  function init() {
    const form = $("#ask-form");
    const input = $("#question");
    const button = $("#ask");
    let pending = false;

    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      const question = input.value.trim();
      if (question === "" || pending) {
        input.focus();
        return;
      }
      pending = true;
      button.disabled = true;
      form.setAttribute("aria-busy", "true");
      input.value = "";
      const card = addExchange(question);
      try {
        const data = await ask(question);
        fillAnswer(card, data);
      } catch (err) {
        const message = err instanceof TypeError
          ? "Could not reach the service. Check that it is running and try again."
          : (err && err.message) || "Unknown error.";
        fillError(card, message);
      } finally {
        card.classList.remove("loading");
        pending = false;
        button.disabled = false;
        form.removeAttribute("aria-busy");
        input.focus({ preventScroll: true });
      }
    });

    input.addEventListener("keydown", (event) => {
      if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
        event.preventDefault();
        form.requestSubmit();
      }
    });

    for (const example of document.querySelectorAll(".example")) {
      example.addEventListener("click", () => {
        input.value = example.textContent;
        input.focus();
      });
    }

    for (const field of ["#published-after", "#published-before", "#source"]) {
      $(field).addEventListener("input", updateFiltersCount);
    }
    $("#clear-filters").addEventListener("click", () => {
      $("#published-after").value = "";
      $("#published-before").value = "";
      $("#source").value = "";
      updateFiltersCount();
    });

    checkReady();
    input.focus();
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", init);
  } else {
    init();
  }
})();
