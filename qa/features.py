"""The features the decision weighs, computed from the stages' records (one place, so no stage reads another's
internals to score a candidate)."""

from __future__ import annotations

import math
import re
from collections.abc import Sequence

from core.text import (
    DAY_MONTH,
    FULL_DATE,
    HAN,
    MONEY,
    MONTH_YEAR,
    NUMBER,
    WEEKDAY,
    YEAR,
    ZH_MONEY,
    ZH_MONTH_DAY,
    ZH_MONTH_YEAR,
    ZH_NUMERAL,
    ZH_YEAR,
    split_compound,
    tokens,
)
from index.analysis import analyze, stem
from index.retriever import ScoredChunk
from qa.records import AnswerType, QuestionAnalysis, Span


def retrieval_features(hits: Sequence[ScoredChunk]) -> dict[str, float]:
    dense = sorted(((h.dense_score or 0.0), h.article.id) for h in hits)[::-1]
    top = dense[0][0] if dense else 0.0
    other = next((d for d, a in dense if a != dense[0][1]), 0.0) if dense else 0.0
    lexical = max(((h.lexical_score or 0.0) for h in hits), default=0.0)
    return {"top_dense": top, "dense_margin": top - other, "lexical_top": math.log1p(lexical)}


def _same_answer(a: str, b: str) -> bool:
    """Two answers agree when one's words contain the other's ("Ford" and "Ford Motor Co")."""
    wa, wb = analyze(a), analyze(b)
    if not wa or not wb:
        return False
    short, long = (wa, wb) if len(wa) <= len(wb) else (wb, wa)
    return any(long[i:i + len(short)] == short for i in range(len(long) - len(short) + 1))


def agree(a: Span | None, b: Span | None) -> bool:
    if a is None or b is None:
        return False
    overlap = a.article.id == b.article.id and a.start < b.end and b.start < a.end
    return overlap or _same_answer(a.text, b.text)


def likelihood(first: float, total: float, least: float, tokens: int) -> dict[str, float]:
    """The model's own probabilities of one candidate's tokens, as decision features."""
    return {"first_prob": math.exp(first), "mean_logprob": total / max(1, tokens), "min_prob": math.exp(least)}


def type_fit(analysis: QuestionAnalysis, answer: str) -> float:
    """1 when ``answer`` has the shape the question expects (a date for "when", a number for "how many", a name
    for "who"), 0 when it has not, 0.5 when the question expects nothing in particular."""
    kind = analysis.answer_type
    if kind == AnswerType.DATE:
        return float(any(p.search(answer) for p in _DATES) or bool(_RELATIVE_TIME.search(answer)))
    if kind == AnswerType.MONEY:
        return 1.0 if MONEY.search(answer) or ZH_MONEY.search(answer) else 0.5 if NUMBER.search(answer) else 0.0
    if kind == AnswerType.NUMBER:
        return float(bool(NUMBER.search(answer) or ZH_NUMERAL.search(answer)))
    if kind in {AnswerType.PERSON, AnswerType.PLACE}:
        first = answer.strip("“”\"'( ")[:1]
        return 0.5 if HAN.fullmatch(first) else float(first.isupper())  # a Chinese name has no capital to read
    return 0.5


_DATES = (FULL_DATE, MONTH_YEAR, DAY_MONTH, YEAR, WEEKDAY, ZH_MONTH_YEAR, ZH_YEAR, ZH_MONTH_DAY)
_RELATIVE_TIME = re.compile(r"\b(today|yesterday|tomorrow|tonight|week|month|year|decade|century|spring|summer|"
                            r"autumn|fall|winter|morning|evening|night)\b", re.I)


def asked_field(question: QuestionAnalysis, span: Span) -> dict[str, float]:
    """Whether a candidate is the article line the question asks for ("Who edited ...?": the editor line);
    both 0 when the question asks for no such line or the cited article has none."""
    line = span.article.metadata_spans.get(question.meta_field) if question.meta_field else None
    if line is None:
        return {"field_value": 0.0, "field_elsewhere": 0.0}
    inside = span.start < line[1] and line[0] < span.end
    return {"field_value": float(inside), "field_elsewhere": float(not inside)}


FOCUS_AFTER_CHARS = 40  # how far after a number its noun is looked for ("1,300 ... staff")
FOCUS_AFTER_TOKENS = 3  # ... in at most this many words


def focus_stems_after(question: QuestionAnalysis, text: str, chars: int = FOCUS_AFTER_CHARS,
                      words: int = FOCUS_AFTER_TOKENS) -> set[str]:
    """The question's focus stems among the first words of ``text`` (what follows a candidate number)."""
    after = [w for _, _, w in tokens(text[:chars])][:words]
    return {stem(part) for w in after for part in split_compound(w)} & set(question.focus_stems)


def counted_focus(question: QuestionAnalysis, span: Span) -> dict[str, float]:
    """For "how many <noun>" and amounts: the share of the question's focus words right after the candidate's
    number ("1,300 ... staff" for "how many staff", not "52,000 graduates"); 0 for other questions."""
    if question.answer_type not in {AnswerType.NUMBER, AnswerType.MONEY} or not question.focus_stems:
        return {"focus_after": 0.0}
    number = NUMBER.search(span.text)
    found = focus_stems_after(question, span.article.text[span.start + number.end() if number else span.end:])
    return {"focus_after": len(found) / len(set(question.focus_stems))}


def focus_missing(question: QuestionAnalysis, text: str) -> bool:
    """True when the question names a focus word ("which hospital") that ``text`` does not contain."""
    focus = set(question.focus_stems)
    return bool(focus) and not (focus & set(analyze(text)))
