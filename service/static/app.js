/* Article QA chat page.
 *
 * Plain ES2020, no build step, no external requests. Safe under
 * `Content-Security-Policy: script-src 'self'; style-src 'self'`:
 * no inline handlers, no style attributes.
 *
 * All text that comes from the API (article titles and text, passages,
 * quotes, answers, error messages) is untrusted and is put into the page only
 * with textContent / document.createTextNode — never as HTML.
 */
"use strict";

(() => {
  const ABSTAIN_TEXT = "Not found in the articles";
  const READY_POLL_MS = 2000;
  const JOB_POLL_MS = 500;
  const FEEDS_REFRESH_MS = 5000;
  const HISTORY_TURNS = 6;
  const TOKEN_KEY = "article-qa-admin-token";
  const CONTEXT_CHARS = 180;

  const $ = (selector) => document.querySelector(selector);
  const prefersReducedMotion = () =>
    window.matchMedia && window.matchMedia("(prefers-reduced-motion: reduce)").matches;

  const HAN = /[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]/;

  /** Create an element with optional class name and text (set via textContent); Chinese text is marked
   * lang="zh", so the browser picks a Chinese font and breaks lines by Chinese rules. */
  function el(tag, className, text) {
    const node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined && text !== null) {
      node.textContent = String(text);
      if (HAN.test(node.textContent)) node.lang = "zh";
    }
    return node;
  }

  function button(className, text, label) {
    const node = el("button", className, text);
    node.type = "button";
    if (label) node.setAttribute("aria-label", label);
    return node;
  }

  function announce(text) {
    const live = $("#live");
    live.textContent = "";
    window.setTimeout(() => { live.textContent = text; }, 30);
  }

  /* ------------------------------------------------------------------ */
  /* Formatting helpers                                                  */
  /* ------------------------------------------------------------------ */

  function percent(confidence) {
    const value = Number(confidence);
    if (!Number.isFinite(value)) return "–";
    return `${Math.round(Math.min(1, Math.max(0, value)) * 100)}%`;
  }

  /** Colour band of a calibrated confidence; the same cut-offs as its words (qa/decision.py). */
  /** The colour band for the API's confidence_label (the API owns the thresholds). */
  const CONFIDENCE_LEVELS = {
    "very likely right": "high",
    "likely right": "high",
    "may be right": "medium",
    "uncertain": "low",
  };

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

  function plural(n, word) {
    return `${n} ${word}${n === 1 ? "" : "s"}`;
  }

  /* ------------------------------------------------------------------ */
  /* Highlighting                                                        */
  /* ------------------------------------------------------------------ */

  /** The UTF-16 index of code point offset `cp` (the API counts code points, JS strings count units). */
  function unitIndex(text, cp) {
    let units = 0;
    let points = 0;
    while (points < cp && units < text.length) {
      const code = text.codePointAt(units);
      units += code > 0xffff ? 2 : 1;
      points += 1;
    }
    return units;
  }

  /** Where `quote` sits in `text`, searched near the expected offset first; [from, to) in UTF-16 units. */
  function locate(text, quote, approxStart, approxEnd) {
    if (typeof quote === "string" && quote !== "") {
      let idx = text.indexOf(quote, Math.max(0, approxStart - 10));
      if (idx < 0) idx = text.indexOf(quote);
      if (idx >= 0) return [idx, idx + quote.length];
    }
    const from = Math.min(text.length, Math.max(0, approxStart));
    return [from, Math.min(text.length, Math.max(from, approxEnd))];
  }

  /** The passage of the same article whose [start, end) contains the citation, if any. */
  function containingPassage(citation, passages) {
    return passages.find((p) => p && p.article_id === citation.article_id && typeof p.text === "string" &&
      p.start <= citation.start && citation.end <= p.end) || null;
  }

  /** Fill `container` with text where [from, to) is a <mark>; returns the mark. */
  function fillMarked(container, text, from, to, trim) {
    let before = text.slice(0, from);
    let after = text.slice(to);
    if (trim) {
      before = before.replace(/^\s+/, "");
      after = after.replace(/\s+$/, "");
    }
    if (before) container.appendChild(document.createTextNode(before));
    const mark = el("mark", null, text.slice(from, to));
    container.appendChild(mark);
    if (after) container.appendChild(document.createTextNode(after));
    return mark;
  }

  function renderHighlighted(container, citation, passages) {
    const passage = containingPassage(citation, passages);
    if (!passage) {
      container.appendChild(el("mark", null, citation.quote || ""));
      return;
    }
    const approx = Math.max(0, citation.start - passage.start);
    const [from, to] = locate(passage.text, citation.quote, approx, citation.end - passage.start);
    const [text, markFrom, markTo] = around(passage.text, from, to, CONTEXT_CHARS);
    fillMarked(container, text, markFrom, markTo, true);
  }

  /** At most `context` characters either side of [from, to), cut at spaces and marked with an ellipsis. */
  function around(text, from, to, context) {
    let start = 0;
    let end = text.length;
    if (from > context) {
      start = text.indexOf(" ", from - context);
      if (start < 0 || start >= from) start = from - context;
    }
    if (text.length - to > context) {
      end = text.lastIndexOf(" ", to + context);
      if (end <= to) end = to + context;
    }
    const head = start > 0 ? "…" : "";
    const tail = end < text.length ? "…" : "";
    const body = text.slice(start, end);
    const offset = head.length - start;
    return [head + body + tail, from + offset, to + offset];
  }

  /* ------------------------------------------------------------------ */
  /* Source viewer                                                        */
  /* ------------------------------------------------------------------ */

  async function openArticle(citation, opener) {
    const dialog = $("#viewer");
    const body = $("#viewer-body");
    const meta = $("#viewer-meta");
    const link = $("#viewer-link");
    $("#viewer-title").textContent = citation.title || "Article";
    meta.replaceChildren(document.createTextNode("Loading the article…"));
    body.replaceChildren();
    link.hidden = true;
    link.replaceChildren();
    dialog.returnFocus = opener || null;
    if (!dialog.open) dialog.showModal();
    try {
      const response = await fetch(`/articles/${encodeURIComponent(citation.article_id)}`,
        { headers: { Accept: "application/json" } });
      if (!response.ok) throw new Error(await errorMessage(response));
      const article = await response.json();
      $("#viewer-title").textContent = article.title || "Untitled article";
      meta.replaceChildren();
      meta.appendChild(dateNode(article.date, "viewer-date"));
      for (const part of [article.byline ? `by ${article.byline}` : null, article.source]) {
        if (!part) continue;
        meta.appendChild(el("span", "sep", "·")).setAttribute("aria-hidden", "true");
        meta.appendChild(el("span", null, part));
      }
      const href = safeHttpUrl(article.url);
      if (href) {
        const a = el("a", null, "Read the original article");
        a.href = href;
        a.target = "_blank";
        a.rel = "noopener noreferrer";
        link.appendChild(a);
        link.hidden = false;
      }
      const text = String(article.text || "");
      const start = unitIndex(text, citation.start);
      const [from, to] = locate(text, citation.quote, start, unitIndex(text, citation.end));
      const mark = fillMarked(body, text, from, to, false);
      mark.id = "cited-span";
      mark.tabIndex = -1;
      mark.scrollIntoView({ block: "center", behavior: prefersReducedMotion() ? "auto" : "smooth" });
    } catch (err) {
      meta.replaceChildren(el("span", "error-message", (err && err.message) || "The article could not be loaded."));
    }
  }

  /* ------------------------------------------------------------------ */
  /* Rendering of one exchange                                           */
  /* ------------------------------------------------------------------ */

  /** Date and source; a source with an http(s) URL (an article fetched from a feed) links to the original. */
  function renderMeta(item, dateClass, sourceClass) {
    const meta = el("div", "source-meta");
    meta.appendChild(dateNode(item.date, dateClass));
    meta.appendChild(el("span", "sep", "·")).setAttribute("aria-hidden", "true");
    const href = safeHttpUrl(item.url);
    const source = el(href ? "a" : "span", sourceClass, item.source || item.url || "unknown source");
    if (href) {
      source.href = href;
      source.target = "_blank";
      source.rel = "noopener noreferrer";
      source.title = "Open the original article";
    }
    meta.appendChild(source);
    return meta;
  }

  function renderCitations(citations, passages) {
    const section = el("section", "citations");
    section.appendChild(el("h3", "section-title", citations.length === 1 ? "Source" : "Sources"));
    const list = el("ol", "citation-list");
    for (const citation of citations) {
      const item = el("li", "citation");
      const head = el("div", "source-head");
      const open = button("citation-title", citation.title || "Untitled article");
      open.title = "Open the article with the cited passage highlighted";
      open.addEventListener("click", () => openArticle(citation, open));
      head.appendChild(open);
      head.appendChild(renderMeta(citation, "citation-date", "citation-source"));
      item.appendChild(head);
      const text = el("blockquote", "passage-text");
      renderHighlighted(text, citation, passages);
      item.appendChild(text);
      const more = button("open-article link-button", "Show in the full article",
        `Show in the full article: ${citation.title || "article"}`);
      more.addEventListener("click", () => openArticle(citation, more));
      item.appendChild(more);
      list.appendChild(item);
    }
    section.appendChild(list);
    return section;
  }

  function renderPassages(passages, open) {
    const details = el("details", "passages");
    if (open) details.open = true;
    details.appendChild(el("summary", null, `All retrieved passages (${passages.length})`));
    const list = el("ol", "passage-list");
    for (const passage of passages) {
      const item = el("li", "passage");
      const head = el("div", "source-head");
      head.appendChild(el("span", "passage-title", passage.title || "Untitled article"));
      const meta = renderMeta(passage, "passage-date", "passage-source");
      const score = Number(passage.score);
      if (passage.score !== null && passage.score !== undefined && Number.isFinite(score)) {
        meta.appendChild(el("span", "passage-score", `score ${score.toFixed(3)}`));
      }
      head.appendChild(meta);
      item.appendChild(head);
      item.appendChild(el("p", "passage-body", (passage.text || "").trim()));
      list.appendChild(item);
    }
    details.appendChild(list);
    return details;
  }

  /** The early list of sources shown while the answer is still being read. */
  function renderSources(card, passages) {
    card.dataset.state = "sources";
    card.querySelector(".loading-text").lastChild.textContent = "Reading the sources…";
    const old = card.querySelector(".early-sources");
    if (old) old.remove();
    const section = el("section", "early-sources");
    section.appendChild(el("h3", "section-title", passages.length ? `Sources found (${passages.length})` : "No sources found"));
    const list = el("ol", "source-list");
    for (const passage of passages) {
      const item = el("li", "source-item");
      item.appendChild(el("span", "source-title", passage.title || "Untitled article"));
      item.appendChild(renderMeta(passage, "source-date", "source-file"));
      list.appendChild(item);
    }
    section.appendChild(list);
    card.appendChild(section);
  }

  /** A provisional answer shown while the language model reads: first the quick extractive draft, then the
   * model's answer as it is written (already copied from a passage); the decided answer replaces both. */
  function renderDraft(card, text, label) {
    let draft = card.querySelector(".draft");
    if (!draft) {
      draft = el("div", "draft");
      draft.appendChild(el("p", "draft-label"));
      draft.appendChild(el("p", "draft-text"));
      card.insertBefore(draft, card.querySelector(".early-sources"));
    }
    draft.querySelector(".draft-label").textContent = label;
    draft.querySelector(".draft-text").textContent = text;
  }

  /** A thumbs-up icon cloned from the page's <template> (the thumbs-down is the same icon turned by CSS). */
  function thumbIcon() {
    return $("#thumb-icon").content.firstElementChild.cloneNode(true);
  }

  function renderFeedback(turn) {
    const box = el("div", "feedback");
    box.setAttribute("role", "group");
    box.setAttribute("aria-label", "Rate this answer");
    box.appendChild(el("span", "feedback-label", "Was this answer helpful?"));
    const status = el("span", "feedback-status");
    status.setAttribute("role", "status");
    const choices = [["up", "Helpful"], ["down", "Not helpful"]];
    const buttons = choices.map(([rating, label]) => {
      const b = button(`feedback-button feedback-${rating}`);
      b.appendChild(thumbIcon());
      b.appendChild(document.createTextNode(label));
      b.dataset.rating = rating;
      b.setAttribute("aria-pressed", "false");
      b.addEventListener("click", async () => {
        for (const other of buttons) other.disabled = true;
        status.textContent = "Saving…";
        try {
          const response = await fetch("/feedback", {
            method: "POST",
            headers: { "Content-Type": "application/json", Accept: "application/json" },
            body: JSON.stringify({
              question: turn.question, rewritten_question: turn.rewritten_question || null,
              answer: turn.answer, citations: turn.citations, snapshot: turn.snapshot, rating,
            }),
          });
          if (!response.ok) throw new Error(await errorMessage(response));
          b.setAttribute("aria-pressed", "true");
          box.dataset.state = "saved";
          status.textContent = "Thanks — your rating was saved.";
        } catch (err) {
          for (const other of buttons) other.disabled = false;
          status.textContent = `Not saved: ${(err && err.message) || "error"}`;
        }
      });
      box.appendChild(b);
      return b;
    });
    box.appendChild(status);
    return box;
  }

  function fillAnswer(card, data, turn) {
    card.replaceChildren();
    card.removeAttribute("aria-busy");
    card.classList.remove("loading");
    const citations = Array.isArray(data.citations) ? data.citations : [];
    const passages = Array.isArray(data.passages) ? data.passages : [];
    const abstained = Boolean(data.abstained) || data.answer === null || data.answer === undefined;

    card.classList.toggle("abstained", abstained);
    card.dataset.state = abstained ? "abstained" : "answered";

    const top = el("div", "answer-top");
    top.appendChild(el("p", "answer-label", abstained ? "No answer" : "Answer"));
    const words = typeof data.confidence_label === "string" && data.confidence_label ? data.confidence_label : "";
    const conf = el("span", `confidence confidence-${abstained ? "none" : (CONFIDENCE_LEVELS[words] || "low")}`,
      words ? words.charAt(0).toUpperCase() + words.slice(1) : `${percent(data.confidence)} confidence`);
    conf.title = `Calibrated confidence ${percent(data.confidence)}: of answers shown with this confidence, about that share are right`;
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
    if (passages.length > 0) card.appendChild(renderPassages(passages, abstained && passages.length <= 3));
    card.appendChild(renderFeedback(turn));
    announce(abstained ? `${ABSTAIN_TEXT}.` : `Answer: ${data.answer}`);
  }

  function fillError(card, message, code) {
    card.replaceChildren();
    card.removeAttribute("aria-busy");
    card.classList.remove("loading");
    card.classList.add("error");
    card.dataset.state = "error";
    if (code) card.dataset.error = code;
    card.setAttribute("role", "alert");
    card.appendChild(el("p", "answer-label", "Something went wrong"));
    card.appendChild(el("p", "error-message", message));
  }

  function addExchange(question) {
    const turn = el("li", "turn");
    turn.appendChild(el("h2", "question-bubble", question));
    const card = el("article", "answer-card loading");
    card.dataset.state = "loading";
    card.setAttribute("aria-busy", "true");
    card.setAttribute("aria-label", `Answer to: ${question}`);
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

  function showRewrite(card, rewritten) {
    if (!rewritten) return;
    const note = el("p", "rewritten");
    note.appendChild(el("span", "rewritten-label", "Understood as: "));
    note.appendChild(el("q", "rewritten-question", rewritten));
    card.parentElement.insertBefore(note, card);
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
    if (body && typeof body.error === "string") return `${body.error} (HTTP ${response.status})`;
    return `The request failed (HTTP ${response.status}${response.statusText ? ` ${response.statusText}` : ""}).`;
  }

  const nextTask = () => new Promise((resolve) => { window.setTimeout(resolve, 0); });

  /** Parse a text/event-stream body, calling `onEvent(name, data)` for each event. */
  async function readEvents(response, onEvent) {
    const reader = response.body.getReader();
    const decoder = new TextDecoder();
    let buffer = "";
    const dispatch = (block) => {
      let name = "message";
      const data = [];
      for (const line of block.split("\n")) {
        if (line === "" || line.startsWith(":")) continue;
        const colon = line.indexOf(":");
        const field = colon < 0 ? line : line.slice(0, colon);
        let value = colon < 0 ? "" : line.slice(colon + 1);
        if (value.startsWith(" ")) value = value.slice(1);
        if (field === "event") name = value;
        else if (field === "data") data.push(value);
      }
      if (data.length > 0) onEvent(name, JSON.parse(data.join("\n")));
    };
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      buffer += decoder.decode(value, { stream: true }).replace(/\r\n?/g, "\n");
      let cut;
      while ((cut = buffer.indexOf("\n\n")) >= 0) {
        dispatch(buffer.slice(0, cut));
        buffer = buffer.slice(cut + 2);
        await nextTask();  // let the page render each stage even when several events arrive together
      }
    }
    if (buffer.trim() !== "") dispatch(buffer);
  }

  /** Ask over /ask/stream; the card fills as the events arrive. Resolves with the final answer. */
  async function askStreaming(question, history, card) {
    const payload = { question, history };
    const filters = currentFilters();
    if (Object.keys(filters).length > 0) payload.filters = filters;
    if ($("#mode").value) payload.mode = $("#mode").value;
    const response = await fetch("/ask/stream", {
      method: "POST",
      headers: { "Content-Type": "application/json", Accept: "text/event-stream" },
      body: JSON.stringify(payload),
    });
    if (!response.ok) {
      const error = new Error(await errorMessage(response));
      error.code = `http_${response.status}`;
      throw error;
    }
    let final = null;
    let failure = null;
    let written = "";
    await readEvents(response, (name, data) => {
      if (name === "question") showRewrite(card, data.rewritten_question);
      else if (name === "sources") renderSources(card, Array.isArray(data.passages) ? data.passages : []);
      else if (name === "draft") {
        if (data.answer) renderDraft(card, data.answer, "Quick answer quoted from the articles — the language model is reading");
      } else if (name === "token") {
        written += String(data.text || "");
        renderDraft(card, written, "The language model's answer, copied from a passage — being checked");
      } else if (name === "final") final = data;
      else if (name === "error") failure = data;
    });
    if (failure) {
      const error = new Error(failure.message || failure.error || "The answer failed.");
      error.code = failure.error;
      throw error;
    }
    if (!final) throw new Error("The answer stream ended early. Please try again.");
    return final;
  }

  /* ------------------------------------------------------------------ */
  /* Status, footer and filters                                           */
  /* ------------------------------------------------------------------ */

  function setStatus(state, text) {
    const status = $("#status");
    status.dataset.state = state;
    status.querySelector(".status-text").textContent = text;
  }

  async function getJson(url, options) {
    const response = await fetch(url, { ...(options || {}), headers: { Accept: "application/json", ...((options && options.headers) || {}) } });
    if (!response.ok) {
      const error = new Error(await errorMessage(response));
      error.status = response.status;
      throw error;
    }
    return response.json();
  }

  async function loadIndexInfo() {
    const info = $("#index-info");
    try {
      const manifest = await getJson("/index");
      const parts = [];
      if (manifest && manifest.version !== undefined) parts.push(`Index snapshot ${manifest.version}`);
      const counts = (manifest && manifest.counts) || {};
      if (Number.isFinite(counts.articles)) parts.push(plural(counts.articles, "article"));
      if (Number.isFinite(counts.chunks)) parts.push(plural(counts.chunks, "passage"));
      info.textContent = parts.length > 0 ? parts.join(" · ") : "Index ready";
      return manifest;
    } catch (_err) {
      info.textContent = "Index information unavailable";
      return null;
    }
  }

  async function loadArticles() {
    const data = await getJson("/articles?limit=1000");
    const articles = Array.isArray(data.articles) ? data.articles : [];
    const select = $("#source");
    const chosen = select.value;
    const sources = [...new Set(articles.map((a) => a.source).filter(Boolean))].sort();
    select.replaceChildren(el("option", null, "All sources"));
    select.firstChild.value = "";
    for (const source of sources) {
      const option = el("option", null, source);
      option.value = source;
      select.appendChild(option);
    }
    select.value = sources.includes(chosen) ? chosen : "";
    updateFiltersCount();
    return articles;
  }

  async function checkReady() {
    try {
      const response = await fetch("/readyz", { headers: { Accept: "application/json" } });
      const help = $("#empty-help");
      help.hidden = true;
      if (response.ok) {
        setStatus("ready", "Ready");
        loadIndexInfo();
        loadArticles().catch(() => {});
        return;
      }
      let text = `Not ready (HTTP ${response.status})`;
      if (response.status === 503) {
        const body = await response.json().catch(() => null);
        if (body && body.error === "no_articles") {
          help.textContent = body.message;
          help.hidden = false;
          setStatus("empty", "No articles yet");
          window.setTimeout(checkReady, READY_POLL_MS);
          return;
        }
        const progress = body && body.progress;
        text = progress && progress.message ? `Building the index — ${progress.message}` : "Building the index…";
      }
      setStatus("building", text);
    } catch (_err) {
      setStatus("offline", "Service unreachable");
    }
    window.setTimeout(checkReady, READY_POLL_MS);
  }

  function updateFiltersCount() {
    const n = Object.keys(currentFilters()).length;
    $("#filters-count").textContent = n > 0 ? `(${n} active)` : "";
  }

  /* ------------------------------------------------------------------ */
  /* Admin panel                                                          */
  /* ------------------------------------------------------------------ */

  const admin = {
    token: null,
    polling: null,
    feedsTimer: null,

    headers() {
      return this.token ? { Authorization: `Bearer ${this.token}` } : {};
    },

    message(text, kind) {
      const node = $("#admin-message");
      node.textContent = text;
      node.dataset.kind = kind || "info";
    },

    setToken(token) {
      this.token = token || null;
      try {
        if (this.token) window.sessionStorage.setItem(TOKEN_KEY, this.token);
        else window.sessionStorage.removeItem(TOKEN_KEY);
      } catch (_err) { /* storage may be disabled; the token stays in memory */ }
      $("#forget-token").hidden = !this.token;
      $("#admin-token").value = "";
      $("#admin-token").placeholder = this.token ? "token set for this tab" : "";
    },

    async call(method, url, body) {
      const response = await fetch(url, { method, headers: { Accept: "application/json", ...this.headers() }, body });
      if (!response.ok) {
        const message = await errorMessage(response);
        if (response.status === 401) this.message("The admin token was not accepted. Enter it again.", "error");
        else if (response.status === 403) this.message(message, "error");
        const error = new Error(message);
        error.status = response.status;
        throw error;
      }
      return response.json();
    },

    renderStatus(manifest) {
      if (!manifest) return;
      const counts = manifest.counts || {};
      $("#index-version").textContent = manifest.version || "–";
      $("#index-articles").textContent = Number.isFinite(counts.articles) ? String(counts.articles) : "–";
      $("#index-chunks").textContent = Number.isFinite(counts.chunks) ? String(counts.chunks) : "–";
      const built = $("#index-built");
      built.textContent = manifest.created_at
        ? manifest.created_at.replace("T", " ").replace("+00:00", " UTC") : "–";
      this.renderJob(manifest.rebuild);
      this.renderFeeds(manifest.feeds);
    },

    /** What the last poll of each feed and sitemap fetched, left unchanged, skipped and failed, and why. */
    renderFeeds(feeds) {
      const section = $("#feeds-section");
      const sources = feeds && Array.isArray(feeds.sources) ? feeds.sources : [];
      section.hidden = sources.length === 0;
      if (sources.length === 0) return;
      const seconds = Number(feeds.poll_seconds);
      $("#feeds-hint").textContent = `Checked every ${Number.isFinite(seconds) ? plural(seconds, "second") : "few minutes"}; `
        + `${plural(Number(feeds.stored_pages) || 0, "article page")} downloaded so far. New articles are indexed by a rebuild.`;
      const list = $("#feed-list");
      list.replaceChildren();
      for (const source of sources) {
        const item = el("li", "feed-row");
        item.dataset.state = String(source.state || "pending");
        const head = el("div", "feed-head");
        head.appendChild(el("span", "feed-kind", source.kind === "sitemap" ? "Sitemap" : "Feed"));
        head.appendChild(el("span", "feed-url", source.url));
        item.appendChild(head);
        const last = source.last;
        if (!last) {
          item.appendChild(el("p", "feed-meta", "Not checked yet."));
          list.appendChild(item);
          continue;
        }
        const counts = last.counts || {};
        const when = String(last.started_at || "").replace("T", " ").replace("+00:00", " UTC");
        const summary = last.state === "ok"
          ? `Checked ${when}: ${counts.fetched || 0} fetched, ${counts.unchanged || 0} unchanged, `
            + `${counts.skipped || 0} skipped, ${counts.failed || 0} failed${last.not_modified ? " (feed not modified)" : ""}.`
          : `Checked ${when}: failed (${source.failures} in a row). Next try ${String(source.next_poll || "").replace("T", " ").replace("+00:00", " UTC")}.`;
        item.appendChild(el("p", "feed-meta", summary));
        if (last.error) item.appendChild(el("p", "feed-error", last.error));
        const problems = [
          ...Object.entries(last.failed || {}).map(([url, why]) => ["failed", url, why]),
          ...Object.entries(last.skipped || {}).map(([url, why]) => ["skipped", url, why]),
        ];
        if (problems.length > 0) {
          const details = el("details", "feed-problems");
          details.appendChild(el("summary", null, `Skipped and failed (${problems.length})`));
          const rows = el("ul", "feed-problem-list");
          for (const [kind, url, why] of problems) {
            const row = el("li", "feed-problem");
            row.dataset.kind = kind;
            row.appendChild(el("span", "feed-problem-kind", kind === "failed" ? "Failed" : "Skipped"));
            row.appendChild(el("span", "feed-problem-url", url));
            row.appendChild(el("span", "feed-problem-why", why));
            rows.appendChild(row);
          }
          details.appendChild(rows);
          item.appendChild(details);
        }
        list.appendChild(item);
      }
    },

    renderJob(job) {
      const box = $("#rebuild-progress");
      const bar = $("#rebuild-bar");
      const active = job && (job.state === "queued" || job.state === "running");
      box.hidden = !active;
      $("#rebuild").disabled = Boolean(active);
      if (!active) return;
      const p = job.progress;
      if (p && p.total > 0) {
        bar.max = p.total;
        bar.value = Math.min(p.done, p.total);
        $("#rebuild-label").textContent = `Rebuilding — ${p.message || `${p.stage} ${p.done} of ${p.total}`}`;
      } else {
        bar.removeAttribute("value");
        $("#rebuild-label").textContent = job.state === "queued" ? "Rebuild queued…" : "Rebuilding…";
      }
    },

    async refresh() {
      const manifest = await loadIndexInfo();
      this.renderStatus(manifest);
      const articles = await loadArticles();
      this.renderArticles(articles);
      if (manifest && manifest.rebuild) this.watch(manifest.rebuild.id);
      if (manifest && manifest.feeds && !this.feedsTimer) {
        // Feeds bring articles on their own schedule: keep the open panel current.
        this.feedsTimer = window.setTimeout(() => {
          this.feedsTimer = null;
          if ($("#admin").open) this.refresh().catch(() => {});
        }, FEEDS_REFRESH_MS);
      }
    },

    renderArticles(articles) {
      const list = $("#article-list");
      list.replaceChildren();
      $("#articles-count").textContent = `(${articles.length})`;
      if (articles.length === 0) list.appendChild(el("li", "empty", "No articles yet."));
      for (const article of articles) {
        const item = el("li", "article-row");
        item.dataset.articleId = article.id;
        const text = el("div", "article-row-text");
        text.appendChild(el("span", "article-row-title", article.title || article.id));
        text.appendChild(renderMeta(article, "article-row-date", "article-row-source"));
        item.appendChild(text);
        const del = button("danger-button", "Delete", `Delete the article “${article.title || article.id}”`);
        del.addEventListener("click", () => this.remove(article, del));
        item.appendChild(del);
        list.appendChild(item);
      }
    },

    async remove(article, control) {
      if (!window.confirm(`Delete “${article.title || article.id}” from the articles folder?`)) return;
      control.disabled = true;
      try {
        const job = await this.call("DELETE", `/articles/${encodeURIComponent(article.id)}`);
        this.message(`Deleted “${article.title || article.id}”; the index is being rebuilt.`, "ok");
        this.watch(job.id);
      } catch (err) {
        control.disabled = false;
        if (err.status !== 401 && err.status !== 403) this.message(`Delete failed: ${err.message}`, "error");
      }
    },

    async upload(files) {
      const results = $("#upload-results");
      let job = null;
      for (const file of files) {
        const row = el("li", "upload-row", `${file.name}: uploading…`);
        results.appendChild(row);
        const form = new FormData();
        form.append("file", file, file.name);
        try {
          const accepted = await this.call("POST", "/articles", form);
          row.textContent = `${file.name}: added as “${accepted.article.title}”`;
          row.dataset.state = "ok";
          job = accepted.job;
        } catch (err) {
          row.textContent = `${file.name}: ${err.message}`;
          row.dataset.state = "error";
        }
      }
      if (job) {
        this.message("Upload done; the index is being rebuilt.", "ok");
        this.watch(job.id);
      }
    },

    async rebuild() {
      try {
        const job = await this.call("POST", "/index/rebuild");
        this.message("Rebuild started.", "ok");
        this.watch(job.id);
      } catch (err) {
        if (err.status !== 401 && err.status !== 403) this.message(`Rebuild failed: ${err.message}`, "error");
      }
    },

    watch(jobId) {
      if (this.polling === jobId) return;
      this.polling = jobId;
      const tick = async () => {
        if (this.polling !== jobId) return;
        let job;
        try {
          job = await getJson(`/index/jobs/${encodeURIComponent(jobId)}`);
        } catch (err) {
          this.polling = null;
          this.message(`Could not follow the rebuild: ${err.message}`, "error");
          return;
        }
        this.renderJob(job);
        if (job.state === "succeeded" || job.state === "failed") {
          this.polling = null;
          const status = $("#admin-message");
          status.dataset.job = job.state;
          if (job.state === "succeeded") {
            await this.waitForSnapshot(job.snapshot);
            this.message(`Rebuild finished: serving ${job.snapshot}.`, "ok");
          } else {
            this.message(`Rebuild failed: ${job.error || "unknown error"}`, "error");
          }
          await this.refresh();
          return;
        }
        window.setTimeout(tick, JOB_POLL_MS);
      };
      tick();
    },

    /** The service swaps to a new snapshot within a poll interval; wait for it so the counts are current. */
    async waitForSnapshot(version) {
      for (let i = 0; i < 20 && version; i += 1) {
        const ready = await getJson("/readyz").catch(() => null);
        if (ready && ready.snapshot === version) return;
        await new Promise((resolve) => window.setTimeout(resolve, 250));
      }
    },

    init() {
      let saved = null;
      try {
        saved = window.sessionStorage.getItem(TOKEN_KEY);
      } catch (_err) {
        saved = null;
      }
      this.setToken(saved);
      $("#open-admin").addEventListener("click", () => {
        $("#admin").returnFocus = $("#open-admin");
        $("#admin").showModal();
        if (!this.token) $("#admin-token").focus();
        this.refresh().catch((err) => this.message(err.message, "error"));
      });
      $("#token-form").addEventListener("submit", (event) => {
        event.preventDefault();
        const value = $("#admin-token").value.trim();
        if (!value) {
          this.message("Enter the admin token first.", "error");
          $("#admin-token").focus();
          return;
        }
        this.setToken(value);
        this.message("Token set for this tab.", "ok");
      });
      $("#forget-token").addEventListener("click", () => {
        this.setToken(null);
        this.message("Token forgotten.", "info");
        $("#admin-token").focus();
      });
      $("#rebuild").addEventListener("click", () => this.rebuild());
      const input = $("#upload-files");
      input.addEventListener("change", () => {
        const files = [...input.files];
        input.value = "";
        if (files.length) this.upload(files);
      });
      const zone = $("#dropzone");
      for (const name of ["dragenter", "dragover"]) {
        zone.addEventListener(name, (event) => {
          event.preventDefault();
          zone.classList.add("dragging");
        });
      }
      for (const name of ["dragleave", "drop"]) {
        zone.addEventListener(name, () => zone.classList.remove("dragging"));
      }
      zone.addEventListener("drop", (event) => {
        event.preventDefault();
        const files = [...((event.dataTransfer && event.dataTransfer.files) || [])];
        if (files.length) this.upload(files);
      });
    },
  };

  /* ------------------------------------------------------------------ */
  /* Wiring                                                               */
  /* ------------------------------------------------------------------ */

  function initDialogs() {
    for (const dialog of document.querySelectorAll("dialog")) {
      dialog.addEventListener("close", () => {
        if (dialog.returnFocus && document.contains(dialog.returnFocus)) dialog.returnFocus.focus();
      });
      dialog.addEventListener("click", (event) => {
        if (event.target === dialog) dialog.close();
      });
    }
    for (const close of document.querySelectorAll("[data-close]")) {
      close.addEventListener("click", () => $(`#${close.dataset.close}`).close());
    }
  }

  function init() {
    const form = $("#ask-form");
    const input = $("#question");
    const askButton = $("#ask");
    const history = [];
    let pending = false;

    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      const question = input.value.trim();
      if (question === "" || pending) {
        input.focus();
        return;
      }
      pending = true;
      askButton.disabled = true;
      form.setAttribute("aria-busy", "true");
      input.value = "";
      const card = addExchange(question);
      const turn = { question };
      try {
        const data = await askStreaming(question, history.slice(-HISTORY_TURNS), card);
        Object.assign(turn, {
          rewritten_question: data.rewritten_question || null,
          answer: data.abstained ? null : data.answer,
          citations: Array.isArray(data.citations) ? data.citations : [],
          snapshot: data.snapshot || null,
        });
        fillAnswer(card, data, turn);
        history.push({
          question,
          answer: turn.answer,
          article_ids: [...new Set(turn.citations.map((c) => c.article_id))].slice(0, 10),
          rewritten_question: turn.rewritten_question,
        });
      } catch (err) {
        const message = err instanceof TypeError
          ? "Could not reach the service. Check that it is running and try again."
          : (err && err.message) || "Unknown error.";
        fillError(card, message, err && err.code);
        announce(`Error: ${message}`);
      } finally {
        pending = false;
        askButton.disabled = false;
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

    $("#new-chat").addEventListener("click", () => {
      history.length = 0;
      $("#conversation").replaceChildren();
      $("#welcome").hidden = false;
      announce("Started a new conversation.");
      input.focus();
    });

    for (const field of ["#published-after", "#published-before", "#source"]) {
      $(field).addEventListener("input", updateFiltersCount);
      $(field).addEventListener("change", updateFiltersCount);
    }
    $("#clear-filters").addEventListener("click", () => {
      $("#published-after").value = "";
      $("#published-before").value = "";
      $("#source").value = "";
      updateFiltersCount();
    });

    initDialogs();
    admin.init();
    checkReady();
    input.focus();
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", init);
  } else {
    init();
  }
})();
