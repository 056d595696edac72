// Entry point of the chat page (loaded as a module, so deferred): dialogs, the question form and start-up.
import { admin } from "./admin.js";
import { HISTORY_TURNS, $, announce } from "./dom.js";
import { addExchange, fillAnswer, fillError } from "./render.js";
import { checkReady, updateFiltersCount } from "./status.js";
import { askStreaming } from "./stream.js";

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
