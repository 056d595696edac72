"""The grounding stage: every answer shown is a verbatim slice of an article and sits inside the quote it cites.

With span-constrained decoding this holds by construction; the stage stays as a safety assertion (a violation
is a bug, logged and turned into an abstention, never shown) and refuses answers that only repeat the question.
It also builds the citation: the sentence holding the answer, as exact article offsets.
"""

from __future__ import annotations

import logging
import re

from core.text import tokens
from qa import lexicon
from qa.records import Citation, Grounded, Query, Reading, Span

log = logging.getLogger(__name__)


class GroundingStage:
    """Checks one candidate answer against its article and cites it; each candidate is checked once."""

    def run(self, query: Query, span: Span | None) -> Grounded:
        question = query.text
        if span is None:
            return Grounded(None, None, "no answer")
        article, ev = span.article, span.evidence
        text = article.text[span.start:span.end]
        start, end = min(ev.start, span.start), max(ev.end, span.end)
        quote = article.text[start:end]
        if not text.strip() or text not in quote:
            log.error("grounding violation: %r is not inside its quote in %s", text, article.id)
            return Grounded(None, None, "not a verbatim slice of the cited passage")
        if _repeats(text, question):
            return Grounded(None, None, "repeats the question")
        citation = Citation(article.id, article.title, article.date, article.source, article.url, quote, start, end)
        return Grounded(span, citation)


def keep_if_grounded(reading: Reading, grounded: Grounded) -> Reading:
    """The reading with its span dropped when grounding refused it (say, it only repeats the question)."""
    if reading.span is None or grounded.span is not None:
        return reading
    return Reading(None, reading.score, f"The candidate answer {grounded.failure}.")


def _repeats(answer: str, question: str) -> bool:
    """True when every word of the answer already appears, in order, in the question."""
    a = [t.lower() for _, _, t in tokens(answer)]
    q = [t.lower() for _, _, t in tokens(question)]
    return bool(a) and any(q[i:i + len(a)] == a for i in range(len(q) - len(a) + 1))


_NUMBER_WORDS = lexicon.in_order("number_words")


def locate(answer: str, text: str) -> tuple[int, int] | None:
    """Offsets of ``answer`` in ``text``, ignoring case, spacing and punctuation between words.

    Used for backends that cannot constrain their decoding: a free answer counts only where it is found.
    A small number written in digits also matches its spelled-out form ("5" -> "five").
    """
    words = [t for _, _, t in tokens(answer)]
    if not words:
        return None
    if len(words) == 1 and words[0].isdigit() and int(words[0]) < len(_NUMBER_WORDS) \
            and re.search(rf"(?<!\w){words[0]}(?!\w)", text) is None:
        spelled = locate(_NUMBER_WORDS[int(words[0])], text)
        if spelled is not None:
            return spelled
    pattern = r"(?<!\w)" + r"\W{0,3}".join(re.escape(w) for w in words) + r"(?!\w)"
    match = re.search(pattern, text, re.IGNORECASE)
    return (match.start(), match.end()) if match else None
