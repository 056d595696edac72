"""The question stage: validate, make a follow-up standalone, type the question, and scope it in time."""

from __future__ import annotations

import re
from collections.abc import Callable

from core.config import Settings
from core.errors import InvalidQuestionError
from core.text import ZH_MEASURE_WORDS, has_han, words
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
# A Chinese question's answer type from its question word, tried in order (money before the bare 多少 of a count;
# 哪年, 几月 before 几 of a count). 谁 and 哪里 stay untyped: the person and place shapes are read from English
# capitalisation, which Chinese names do not have.
_ZH_TYPES: tuple[tuple[AnswerType, re.Pattern[str]], ...] = (
    (AnswerType.MONEY, re.compile(
        r"多少(?:钱|錢|资金|資金|经费|經費|费用|費用)|(?:投资|投資|投入|金额|金額|花费|花費|耗资|耗資|拨款|撥款|捐款|捐赠|捐贈)"
        r"[^？?]{0,12}(?:多少|几何|幾何)")),
    (AnswerType.DATE, re.compile(
        r"什么时候|什麼時候|何时|何時|几时|幾時|哪一?年|哪一?天|哪一?日|哪个月|哪個月|几月|幾月|几号|幾號"
        r"|(?:什么|什麼|哪个|哪個)(?:日期|时间|時間|年份)")),
    (AnswerType.NUMBER, re.compile(r"多少|几(?=[^\W\d_])|幾(?=[^\W\d_])|多大|多长|多長|多高|多远|多遠|多重|多久")),
)
_ZH_COUNTED = re.compile(rf"(?:多少|几|幾)({ZH_MEASURE_WORDS})")


def _typed_in_chinese(text: str) -> tuple[AnswerType, tuple[str, ...]] | None:
    """The answer type of a question asked in Chinese, and for a count the first character of what is counted
    ("多少台" -> 台), which follows the number in the answer ("82台")."""
    if not has_han(text):
        return None
    kind = next((kind for kind, pattern in _ZH_TYPES if pattern.search(text)), None)
    if kind is None:
        return None
    counted = _ZH_COUNTED.search(text) if kind == AnswerType.NUMBER else None
    return kind, (counted.group(1)[:1],) if counted else ()


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
        answer_type, focus = _typed_in_chinese(text) or (answer_type, focus)
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


