"""The generative reader: a fake generator for the mapping back to articles, the real one for the behaviour."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from core.documents import Article
from qa.generation.base import Generator, finish
from qa.generation.constraint import NONE, SpanConstraint
from qa.generation.prompts import PromptPassage, reading_messages
from qa.pipeline import AnswerPipeline
from qa.question import analyze_question
from qa.readers.generative import GenerativeReader, _unfold
from qa.records import AnswerMode, EvidenceSet, Passage, Piece, Query, SpanGeneration
from tests.conftest import needs_generator

TEXT = ("Hospital news\n\nThe China-UK training program  of clinical genomics has been held\nfor five rounds at "
        "PKU First Hospital. It trains doctors.")
ARTICLE = Article("a1", "Hospital news", TEXT, "a1.txt", "h", "2021-01-11")


class Scripted(Generator):
    """Writes a fixed answer through the constraint, as a model would, so the mapping can be checked."""

    def __init__(self, answer: str) -> None:
        self.answer = answer
        self.seen: list[list[dict[str, str]]] = []

    def read(self, messages: list[dict[str, str]], constraint: SpanConstraint,
             max_tokens: int) -> Iterator[Piece | SpanGeneration]:
        self.seen.append(messages)
        constraint.reset()
        for word in self.answer.split(" "):
            piece = (" " if constraint.output else "") + word
            assert constraint.advance(piece.encode()), piece
            yield Piece(piece)
        said_none = constraint.is_none
        yield SpanGeneration(None if said_none else self.answer, tuple(constraint.matches()), none_logprob=-3.0,
                             span_logprob=-0.5, first_logprob=-0.1, min_logprob=-0.3, allowed_mass=0.9,
                             tokens=len(self.answer.split()))

    def complete(self, messages: list[dict[str, str]], max_tokens: int) -> str:
        return self.answer


def _query(text: str) -> Query:
    return Query(text, text, analyze_question(text), AnswerMode.GENERATIVE, 5)


def _evidence(*passages: Passage) -> EvidenceSet:
    return EvidenceSet((), (), passages)


def test_unfold_maps_folded_offsets_back_to_the_original() -> None:
    original = "  a  b\n\nc d"
    folded = " ".join(original.split())
    start = folded.index("b c")
    assert _unfold(original, start, start + 3) == (5, 9)
    assert original[5:9].split() == ["b", "c"]


def test_a_copied_answer_maps_to_exact_article_offsets_across_folded_white_space() -> None:
    passage = Passage(ARTICLE, TEXT.index("The China"), len(TEXT), 1)
    generator = Scripted("five rounds at PKU First Hospital")
    items = list(GenerativeReader(lambda: generator).stream(_query("Where was it held?"), _evidence(passage)))
    generated = items[-1]
    assert [i.text for i in items[:-1] if isinstance(i, Piece)][0] == "five"
    span = generated.span  # type: ignore[union-attr]
    assert span is not None and span.text == "five rounds at PKU First Hospital"
    assert ARTICLE.text[span.start:span.end] == span.text
    assert span.evidence.start <= span.start < span.evidence.end


def test_the_title_can_be_copied_and_cites_the_title_line() -> None:
    passage = Passage(ARTICLE, TEXT.index("The China"), len(TEXT), 1)
    generated = list(GenerativeReader(lambda: Scripted("Hospital news")).stream(_query("What is the title?"),
                                                                               _evidence(passage)))[-1]
    span = generated.span  # type: ignore[union-attr]
    assert span is not None and (span.start, span.end) == (0, len("Hospital news"))


def test_none_gives_no_span_and_the_prompt_shows_titles_dates_and_the_day() -> None:
    passage = Passage(ARTICLE, TEXT.index("The China"), len(TEXT), 1)
    generator = Scripted(NONE)
    query = Query("q", "Who won?", analyze_question("Who won?"), AnswerMode.GENERATIVE, 5,
                  as_of=__import__("datetime").date(2022, 6, 16))
    generated = GenerativeReader(lambda: generator).run(query, _evidence(passage))
    assert generated.span is None and generated.generation.said_none
    prompt = generator.seen[0][-1]["content"]
    assert "Hospital news (2021-01-11):" in prompt and "Today is 2022-06-16." in prompt


def test_the_best_passage_is_shown_last() -> None:
    first = Passage(ARTICLE, TEXT.index("The China"), TEXT.index(" It trains"), 1)
    second = Passage(ARTICLE, TEXT.index("It trains"), len(TEXT), 2)
    generator = Scripted("doctors")
    list(GenerativeReader(lambda: generator).stream(_query("Who is trained?"), _evidence(first, second)))
    prompt = generator.seen[0][-1]["content"]
    assert prompt.index("It trains doctors.") < prompt.index("The China-UK")


@needs_generator
def test_the_real_model_copies_verbatim_or_says_none(generative: AnswerPipeline) -> None:
    generator = generative.generative.provider()  # type: ignore[union-attr]
    shown = [PromptPassage("Storm news", "2023-11-14", "Officials said 1,200 homes lost power on Tuesday.")]
    constraint = SpanConstraint([shown[0].body])
    answer = finish(generator.read(reading_messages("How many homes lost power?", shown), constraint, 12))
    assert answer.text is not None and answer.text in shown[0].body
    assert answer.tokens >= 1 and np.isfinite(answer.span_logprob) and 0.0 < answer.allowed_mass <= 1.0
    unrelated = finish(generator.read(reading_messages("Who won the 2022 football World Cup?", shown),
                                      SpanConstraint([shown[0].body]), 12))
    assert unrelated.text is None or unrelated.text in shown[0].body
    assert unrelated.none_logprob > answer.none_logprob
