"""Follow-up questions made standalone from the conversation the client sends, so retrieval needs no memory."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from core.text import has_han, tokens
from qa import lexicon
from qa.records import Turn

WH_WORDS = lexicon.in_order("question_words")
AUX = lexicon.word_set("auxiliaries")
VERBS = lexicon.word_set("topic_verbs")
PREPOSITIONS = lexicon.word_set("prepositions")
CONNECTORS = lexicon.word_set("topic_connectors")
DETERMINERS = lexicon.word_set("determiners")
PERSONAL = lexicon.word_set("personal_pronouns")
ARTICLE_REF = re.compile(
    r"\b(?:that|this|the same|the previous|the last|the above|the cited)\s+(?:article|story|report|piece|news item)\b"
    r"|\bthe\s+(?:article|story|piece)\b(?!\s+(?:about|on|of|from|in)\b)"
    r"|(?:那篇|这篇|這篇)(?:文章|报道|報道|新闻|新聞)?|(?:该|該)(?:文章|报道|報道|新闻|新聞)",  # in Chinese
    re.IGNORECASE)
ELLIPSIS = re.compile(r"^\s*(?:and|but|so|also|what about|how about|and what about)\b[\s,]*(?P<rest>.*?)[\s?.!]*$",
                      re.IGNORECASE)
PRONOUN = re.compile(
    r"\b(?P<p>it|its|they|them|their|he|she|him|his|her|there|"
    r"(?:that|this)(?=\s*(?:[?.!,]|$|is\b|was\b|were\b|are\b|'s\b|happen|mean|take|start|end|begin)))\b",
    re.IGNORECASE)
EXISTENTIAL_THERE = re.compile(r"\b(?:is|are|was|were|be)\s+there\b|\bthere\s+(?:is|are|was|were|be)\b",
                               re.IGNORECASE)
NUMBERISH = re.compile(r"^[\d\s,.%$€£/-]+$|\b(?:19|20)\d\d\b|\b\d+\b")
PARTICIPLE_MIN_CHARS = 5  # a lower-case word ending in "-ed" this long or longer is read as a verb, not a noun
NAME_MAX_WORDS = 8  # a previous answer longer than this is a statement, not a person to refer back to


@dataclass(frozen=True)
class Rewrite:
    """The question to answer; ``article_ids`` narrows retrieval when the question points at a cited article."""

    question: str
    changed: bool = False
    article_ids: frozenset[str] | None = None
    why: list[str] = field(default_factory=list)


ArticleFinder = Callable[[str], str | None]
TitleLookup = Callable[[str], str | None]  # an article id's headline, for naming "that article" by its title


class QuestionRewriter(Protocol):
    def rewrite(self, question: str, history: Sequence[Turn], find_article: ArticleFinder | None = None,
                title_of: TitleLookup | None = None) -> Rewrite:
        ...


class NoRewriter:
    """Answers every question as asked (for clients that send standalone questions)."""

    def rewrite(self, question: str, history: Sequence[Turn], find_article: ArticleFinder | None = None,
                title_of: TitleLookup | None = None) -> Rewrite:
        return Rewrite(question)


def _wh(text: str) -> str | None:
    lowered = text.lower()
    return next((w for w in WH_WORDS if re.match(rf"{w}\b", lowered)), None)


def _strip_question(text: str) -> str:
    return re.sub(r"[\s?.!]+$", "", " ".join(text.split()))


def _ends_phrase(word: str, capital_start: bool) -> bool:
    """Whether ``word`` cannot continue a noun phrase: a verb, a preposition, or lower case after a name."""
    low = word.lower()
    if capital_start and not (word[0].isupper() or word[0].isdigit()):
        return True
    if low in AUX or low in VERBS or low in PREPOSITIONS or low == "and" or _wh(low):
        return True
    return low.endswith("ed") and word[0].islower() and len(low) >= PARTICIPLE_MIN_CHARS


def main_topic(question: str) -> str | None:
    """The question's main noun phrase, e.g. 'the Manchester joint centre' in 'When was the Manchester joint
    centre founded?', found with word-shape rules (determiners, capitals, verbs) rather than a parser."""
    stripped = _strip_question(question)
    found = tokens(stripped)
    words = [t for _, _, t in found]
    if not words:
        return None
    start = None
    for i, word in enumerate(words):
        low = word.lower()
        if low in DETERMINERS and i + 1 < len(words):
            start = i
            break
        if i > 0 and (word[0].isupper() or word[0].isdigit() and not NUMBERISH.fullmatch(word)) and low not in AUX:
            start = i
            break
    if start is None:
        return None
    capital_start = words[start].lower() not in DETERMINERS
    last = start
    i = start + 1
    while i < len(words):
        word, low = words[i], words[i].lower()
        nxt = words[i + 1] if i + 1 < len(words) else ""
        if low in CONNECTORS or (low == "and" and nxt and (nxt[0].isupper() or nxt.lower() in DETERMINERS)):
            if not nxt or nxt.lower() in AUX or nxt.lower() in VERBS:
                break
        elif not (low in DETERMINERS and words[last].lower() in CONNECTORS | {"and"}) \
                and _ends_phrase(word, capital_start):
            break
        last = i
        i += 1
    while last >= start and words[last].lower() in CONNECTORS | DETERMINERS | {"and"}:
        last -= 1
    if last < start or (last == start and words[start].lower() in DETERMINERS):
        return None
    return stripped[found[start][0]:found[last][1]]


