"""The chat API's assistant message: the answer with numbered references and a Sources footer, so a plain chat
client keeps the citations; and the way back from such a message to its answer and cited articles, so that a
follow-up is answered from the right article when the client sends only the text of earlier messages.

Article text in the message is one line of literal Markdown (links, images, code and HTML escaped): chat UIs
render Markdown and the articles are untrusted. The extension field of the response carries it verbatim.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

from qa import conversation
from qa.records import Answer, Citation, Turn

QUOTE_CHARS = 300  # longest quote shown in a message's Sources footer (the extension field has it whole)
NOT_IN_ARTICLES = "The articles do not hold the answer"
SOURCES_HEADING = "Sources:"
_MARKDOWN = re.compile(r"([\\`*_\[\]<>])")
_ESCAPED = re.compile(r"\\([\\`*_\[\]<>])")
_FOOTER = re.compile(rf"\n[ \t]*\n[ \t]*{SOURCES_HEADING}[ \t]*\n")
_REFERENCES = re.compile(r"(?:\s*\[\d+\])+\s*$")
_SOURCE_LINE = re.compile(r"^\[\d+\] .*?, article (?P<id>[a-z0-9][a-z0-9-]*)(?:, \S+)?: ", re.MULTILINE)
_PLAIN_URL = re.compile(r"^https?://[^\s<>\[\]()\"'`]+$")


def markdown_literal(text: str) -> str:
    """``text`` on one line, with the characters that make Markdown links, images, emphasis, code or HTML escaped."""
    return _MARKDOWN.sub(r"\\\1", " ".join(text.split()))


def _shorten(text: str, limit: int = QUOTE_CHARS) -> str:
    text = " ".join(text.split())
    if len(text) <= limit:
        return text
    cut = text.rfind(" ", 0, limit)
    return text[:cut if cut > limit // 2 else limit].rstrip(" ,;:") + " …"


@dataclass(frozen=True)
class AssistantMessage:
    """The message in two parts, streamed one after the other: the answer (or abstention) and the Sources footer."""

    body: str
    footer: str = ""

    @property
    def text(self) -> str:
        return self.body + self.footer


def source_line(number: int, citation: Citation) -> str:
    """``[1] Title (2021-01-11), article <id>, <url>: "quote"``; the id lets a later request find the article."""
    dated = f" ({citation.date})" if citation.date else ""
    url = citation.url or ""
    link = f", {url}" if _PLAIN_URL.match(url) else ""
    quote = markdown_literal(_shorten(citation.quote))
    return f'[{number}] {markdown_literal(citation.title)}{dated}, article {citation.article_id}{link}: "{quote}"'


def compose(answer: Answer) -> AssistantMessage:
    """The answer followed by its reference numbers and a Sources footer, or a plain sentence that the articles
    do not hold the answer (naming the standalone question when a follow-up was rewritten)."""
    if answer.abstained or answer.answer is None or not answer.citations:
        understood = answer.rewritten_question
        about = f' (understood as "{markdown_literal(understood)}")' if understood else ""
        return AssistantMessage(f"{NOT_IN_ARTICLES} to this question{about}.")
    references = "".join(f"[{n}]" for n in range(1, len(answer.citations) + 1))
    lines = [source_line(n, c) for n, c in enumerate(answer.citations, 1)]
    return AssistantMessage(f"{markdown_literal(answer.answer)} {references}",
                            f"\n\n{SOURCES_HEADING}\n" + "\n".join(lines))


@dataclass(frozen=True)
class Reply:
    """What an earlier assistant message said: the plain answer (None for an abstention) and the cited articles."""

    answer: str | None
    article_ids: tuple[str, ...] = ()


def read_reply(text: str) -> Reply:
    """An earlier assistant message read back; a message this API did not write is taken as its whole text."""
    parts = _FOOTER.split(text, maxsplit=1)
    body = parts[0].strip()
    if body.startswith(NOT_IN_ARTICLES):
        return Reply(None)
    if len(parts) == 1:
        return Reply(body or None)
    ids = tuple(dict.fromkeys(m.group("id") for m in _SOURCE_LINE.finditer(parts[1])))
    answer = _ESCAPED.sub(r"\1", _REFERENCES.sub("", body)).strip()
    return Reply(answer or None, ids)


def history(messages: Sequence[tuple[str, str]], known: Callable[[str], bool]) -> tuple[Turn, ...]:
    """Earlier turns from chat messages (``(role, text)``, oldest first), paired as the answering stages pair
    them, with each assistant reply read back into its plain answer and the articles it cited that ``known``
    still holds."""
    turns = conversation.turns_from_messages(messages)
    return tuple(_read_back(turn, known) for turn in turns)


def _read_back(turn: Turn, known: Callable[[str], bool]) -> Turn:
    if turn.answer is None:
        return turn
    reply = read_reply(turn.answer)
    return replace(turn, answer=reply.answer, article_ids=tuple(i for i in reply.article_ids if known(i)))
