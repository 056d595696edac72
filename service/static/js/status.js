// The readiness line, the footer's index info, the list of sources and the filters.
import { getJson } from "./api.js";
import { READY_POLL_MS, $, el, plural } from "./dom.js";

export function currentFilters() {
  const filters = {};
  const after = $("#published-after").value.trim();
  const before = $("#published-before").value.trim();
  const source = $("#source").value.trim();
  if (after) filters.published_after = after;
  if (before) filters.published_before = before;
  if (source) filters.source = source;
  return filters;
}

function setStatus(state, text) {
  const status = $("#status");
  status.dataset.state = state;
  status.querySelector(".status-text").textContent = text;
}

export async function loadIndexInfo() {
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

export async function loadArticles() {
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

export async function checkReady() {
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

export function updateFiltersCount() {
  const n = Object.keys(currentFilters()).length;
  $("#filters-count").textContent = n > 0 ? `(${n} active)` : "";
}
