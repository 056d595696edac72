"""What a question asks for: the expected answer type, its focus word and its content terms."""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

from core.text import words
from index.analysis import STOPWORDS, stem


class AnswerType(StrEnum):
    DATE = "date"
    NUMBER = "number"
    MONEY = "money"
    PERSON = "person"
    PLACE = "place"
    ENTITY = "entity"


NAMED_CATEGORIES = frozenset("""
    show shows series movie movies film films song album book novel play musical company companies firm firms brand
    retailer airline airlines automaker carmaker bank network channel app platform website site country countries
    nation nations state states city cities continent island islands region province county town team teams club
    player singer rapper band artist actor actress musician athlete politician senator governor leader
    organization agency party university park river mountain volcano storm hurricane award awards festival
    tournament league product drug vaccine virus variant car airport stadium restaurant chain newspaper magazine
    candidate official minister ceo billionaire celebrity star language religion species animal ship spacecraft
    telescope mission court lawmaker lawmakers group""".split())
_MONEY_WORDS = {"revenue", "revenues", "profit", "profits", "sales", "income", "earnings",
                "fee", "fees", "cost", "costs", "price", "prices", "tuition", "salary", "budget", "worth",
                "funding", "paid", "pay", "spend", "spent", "raise", "raised", "invest", "invested", "fine"}
_FILLER = {"kind", "kinds", "type", "types", "sort", "sorts", "name", "names", "one", "ones"}
_AUX = {"is", "was", "are", "were", "do", "does", "did", "has", "have", "had", "will", "would", "can",
        "could", "should", "might", "may"}
_PLACE_Q = re.compile(
    r"\b(what|which|in what|in which) (city|country|place|town|state|province|region|location)\b")
_QUESTION_WORDS = {"what", "which", "who", "whom", "whose", "when", "where", "why", "how", "many", "much"}
_META_PATTERNS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("byline", re.compile(
        r"\b(who (wrote|authored|penned|reported)|author|written by|byline|reporter|writer)\b", re.I)),
    ("editor", re.compile(r"\b(who edited|edited by|editor)\b", re.I)),
    ("source_office", re.compile(
        r"\b(which|what) (office|department|unit)\b.*\b(publish|release|issue|post|source)", re.I)),
    ("date", re.compile(
        r"\b(when|what date|which date|what day)\b.*\b(article|story|news|report)\b.*"
        r"\b(published|posted|written|released|dated)\b", re.I)),
)


@dataclass(frozen=True)
class Question:
    text: str
    answer_type: AnswerType
    focus: tuple[str, ...]
    terms: tuple[str, ...]
    meta_field: str | None = None
    surfaces: tuple[str, ...] = ()

    @property
    def wants_name(self) -> bool:
        """True when the answer is a proper name: who/where, or "which country", "what company", ..."""
        return self.answer_type in {AnswerType.PERSON, AnswerType.PLACE} or bool(set(self.focus) & NAMED_CATEGORIES)

    @property
    def focus_stems(self) -> tuple[str, ...]:
        return tuple(stem(f) for f in self.focus)


def analyze_question(text: str) -> Question:
    """Rule-based question typing; good enough to pick a span type, cheap enough for every request."""
    lowered = text.lower().strip()
    tokens = words(lowered)
    meta = next((name for name, pattern in _META_PATTERNS if pattern.search(lowered)), None)
    focus: tuple[str, ...] = ()
    answer_type = AnswerType.ENTITY
    wh_index = next((i for i, t in enumerate(tokens) if t in _QUESTION_WORDS - {"many", "much"}), None)
    wh = tokens[wh_index] if wh_index is not None else ""
    after = tokens[wh_index + 1:] if wh_index is not None else tokens

    if wh == "how" and after[:1] == ["many"]:
        answer_type, focus = AnswerType.NUMBER, _first_noun(after[1:])
    elif wh == "how" and after[:1] == ["much"]:
        answer_type = AnswerType.MONEY if _MONEY_WORDS & set(tokens) or "money" in tokens else AnswerType.NUMBER
        focus = _first_noun(after[1:])
    elif wh == "how" and after[:1] and after[0] in {"old", "long", "far", "large", "big", "often", "tall"}:
        answer_type = AnswerType.NUMBER
    elif wh == "when" or re.search(r"\b(what|which|in what) (year|date|day|month|decade|century)\b", lowered):
        answer_type = AnswerType.DATE
    elif wh in {"who", "whom", "whose"}:
        answer_type = AnswerType.PERSON
    elif wh == "where" or _PLACE_Q.search(lowered):
        answer_type = AnswerType.PLACE
    elif wh in {"what", "which"}:
        focus = _first_noun(after)
        if _MONEY_WORDS & set(tokens) and re.search(
                r"\b(fee|cost|price|tuition|salary|budget|revenue|profit|sales|income|earnings)\b", lowered):
            answer_type = AnswerType.MONEY
        elif set(focus) & {"percentage", "percent", "number", "amount", "proportion", "share", "rate",
                                "population", "age", "height", "length", "size", "distance", "temperature"}:
            answer_type = AnswerType.NUMBER
        elif set(focus) & {"person", "man", "woman", "official", "scientist", "president", "leader", "player"}:
            answer_type = AnswerType.PERSON
    if answer_type == AnswerType.ENTITY and re.search(r"\bwho\b", lowered) and wh == "":
        answer_type = AnswerType.PERSON
    if wh == "" and re.search(r"\b(location|venue|where|held at|place)\s*$", lowered):
        answer_type = AnswerType.PLACE
    elif wh == "" and re.search(r"\b(date|when|year)\s*$", lowered):
        answer_type = AnswerType.DATE
    pairs: dict[str, str] = {}
    for word in tokens:
        if word not in STOPWORDS and stem(word) not in _QUESTION_STEMS:
            pairs.setdefault(stem(word), word)
    return Question(text=text, answer_type=answer_type, focus=focus, terms=tuple(pairs), meta_field=meta,
                    surfaces=tuple(pairs.values()))


_QUESTION_STEMS = {stem(w) for w in _QUESTION_WORDS}


def _first_noun(tokens: list[str]) -> tuple[str, ...]:
    """The head words right after "which"/"what"/"how many" (up to two), skipping fillers like "kind of"."""
    found: list[str] = []
    if len(tokens) > 2 and tokens[0] in {"is", "was", "are", "were"} and tokens[1] in {"the", "a", "an"}:
        tokens = tokens[2:]
    for tok in tokens:
        if tok in _AUX or (found and tok in STOPWORDS):
            break
        if tok in STOPWORDS or tok in _FILLER:
            continue
        found.append(tok)
        if len(found) == 2:
            break
    return tuple(found)