def _mid_sentence(phrase: str) -> str:
    first, _, rest = phrase.partition(" ")
    return (first.lower() + (" " + rest if rest else "")) if first in {"The", "A", "An"} else phrase


def _looks_like_value(answer: str) -> bool:
    return bool(NUMBERISH.search(answer)) or len(answer.split()) > NAME_MAX_WORDS


def _possessive(phrase: str) -> str:
    return phrase + ("'" if phrase.endswith("s") else "'s")


class RuleRewriter:
    """Replaces pronouns, 'that article' and elliptical follow-ups ('and when?') with the previous topic.

    The previous turn's standalone question supplies the topic; for 'he/she/they' after a 'who' question,
    its answer does. Questions with none of these markers are left as they are.
    """

    def __init__(self, turns: int = 3) -> None:
        self.turns = turns

    def _antecedents(self, history: Sequence[Turn]) -> tuple[str | None, str | None, Turn | None]:
        for turn in reversed(history[-self.turns:]):
            topic = main_topic(turn.standalone)
            if topic:
                person = turn.answer if (turn.answer and _wh(turn.standalone) in {"who", "whom"}
                                         and not _looks_like_value(turn.answer)) else None
                return topic, person, turn
        last = history[-1] if history else None
        return None, None, last

    def rewrite(self, question: str, history: Sequence[Turn], find_article: ArticleFinder | None = None,
                title_of: TitleLookup | None = None) -> Rewrite:
        text = " ".join(question.split())
        if not history or not text:
            return Rewrite(text)
        topic, person, turn = self._antecedents(history)
        if turn is None:
            return Rewrite(text)
        why: list[str] = []
        result, article_ids = self._name_cited_article(text, turn, topic, find_article, title_of)
        if article_ids is not None:
            why.append("that article -> the previously cited article")

        completed = self._complete_ellipsis(result, turn, topic)
        if completed is not None:
            why.append("elliptical follow-up completed from the previous question")
            return Rewrite(completed, completed != text, article_ids, why)

        own = main_topic(result)
        own_at = result.find(own) if own else -1

        def substitute(match: re.Match[str]) -> str:
            word = match.group("p")
            low = word.lower()
            if 0 <= own_at < match.start():  # the question names its own subject before the pronoun
                return word
            if low == "there":
                if EXISTENTIAL_THERE.search(match.string[max(0, match.start() - 6):match.end() + 6]):
                    return word
                return f"at {_mid_sentence(topic)}" if topic else word
            antecedent = person if (low in PERSONAL and person) else topic
            if antecedent is None:
                return word
            possessive = low in {"its", "their", "his"} or (low == "her" and self._followed_by_noun(match))
            value = _possessive(antecedent) if possessive else antecedent
            return value if match.start() == 0 else _mid_sentence(value)

        replaced = PRONOUN.sub(substitute, result)
        if replaced != result:
            why.append("pronoun replaced by the previous topic")
            result = replaced
        if result and result[0].islower():
            result = result[0].upper() + result[1:]
        return Rewrite(result, result != text, article_ids, why)

    @staticmethod
    def _name_cited_article(text: str, turn: Turn, topic: str | None, find_article: ArticleFinder | None,
                            title_of: TitleLookup | None) -> tuple[str, frozenset[str] | None]:
        """'that article' becomes the previously cited article, by its headline where there is one."""
        cited = turn.article_ids
        if ARTICLE_REF.search(text) and not cited and find_article is not None:
            found = find_article(" ".join(filter(None, (turn.standalone, turn.answer))))
            cited = (found,) if found else ()
        reference = ARTICLE_REF.search(text)
        if reference is None or not cited:
            return text, None
        title = title_of(next(iter(cited))) if title_of is not None and len(set(cited)) == 1 else None
        about = (f'the article "{title}"' if title  # the headline is what the article's own passages match
                 else f"the article about {_mid_sentence(topic)}" if topic else "the article")
        if has_han(reference.group(0)):  # a Chinese question names it the Chinese way
            about = f"《{title}》" if title else reference.group(0)
        return ARTICLE_REF.sub(about, text, count=1), frozenset(cited)

    def _complete_ellipsis(self, text: str, turn: Turn, topic: str | None) -> str | None:
        """'and when?' or 'what about X?' completed from the previous question; None when it is not one."""
        ellipsis = ELLIPSIS.match(text)
        if not ellipsis or not topic or PRONOUN.search(ellipsis.group("rest")):
            return None
        rest = ellipsis.group("rest")
        previous = _strip_question(turn.standalone)
        wh_rest = _wh(rest)
        if not rest:
            return previous + "?"
        if wh_rest and len(rest.split()) <= len(wh_rest.split()) + 1:
            return self._ask_again(previous, rest, topic)
        if wh_rest:  # "and who edited the article?" is a whole question: only the "and" goes
            return f"{rest[:1].upper()}{rest[1:]}?"
        return previous.replace(topic, rest, 1) + "?" if topic in previous else f"{rest}?"

    @staticmethod
    def _followed_by_noun(match: re.Match[str]) -> bool:
        after = match.string[match.end():].split()
        return bool(after) and after[0].lower() not in PREPOSITIONS | AUX and after[0][0].isalpha()

    @staticmethod
    def _ask_again(previous: str, wh: str, topic: str) -> str:
        """'And when?' after 'Who founded X?' -> 'When was X founded?'-like: the new question word and the topic."""
        old = _wh(previous)
        if old:
            body = previous[len(old):].strip()
            first = body.split(" ", 1)[0].lower() if body else ""
            if first in AUX:
                return f"{wh[0].upper()}{wh[1:]} {body}?"
        return f"{wh[0].upper()}{wh[1:]} was {_mid_sentence(topic)}?"


REWRITERS: dict[str, Callable[[int], QuestionRewriter]] = {
    "rules": RuleRewriter,
    "none": lambda _turns: NoRewriter(),
}


def get_rewriter(name: str, turns: int = 3) -> QuestionRewriter:
    """The rewriter named in the settings; an LLM rewriter would register here too."""
    try:
        return REWRITERS[name](turns)
    except KeyError:
        raise ValueError(f"unknown conversation rewriter {name!r}; choose one of {sorted(REWRITERS)}") from None


def turns_from_messages(messages: Sequence[tuple[str, str]]) -> tuple[Turn, ...]:
    """Earlier turns from chat messages (``(role, content)``, oldest first): each user message with the
    assistant reply that follows it; system messages are ignored."""
    turns: list[Turn] = []
    question: str | None = None
    for role, content in messages:
        if role == "user":
            if question is not None:
                turns.append(Turn(question))
            question = content
        elif role == "assistant" and question is not None:
            turns.append(Turn(question, content or None))
            question = None
    if question is not None:
        turns.append(Turn(question))
    return tuple(turns)
