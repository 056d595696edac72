// The "Manage articles" panel: admin token, index status, rebuilds, feeds, uploads and deletions.
import { errorMessage, getJson } from "./api.js";
import { FEEDS_REFRESH_MS, JOB_POLL_MS, TOKEN_KEY, $, button, el, plural } from "./dom.js";
import { renderMeta } from "./render.js";
import { loadArticles, loadIndexInfo } from "./status.js";

export const admin = {
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

  /** Poll every feed and sitemap now instead of at its time; the panel shows the results as they come. */
  async pollFeeds() {
    try {
      const feeds = await this.call("POST", "/feeds/poll");
      this.message(`Checking ${plural(feeds.sources.length, "source")} now.`, "ok");
      window.setTimeout(() => this.refresh().catch(() => {}), JOB_POLL_MS);
    } catch (err) {
      if (err.status !== 401 && err.status !== 403) this.message(`Could not check the feeds: ${err.message}`, "error");
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
    $("#poll-feeds").addEventListener("click", () => this.pollFeeds());
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
