"""Checks that a generated answer is supported: found verbatim in the passage it names, about the question."""

from __future__ import annotations

import re
from dataclasses import dataclass

from core.documents import Article
from core.text import sentence_spans
from service.reader import Evidence


@dataclass(frozen=True)
class Window:
    """A few consecutive sentences of one article, shown to the generator as one numbered passage."""

    article: Article
    start: int
    end: int

    @property
    def text(self) -> str:
        return self.article.text[self.start:self.end]

    def prompt_text(self, with_title: bool = False) -> str:
        """The window on one line; with its article's title and date first, which names the story for the model."""
        body = " ".join(self.text.split())
        if not with_title or not self.article.title or body.startswith(self.article.title):
            return body
        header = self.article.title + (f" ({self.article.date})" if self.article.date else "")
        return f"{header}: {body}"


def windows(evidence: list[Evidence], limit: int = 4, neighbours: int = 1) -> list[Window]:
    """The best evidence sentences with their neighbours, merged when they overlap."""
    out: list[Window] = []
    sentences: dict[str, list[tuple[int, int]]] = {}
    for ev in evidence:
        if len(out) >= limit:
            break
        if ev.article.id not in sentences:
            sentences[ev.article.id] = sentence_spans(ev.article.text)
        spans = sentences[ev.article.id]
        idx = next((i for i, (s, _) in enumerate(spans) if s == ev.start), None)
        if idx is None:
            start, end = ev.start, ev.end
        else:
            start = spans[max(0, idx - neighbours)][0]
            end = spans[min(len(spans) - 1, idx + neighbours)][1]
        merged = False
        for i, w in enumerate(out):
            if w.article.id == ev.article.id and start <= w.end and end >= w.start:
                out[i] = Window(w.article, min(w.start, start), max(w.end, end))
                merged = True
                break
        if not merged:
            out.append(Window(ev.article, start, end))
    return out


_NUMBER_WORDS = ("zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen "
                 "sixteen seventeen eighteen nineteen twenty").split()


def locate(answer: str, window: Window) -> tuple[int, int] | None:
    """Article offsets of ``answer`` inside the window, ignoring case, spacing and punctuation between words.

    A small number written in digits also matches its spelled-out form ("5" -> "five").
    """
    words = re.findall(r"\w+", answer)
    if not words:
        return None
    if len(words) == 1 and words[0].isdigit() and int(words[0]) < len(_NUMBER_WORDS):
        spelled = locate(_NUMBER_WORDS[int(words[0])], window)
        if spelled is not None and re.search(rf"(?<!\w){words[0]}(?!\w)", window.text) is None:
            return spelled
    pattern = r"(?<!\w)" + r"\W{0,3}".join(re.escape(w) for w in words) + r"(?!\w)"
    match = re.search(pattern, window.text, re.IGNORECASE)
    if match is None:
        return None
    return window.start + match.start(), window.start + match.end()


def sentence_around(article: Article, start: int, end: int) -> tuple[int, int]:
    for s, e in sentence_spans(article.text):
        if s <= start < e:
            return s, max(e, end)
    return start, end
