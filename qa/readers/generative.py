"""The generative reader: the language model reads the passages and copies its answer out of them.

Decoding is constrained to word-aligned spans of the passages it was shown (or NONE), so every generated
answer is a verbatim slice of an article by construction; the model's own probabilities travel on to the
decision.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass

from core.text import sentence_spans
from qa.generation.base import Generator
from qa.generation.constraint import SpanConstraint
from qa.generation.prompts import PromptPassage, reading_messages
from qa.records import Evidence, EvidenceSet, Generated, Passage, Piece, Query, Span, SpanGeneration


@dataclass(frozen=True)
class GenerativeConfig:
    max_tokens: int = 24  # longest answer the model may write (answers are short phrases)
    examples: bool = True  # show the worked examples (a cached prefix, so nearly free after the first request)
    best_last: bool = True  # the best passage goes last, next to the question: small models favour what they read last
    credits: bool = True  # show each shown article's credit lines (byline, editor, source office) as a passage


@dataclass(frozen=True)
class _Segment:
    """A piece of prompt text the answer may be copied from, and where it sits in its article."""

    passage: Passage
    start: int
    text: str


GeneratorProvider = Callable[[], Generator]
CREDIT_FIELDS = ("byline", "editor", "source_office")  # article metadata whose lines the model may copy from


class GenerativeReader:
    """Shows the evidence passages (with titles and dates) and reads the constrained answer back."""

    def __init__(self, provider: GeneratorProvider, config: GenerativeConfig | None = None) -> None:
        self.provider = provider
        self.config = config or GenerativeConfig()

    @staticmethod
    def _segments(passages: tuple[Passage, ...]) -> list[_Segment]:
        segments = []
        for p in passages:
            title = p.article.title
            at = p.article.text.find(title) if title else -1
            if title and at >= 0 and not (p.start <= at < p.end):
                segments.append(_Segment(p, at, title))
            segments.append(_Segment(p, p.start, p.text))
        return segments

    @staticmethod
    def _credits(passages: tuple[Passage, ...]) -> tuple[Passage, ...]:
        """One passage per shown article holding its credit lines ("Written by: ...", "Edited by: ...",
        "Source: ..."), where they lie outside what is shown: who wrote or published an article is asked about
        that article, but its credits sit at its end, far from the evidence sentences."""
        out: list[Passage] = []
        seen: set[str] = set()
        for p in passages:
            article = p.article
            if article.id in seen:
                continue
            seen.add(article.id)
            lines = sorted(_line_around(article.text, *article.metadata_spans[name])
                           for name in CREDIT_FIELDS if name in article.metadata_spans)
            lines = [(a, b) for a, b in dict.fromkeys(lines)
                     if not any(q.article.id == article.id and q.start <= a and b <= q.end for q in passages)]
            groups: list[tuple[int, int]] = []
            for a, b in lines:
                if groups and not article.text[groups[-1][1]:a].strip():
                    groups[-1] = (groups[-1][0], b)
                else:
                    groups.append((a, b))
            out += [Passage(article, a, b, p.rank) for a, b in groups]
        return tuple(out)

    def run(self, query: Query, evidence: EvidenceSet, rival: str | None = None) -> Generated:
        """The finished reading (``stream`` without its pieces)."""
        for item in self.stream(query, evidence, rival):
            if isinstance(item, Generated):
                return item
        raise RuntimeError("the generative reader ended without a result")

    def stream(self, query: Query, evidence: EvidenceSet, rival: str | None = None) -> Iterator[Piece | Generated]:
        """The reading's pieces, then the result; ``rival`` (the extractive answer) is also scored by the model
        when it differs from the generated one, so the decision can weigh both on the same scale."""
        passages = tuple(reversed(evidence.passages)) if self.config.best_last else evidence.passages
        if self.config.credits:
            passages = self._credits(passages) + passages
        segments = self._segments(passages)
        shown = [PromptPassage(p.article.title, p.article.date, p.text) for p in passages]
        messages = reading_messages(query.text, shown, query.as_of, self.config.examples)
        constraint = SpanConstraint([" ".join(s.text.split()) for s in segments])
        generation: SpanGeneration | None = None
        generator = self.provider()
        for item in generator.read(messages, constraint, self.config.max_tokens):
            if isinstance(item, SpanGeneration):
                generation = item
            else:
                yield item
        if generation is None:
            raise RuntimeError("the generator ended without a result")
        span, passage = self._locate(generation, segments, list(evidence.sentences))
        scores = None
        if rival and (span is None or rival.split() != span.text.split()):
            scores = generator.score(messages, rival)
        yield Generated(span, generation, passage, passages, scores)

    def _locate(self, generation: SpanGeneration, segments: list[_Segment],
                sentences: list[Evidence]) -> tuple[Span | None, Passage | None]:
        """The first passage position of the answer, mapped back to article offsets (white space was folded)."""
        if generation.text is None:
            return None, None
        for match in generation.matches:
            segment = segments[match.passage]
            located = _unfold(segment.text, match.start, match.end)
            if located is None:
                continue
            start, end = segment.start + located[0], segment.start + located[1]
            article = segment.passage.article
            if article.text[start:end].split() != generation.text.split():
                continue
            s_start, s_end = _sentence_around(article.text, start, end)
            support = next((ev for ev in sentences if ev.article.id == article.id and ev.start <= start < ev.end),
                           None)
            best_here = max((ev.dense for ev in sentences if ev.article.id == article.id), default=0.0)
            evidence = support or Evidence(article, s_start, s_end, segment.passage.rank, 0.0, best_here, 0.0)
            return Span(article, start, end, 1.0, evidence, "Generated, copied from the cited passage."), \
                segment.passage
        return None, None


def _unfold(original: str, start: int, end: int) -> tuple[int, int] | None:
    """Offsets in ``original`` of ``folded[start:end]``, where ``folded`` is ``original`` with white space runs
    made single spaces (the prompt shows passages on one line)."""
    folded_pos = 0
    mapping: list[int] = []
    in_space = False
    stripped_start = len(original) - len(original.lstrip())
    for i, ch in enumerate(original[stripped_start:], start=stripped_start):
        if ch.isspace():
            if not in_space:
                mapping.append(i)
                folded_pos += 1
            in_space = True
            continue
        in_space = False
        mapping.append(i)
        folded_pos += 1
    if end > len(mapping) or start >= end:
        return None
    return mapping[start], mapping[end - 1] + 1


def _line_around(text: str, start: int, end: int) -> tuple[int, int]:
    """The whole line of ``text`` holding ``start:end`` (a credit line with its label)."""
    line_start = text.rfind("\n", 0, start) + 1
    line_end = text.find("\n", end)
    return line_start, len(text) if line_end < 0 else line_end


def _sentence_around(text: str, start: int, end: int) -> tuple[int, int]:
    for s, e in sentence_spans(text):
        if s <= start < e:
            return s, max(e, end)
    return start, end
