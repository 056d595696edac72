// DOM and formatting helpers and the page's constants; API text goes in only as textContent, never as HTML.

export const ABSTAIN_TEXT = "Not found in the articles";
export const READY_POLL_MS = 2000;
export const JOB_POLL_MS = 500;
export const FEEDS_REFRESH_MS = 5000;
export const HISTORY_TURNS = 6;
export const TOKEN_KEY = "article-qa-admin-token";
export const CONTEXT_CHARS = 180;

export const $ = (selector) => document.querySelector(selector);
export const prefersReducedMotion = () =>
  window.matchMedia && window.matchMedia("(prefers-reduced-motion: reduce)").matches;

const HAN = /[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]/;

/** Create an element with optional class name and text (set via textContent); Chinese text is marked
 * lang="zh", so the browser picks a Chinese font and breaks lines by Chinese rules. */
export function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined && text !== null) {
    node.textContent = String(text);
    if (HAN.test(node.textContent)) node.lang = "zh";
  }
  return node;
}

export function button(className, text, label) {
  const node = el("button", className, text);
  node.type = "button";
  if (label) node.setAttribute("aria-label", label);
  return node;
}

export function announce(text) {
  const live = $("#live");
  live.textContent = "";
  window.setTimeout(() => { live.textContent = text; }, 30);
}

/* ------------------------------------------------------------------ */
/* Formatting helpers                                                  */
/* ------------------------------------------------------------------ */

export function percent(confidence) {
  const value = Number(confidence);
  if (!Number.isFinite(value)) return "–";
  return `${Math.round(Math.min(1, Math.max(0, value)) * 100)}%`;
}

/** The colour band for the API's confidence_label (the API owns the thresholds). */
export const CONFIDENCE_LEVELS = {
  "very likely right": "high",
  "likely right": "high",
  "may be right": "medium",
  "uncertain": "low",
};

/** A <time> element for an ISO date, or the word "undated". */
export function dateNode(date, className) {
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
export function safeHttpUrl(url) {
  if (typeof url !== "string" || url === "") return null;
  try {
    const parsed = new URL(url, window.location.href);
    return parsed.protocol === "http:" || parsed.protocol === "https:" ? parsed.href : null;
  } catch (_err) {
    return null;
  }
}

export function plural(n, word) {
  return `${n} ${word}${n === 1 ? "" : "s"}`;
}
