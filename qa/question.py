"""The question stage: validate, make a follow-up standalone, type the question, and scope it in time."""

from __future__ import annotations

import re
from collections.abc import Callable

from core.config import Settings
from core.errors import InvalidQuestionError
from core.text import words
from index.analysis import STOPWORDS, stem
from index.retriever import SearchFilters
from qa import conversation, lexicon, temporal
from qa.records import AnswerMode, AnswerType, AskInput, Query, QuestionAnalysis

NAMED_CATEGORIES = lexicon.word_set("named_categories")
_MONEY_WORDS = lexicon.word_set("money_words")
_FILLER = lexicon.word_set("focus_fillers")
_AUX = lexicon.word_set("question_auxiliaries")
_PLACE_Q = re.compile(
    r"\b(what|which|in what|in which) (city|country|place|town|state|province|region|location)\b")
FOCUS_MAX_WORDS = 2  # head words kept after "which"/"what"/"how many" ("research centre", not more)
_QUESTION_WORDS = lexicon.word_set("wh_words")
_META_PATTERNS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("byline", re.compile(
        r"\b(who (wrote|authored|penned|reported)|author|written by|byline|reporter|writer)\b"
        r"|[谁誰](?:写|寫|撰)|撰稿|撰文|作者|记者|記者", re.I)),
    ("editor", re.compile(r"\b(who edited|edited by|editor)\b|[谁誰](?:编|編)|(?:编辑|編輯)是", re.I)),
    ("source_office", re.compile(
        r"\b(which|what) (office|department|unit)\b.*\b(publish|release|issue|post|source)", re.I)),
    ("date", re.compile(
        r"\b(when|what date|which date|what day)\b.*\b(article|story|news|report)\b.*"
        r"\b(published|posted|written|released|dated)\b", re.I)),
)


def analyze_question(text: str) -> QuestionAnalysis:
    """Rule-based question typing; good enough to pick a span type, cheap enough for every request."""
    lowered = text.lower().strip()
    tokens = words(lowered)
    meta = next((name for name, pattern in _META_PATTERNS if pattern.search(lowered)), None)
    wh_index = next((i for i, t in enumerate(tokens) if t in _QUESTION_WORDS - {"many", "much"}), None)
    wh = tokens[wh_index] if wh_index is not None else ""
    after = tokens[wh_index + 1:] if wh_index is not None else tokens
    answer_type, focus = _typed_by_question_word(wh, after, tokens, lowered)
    if wh == "":
        answer_type = _typed_without_question_word(answer_type, lowered)
    pairs: dict[str, str] = {}
    for word in tokens:
        if word not in STOPWORDS and stem(word) not in _QUESTION_STEMS:
            pairs.setdefault(stem(word), word)
    wants_name = answer_type in {AnswerType.PERSON, AnswerType.PLACE} or bool(set(focus) & NAMED_CATEGORIES)
    return QuestionAnalysis(text=text, answer_type=answer_type, focus=focus, terms=tuple(pairs), meta_field=meta,
                            surfaces=tuple(pairs.values()), wants_name=wants_name)


