// Asking over /ask/stream: reading the server-sent events and filling the answer card as they arrive.
import { errorMessage } from "./api.js";
import { $ } from "./dom.js";
import { renderDraft, renderSources, showRewrite } from "./render.js";
import { currentFilters } from "./status.js";

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
export async function askStreaming(question, history, card) {
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
