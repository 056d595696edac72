// Finding a cited span in a passage or article and marking it with <mark>.
import { CONTEXT_CHARS, el } from "./dom.js";

/** The UTF-16 index of code point offset `cp` (the API counts code points, JS strings count units). */
export function unitIndex(text, cp) {
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
export function locate(text, quote, approxStart, approxEnd) {
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
export function fillMarked(container, text, from, to, trim) {
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

export function renderHighlighted(container, citation, passages) {
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