def _typed_by_question_word(wh: str, after: list[str], tokens: list[str],
                            lowered: str) -> tuple[AnswerType, tuple[str, ...]]:
    """The answer type and focus words that the question word and the words after it ask for."""
    if wh == "how" and after[:1] == ["many"]:
        return AnswerType.NUMBER, _first_noun(after[1:])
    if wh == "how" and after[:1] == ["much"]:
        money = _MONEY_WORDS & set(tokens) or "money" in tokens
        return (AnswerType.MONEY if money else AnswerType.NUMBER), _first_noun(after[1:])
    if wh == "how" and after[:1] and after[0] in {"old", "long", "far", "large", "big", "often", "tall"}:
        return AnswerType.NUMBER, ()
    if wh == "when" or re.search(r"\b(what|which|in what) (year|date|day|month|decade|century)\b", lowered):
        return AnswerType.DATE, ()
    if wh in {"who", "whom", "whose"}:
        return AnswerType.PERSON, ()
    if wh == "where" or _PLACE_Q.search(lowered):
        return AnswerType.PLACE, ()
    if wh not in {"what", "which"}:
        return AnswerType.ENTITY, ()
    focus = _first_noun(after)
    if _MONEY_WORDS & set(tokens) and re.search(
            r"\b(fee|cost|price|tuition|salary|budget|revenue|profit|sales|income|earnings)\b", lowered):
        return AnswerType.MONEY, focus
    if set(focus) & {"percentage", "percent", "number", "amount", "proportion", "share", "rate",
                     "population", "age", "height", "length", "size", "distance", "temperature"}:
        return AnswerType.NUMBER, focus
    if set(focus) & {"person", "man", "woman", "official", "scientist", "president", "leader", "player"}:
        return AnswerType.PERSON, focus
    return AnswerType.ENTITY, focus


def _typed_without_question_word(answer_type: AnswerType, lowered: str) -> AnswerType:
    """A request with no leading question word ("the venue of the forum", "tell me who ...") typed by its words."""
    if answer_type == AnswerType.ENTITY and re.search(r"\bwho\b", lowered):
        answer_type = AnswerType.PERSON
    if re.search(r"\b(location|venue|where|held at|place)\s*$", lowered):
        return AnswerType.PLACE
    if re.search(r"\b(date|when|year)\s*$", lowered):
        return AnswerType.DATE
    return answer_type


_QUESTION_STEMS = {stem(w) for w in _QUESTION_WORDS}


def _first_noun(tokens: list[str]) -> tuple[str, ...]:
    """The head words right after "which"/"what"/"how many" (up to two), skipping fillers like "kind of"."""
    found: list[str] = []
    if tokens[2:] and tokens[0] in {"is", "was", "are", "were"} and tokens[1] in {"the", "a", "an"}:
        tokens = tokens[2:]
    for tok in tokens:
        if tok in _AUX or (found and tok in STOPWORDS):
            break
        if tok in STOPWORDS or tok in _FILLER:
            continue
        found.append(tok)
        if len(found) == FOCUS_MAX_WORDS:
            break
    return tuple(found)


ArticleFinder = Callable[[str], str | None]
TitleLookup = conversation.TitleLookup


class QuestionStage:
    """Validates the question, rewrites a follow-up into a standalone question and types it.

    ``find_article`` names the article an earlier turn was about when the client sent only its text, so
    "that article" can be resolved without the client echoing citations.
    """

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.rewriter = conversation.get_rewriter(settings.question.rewriter, settings.question.turns)

    def validate(self, question: str) -> str:
        cleaned = " ".join(question.split())
        if not cleaned:
            raise InvalidQuestionError("the question is empty")
        if len(cleaned) > self.settings.question.max_chars:
            raise InvalidQuestionError(
                f"the question is {len(cleaned)} characters long; the limit is {self.settings.question.max_chars}")
        return cleaned

    def run(self, request: AskInput, default_mode: AnswerMode,
            find_article: ArticleFinder | None = None, title_of: TitleLookup | None = None) -> Query:
        asked = self.validate(request.question)
        rewrite = self.rewriter.rewrite(asked, list(request.history), find_article, title_of)
        text = self.validate(rewrite.question)
        filters = request.filters
        if rewrite.article_ids is not None and (filters is None or filters.article_ids is None):
            base = filters or SearchFilters()
            filters = SearchFilters(base.published_after, base.published_before, base.source, rewrite.article_ids)
        filters, prefer = temporal.scope(text, filters, request.as_of, self.settings.retrieval.recency_half_life_days,
                                         self.settings.retrieval.recency_weight)
        mode = AnswerMode(request.mode) if request.mode else default_mode
        k = min(request.top_k or self.settings.retrieval.default_top_k, self.settings.retrieval.max_top_k)
        return Query(request.question, text, analyze_question(text), mode, k, filters, prefer, request.as_of)


