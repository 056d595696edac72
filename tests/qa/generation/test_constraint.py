"""Span-constrained decoding: only word-aligned slices of the passages (or NONE) can ever be written."""

from __future__ import annotations

import random

from hypothesis import given, settings
from hypothesis import strategies as st

from qa.generation.constraint import NONE, SpanConstraint, TokenIndex

PASSAGES = ["Netflix said “Squid Game” is coming back.", "A gallon of regular gas costs $5 on average."]
BYTES = TokenIndex([(i, bytes([i])) for i in range(256)] + [(300, b"Squid"), (301, b" Game"), (302, b"NONE"),
                                                            (303, b"$5"), (304, b" back."), (305, b"quid")])


def _pieces(ids: set[int]) -> set[bytes]:
    return {piece for piece, owners in BYTES.by_bytes.items() if set(owners) & ids}


def test_first_step_allows_word_starts_only() -> None:
    c = SpanConstraint(PASSAGES)
    allowed = _pieces(c.allowed(BYTES))
    assert {b"Squid", b"N", b"NONE", b"$5", b"$", b"A"} <= allowed
    assert b"quid" not in allowed and b" " not in allowed and b"q" not in allowed


def test_an_answer_ends_only_at_a_word_boundary_and_maps_back() -> None:
    c = SpanConstraint(PASSAGES)
    assert c.advance(b"Squid")
    assert c.can_stop()
    assert c.advance(b" Game")
    assert c.can_stop()
    [match] = c.matches()
    assert PASSAGES[match.passage][match.start:match.end] == "Squid Game"
    c.reset()
    assert c.advance(b"Squ") and not c.can_stop()


def test_text_outside_the_passages_is_refused() -> None:
    c = SpanConstraint(PASSAGES)
    assert not c.advance(b"quid")  # not a word start
    assert not c.advance(b"Squid Games")
    assert c.output == b""


def test_none_is_its_own_answer() -> None:
    c = SpanConstraint(PASSAGES)
    assert c.advance(NONE.encode()) and c.is_none and c.can_stop() and c.matches() == []
    assert NONE.encode() not in b"".join(_pieces(SpanConstraint(PASSAGES, allow_none=False).allowed(BYTES)))


def test_spans_do_not_run_across_passages() -> None:
    c = SpanConstraint(["alpha beta", "gamma delta"])
    assert c.advance(b"beta")
    assert not c.advance(b" gamma")


def test_grammar_starts_at_every_word_and_may_stop_before_punctuation() -> None:
    grammar = SpanConstraint(["one two", "three, four"]).gbnf()
    assert grammar.splitlines()[0] == 'root ::= "NONE" | a0 | a2 | a3 | a6'
    assert 'a0 ::= "one" (a1)?' in grammar and 'a1 ::= " " a2' in grammar and 'a2 ::= "two"' in grammar
    assert 'a3 ::= "three" (a4)?' in grammar and 'a4 ::= "," (a5)?' in grammar and 'a6 ::= "four"' in grammar


@settings(max_examples=60, deadline=None)
@given(st.lists(st.text(alphabet="ab c,.$é“”", min_size=1, max_size=30), min_size=1, max_size=3),
       st.integers(min_value=0, max_value=10_000))
def test_any_walk_through_the_allowed_tokens_is_a_slice_of_a_passage(passages: list[str], seed: int) -> None:
    """Property: whatever the model picks among the allowed tokens, the result is verbatim passage text."""
    rng = random.Random(seed)
    c = SpanConstraint(passages, allow_none=False)
    for _ in range(12):
        allowed = sorted(c.allowed(BYTES))
        if not allowed or (c.can_stop() and rng.random() < 0.3):
            break
        token = rng.choice(allowed)
        assert c.advance(BYTES_PIECES[token])
    if c.can_stop():
        for match in c.matches():
            assert passages[match.passage][match.start:match.end].encode() == c.output


BYTES_PIECES = {owner: piece for piece, owners in BYTES.by_bytes.items() for owner in owners}


def test_a_chinese_answer_may_start_and_end_at_any_character() -> None:
    """Chinese has no spaces: a span of a Chinese passage aligns to characters (and to whole numbers)."""
    passage = "中心建筑面积3600平方米，配备高仿真模拟人82台。"
    c = SpanConstraint([passage])
    assert c.advance("82台".encode()) and c.can_stop()
    [match] = c.matches()
    assert passage[match.start:match.end] == "82台"
    c.reset()
    assert c.advance("3600平方米".encode()) and c.can_stop()
    c.reset()
    assert not c.advance(b"600"), "a number is not cut inside"
