// Rendering of the article viewer and of each exchange: question, sources, draft, answer or error, feedback.
import { errorMessage } from "./api.js";
import {
  ABSTAIN_TEXT, CONFIDENCE_LEVELS, $, announce, button, dateNode, el, percent, prefersReducedMotion, safeHttpUrl,
} from "./dom.js";
import { fillMarked, locate, renderHighlighted, unitIndex } from "./highlight.js";

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

/** Date and source; a source with an http(s) URL (an article fetched from a feed) links to the original. */
export function renderMeta(item, dateClass, sourceClass) {
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
export function renderSources(card, passages) {
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
export function renderDraft(card, text, label) {
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

export function fillAnswer(card, data, turn) {
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

export function fillError(card, message, code) {
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

export function addExchange(question) {
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

export function showRewrite(card, rewritten) {
  if (!rewritten) return;
  const note = el("p", "rewritten");
  note.appendChild(el("span", "rewritten-label", "Understood as: "));
  note.appendChild(el("q", "rewritten-question", rewritten));
  card.parentElement.insertBefore(note, card);
}
