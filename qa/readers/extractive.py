"""The extractive reader: the supporting sentence and the typed span inside it, by rules over measurable signals.

It is the draft shown at once and the fallback when no generator is installed. No extractive QA model loads
offline here (see shared/MODELS.md), so candidate spans come from answer-type patterns (dates, numbers,
names, lists) and are ranked by their sentence's evidence score and their closeness to the question's words.
Every answer is a verbatim slice of an article.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from core.text import (
    FULL_DATE,
    MONEY,
    MONTH_YEAR,
    NUMBER,
    YEAR,
    ZH_COUNT,
    ZH_MONEY,
    ZH_MONTH_YEAR,
    ZH_YEAR,
    split_compound,
    tokens,
)
from index.analysis import STOPWORDS, stem
from index.retriever import ScoredChunk
from qa import lexicon
from qa.evidence import TermWeights
from qa.features import focus_missing, focus_stems_after
from qa.records import AnswerType, Evidence, EvidenceSet, Query, QuestionAnalysis, Reading, Retrieved, Span


@dataclass(frozen=True)
class ExtractiveConfig:
    """The reader's tuned constants (fitted by hand on the news and SQuAD dev sets in earlier rounds)."""

    spans_from_sentences: int = 4  # evidence sentences searched for candidate spans
    min_coverage: float = 0.34  # least question coverage of the answer's sentence; below it, no answer
    span_weight: float = 0.25  # weight of a span's own fit against its sentence's evidence score
    score_bias: float = -3.2  # the reader's own score is a logistic of these terms
    score_coverage: float = 4.0
    score_dense: float = 3.0
    score_span: float = 0.6
    score_span_cap: float = 1.5  # span fit beyond this adds nothing
    score_focus_missing: float = 1.5  # cost when the sentence lacks the question's focus word
    no_span_discount: float = 0.5  # an abstention reports half of its best sentence's score
    publication_date_min_coverage: float = 0.6  # "when" questions fall back to the publication date above this
    publication_date_fit: float = 0.2  # span fit of that fallback (low: the event may not be the publication)
    publication_date_discount: float = 0.8  # its sentence counts as covering this share of the question
    metadata_base: float = 0.45  # byline/editor/office answers: base score plus a share of topic coverage
    metadata_per_coverage: float = 0.5
    metadata_cap: float = 0.95
    metadata_no_topic: float = 0.2  # score when no retrieved article is about the question's topic
    metadata_hits: int = 3  # retrieved passages searched for the article a metadata question is about


SPAN_WEIGHTS_PATH = Path(__file__).with_name("span_weights.json")
# What each feature of a candidate span says; a span's fit is the weighted sum of its features.
SPAN_FEATURES: dict[str, str] = {
    "proximity": "closeness to a question word, 1 when next to one (patterns, numbers, names, places, phrases)",
    "full_date": "a full date (day, month and year)",
    "month_year": "a month and year",
    "year": "a year alone",
    "money": "an amount of money",
    "number_head_focus": "a number followed by the question's head noun (\"52,000 graduates\")",
    "number_any_focus": "the share of the question's focus words right after a number",
    "person": "a personal name",
    "coordinated_outside": "\"A and B\" when the question's words lie outside both names",
    "coordinated_inside": "\"A and B\" with question words between the names",
    "fallback_proximity": "closeness of a capitalised phrase taken when no personal name is found",
    "place": "a capitalised phrase after \"in/at/from/near/to\"",
    "list_after_intro": "a list after \"such as\"/\":\" following the focus word",
    "of_phrase": "\"<focus> of X\"",
    "phrase_with_focus": "a capitalised phrase containing the focus word and more",
    "named_phrase": "a capitalised phrase for a question wanting a name",
    "quoted": "a quoted title for a question wanting a name",
    "focus_compound": "words before a lower-case focus word (\"clinical genomics training\")",
    "run": "a run of words between question words",
    "run_left": "... right after a question word",
    "run_right": "... right before a question word",
    "run_capital": "... starting with a capital",
    "run_lower_named": "... starting lower-case when a name is wanted",
    "run_extra_words": "words of a run beyond ``run_long_after``",
}


def load_span_weights(path: Path = SPAN_WEIGHTS_PATH) -> dict[str, float]:
    """The fitted weight of every span feature, from the file ``scripts/fit_span_weights.py`` writes."""
    weights = json.loads(path.read_text(encoding="utf-8"))["weights"]
    if set(weights) != set(SPAN_FEATURES):
        raise ValueError(f"{path.name}: weights must name exactly the span features {sorted(SPAN_FEATURES)}")
    return {name: float(weights[name]) for name in SPAN_FEATURES}


@dataclass(frozen=True)
class SpanShapes:
    """How candidate spans are found (window sizes) and the weights that rank them."""

    weights: Mapping[str, float] = field(default_factory=load_span_weights)
    run_long_after: int = 8  # a run longer than this many words pays per extra word
    near_tokens: int = 3  # "right after/before" means within this many tokens
    number_lookahead_chars: int = 40  # how far after a number its noun is looked for
    coordinated_max_gap: int = 90  # characters between two names joined by "and"
    quoted_max_words: int = 8  # longest quoted title taken as a name
    paren_close_max_chars: int = 40  # a span with an open parenthesis takes in a ")" at most this far after it
    list_min_commas: int = 2  # "<focus> in/of a, b, c": the list needs at least this many commas after the focus
    focus_compound_max_words: int = 3  # words taken before a lower-case focus word ("clinical genomics training")

    def fit(self, features: Mapping[str, float]) -> float:
        """A candidate's fit: the weighted sum of its features."""
        return sum(self.weights[name] * value for name, value in features.items())


@dataclass(frozen=True)
class Candidate:
    """A candidate answer span with the features it was ranked by (what the weights are fitted on)."""

    span: Span
    features: Mapping[str, float]


_UPPER = "A-Z\u00c0-\u00d6\u00d8-\u00de"
_NAME_TOKEN = rf"(?:[{_UPPER}][^\W\d_A-Z]+(?:[-'’][^\W\d_]+)?|[A-Z]\.)"
_CAP_PHRASE = re.compile(
    rf"{_NAME_TOKEN}|[A-Z]{{2,}}[a-z]*"
)
_CONNECTORS = lexicon.word_set("name_connectors")
_ORG_WORDS = lexicon.word_set("organisation_words")
_TITLE_WORDS = lexicon.word_set("title_words")
_MONTHS = lexicon.word_set("calendar_words")
_CLAUSE_CUT = re.compile(r",|;|\(|\s(?:to|which|that|who|whom|where|when|while|because|through|after|before|"
                         r"during|since|so|as|with|by|is|are|was|were|has|have|had|will|would)\s", re.I)
_TRAILING_NOISE = re.compile(r"(?:['’]s|\s+(?:said|says|say|announced|told|reported|added|noted|wrote))$", re.I)
_NOT_ANSWERS = lexicon.word_set("not_answers")
_QUOTED = re.compile(r"[“\"]([^”\"]{2,80})[”\"]")
_LIST_INTRO = re.compile(r"^\s*(?::|such as|including|namely|like)\s+", re.I)
_LIST_IN = re.compile(r"^\s+(?:in|of)\s+", re.I)
_LIST_END = re.compile(
    r";|\.\s|\.$|,?\s(?:so as|so that|in order|which|to make|to help|to solve|with (?:more|over))\b|, etc", re.I)
_META_TERMS = frozenset(stem(w) for w in lexicon.in_order("credit_terms"))
_OF_CUT = re.compile(r",|;|\(|\.\s|\.$|\s(?:to|which|that|who|for|over|since|in order|through|by|with)\s", re.I)


def _stem_tokens(token: str) -> set[str]:
    return {stem(part) for part in split_compound(token)}


class ExtractiveReader:
    """Turns the evidence sentences into one verbatim answer span (or none) with the reader's own score."""

    def __init__(self, weights: TermWeights, config: ExtractiveConfig | None = None,
                 shapes: SpanShapes | None = None) -> None:
        self.weights = weights
        self.config = config or ExtractiveConfig()
        self.shapes = shapes or SpanShapes()

    def run(self, query: Query, retrieved: Retrieved, evidence: EvidenceSet) -> Reading:
        return self.read(query.analysis, list(retrieved.hits), list(evidence.sentences))

    def read(self, question: QuestionAnalysis, hits: list[ScoredChunk], evidence: list[Evidence]) -> Reading:
        cfg = self.config
        if not evidence:
            return Reading(None, 0.0, "No passage was retrieved.")
        if question.meta_field:
            meta = self._metadata(question, hits, evidence)
            if meta is not None:
                return meta
        best: Span | None = None
        for ev in evidence[:cfg.spans_from_sentences]:
            for span in self._spans(question, ev):
                total = ev.score + cfg.span_weight * span.score
                if best is None or total > best.evidence.score + cfg.span_weight * best.score:
                    best = span
        if best is None and question.answer_type == AnswerType.DATE:
            best = self._publication_date(evidence[0])
        if best is None:
            return Reading(None, self.score(evidence[0], 0.0) * cfg.no_span_discount,
                           f"The passages do not contain a {question.answer_type.value} that answers this.")
        ev = best.evidence
        if ev.coverage < cfg.min_coverage:
            return Reading(None, self.score(ev, best.score) * cfg.no_span_discount,
                           "The passages do not mention enough of what the question asks about.")
        return Reading(best, self.score(ev, best.score, focus_missing(question, ev.text)),
                       best.note or "Found in the cited sentence.")

    def score(self, ev: Evidence, span_score: float, missing_focus: bool = False) -> float:
        """Logistic blend of term coverage, dense similarity and span fit; a missing focus word costs most."""
        cfg = self.config
        raw = (cfg.score_bias + cfg.score_coverage * ev.coverage + cfg.score_dense * max(ev.dense, 0.0)
               + cfg.score_span * min(span_score, cfg.score_span_cap))
        raw -= cfg.score_focus_missing if missing_focus else 0.0
        return float(1.0 / (1.0 + math.exp(-raw)))

    def _metadata(self, question: QuestionAnalysis, hits: list[ScoredChunk],
                  evidence: list[Evidence]) -> Reading | None:
        cfg = self.config
        field = question.meta_field or ""
        topic = QuestionAnalysis(question.text, question.answer_type, (),
                                 tuple(t for t in question.terms if t not in _META_TERMS))
        for hit in hits[:cfg.metadata_hits]:
            article = hit.article
            span = article.metadata_spans.get(field)
            if span is None:
                continue
            cov = self.weights.coverage(topic, article.text, article.title) if topic.terms else 0.0
            if cov < cfg.min_coverage:
                return Reading(None, cfg.metadata_no_topic, "No article about that topic was found.")
            line_start = article.text.rfind("\n", 0, span[0]) + 1
            ev = Evidence(article, line_start, span[1], hit.rank, cov, evidence[0].dense, cov)
            label = field.replace("_", " ")
            score = float(min(cfg.metadata_cap, cfg.metadata_base + cfg.metadata_per_coverage * cov))
            return Reading(Span(article, span[0], span[1], 1.0, ev, f"From the article's {label}."), score,
                           f"From the article's {label}.")
        return None

    def _publication_date(self, ev: Evidence) -> Span | None:
        span = ev.article.metadata_spans.get("date")
        if span is None or ev.coverage < self.config.publication_date_min_coverage:
            return None
        line = Evidence(ev.article, span[0], span[1], ev.hit_rank, ev.coverage * self.config.publication_date_discount,
                        ev.dense, ev.score)
        return Span(ev.article, span[0], span[1], self.config.publication_date_fit, line,
                    "The article does not date the event itself; this is the date it was published.")

    # -- span candidates ------------------------------------------------------------------------------
    def candidates(self, question: QuestionAnalysis, ev: Evidence) -> list[Candidate]:
        """Every candidate span of one evidence sentence with its features, in the order they were found."""
        view = _SentenceView(ev, question, self.shapes)
        finders: dict[AnswerType, Callable[[QuestionAnalysis, _SentenceView], list[Span | None]]] = {
            AnswerType.DATE: self._date_spans, AnswerType.MONEY: self._money_spans,
            AnswerType.NUMBER: self._number_spans, AnswerType.PERSON: self._person_spans,
            AnswerType.PLACE: self._place_spans,
        }
        finders.get(question.answer_type, self._entity_spans)(question, view)
        return view.candidates

    def _spans(self, question: QuestionAnalysis, ev: Evidence) -> list[Span]:
        return [c.span for c in self.candidates(question, ev)]

    def _date_spans(self, question: QuestionAnalysis, view: _SentenceView) -> list[Span | None]:
        return self._pattern_spans(view, [(FULL_DATE, "full_date"), (MONTH_YEAR, "month_year"),
                                          (ZH_MONTH_YEAR, "month_year"), (YEAR, "year"), (ZH_YEAR, "year")])

    def _money_spans(self, question: QuestionAnalysis, view: _SentenceView) -> list[Span | None]:
        return self._pattern_spans(view, [(MONEY, "money"), (ZH_MONEY, "money")])

    def _number_spans(self, question: QuestionAnalysis, view: _SentenceView) -> list[Span | None]:
        sh, text = self.shapes, view.text
        dates = [m.span() for pattern in (FULL_DATE, YEAR, ZH_YEAR) for m in pattern.finditer(text)]
        counts = [m.span() for m in ZH_COUNT.finditer(text)]
        focus = set(question.focus_stems)
        out: list[Span | None] = []
        for m in NUMBER.finditer(text):
            if any(s <= m.start() < e for s, e in dates) or m.group(0).lower() in {"first", "second", "half"}:
                continue
            found = focus_stems_after(question, text[m.end():], sh.number_lookahead_chars, sh.near_tokens)
            head = question.focus_stems[-1] if question.focus_stems else None
            start, end = next(((s, e) for s, e in counts if s <= m.start() < e), m.span())  # "82台", not "82"
            out.append(view.make(start, end, {"proximity": view.proximity(start, end),
                                              "number_head_focus": float(head in found),
                                              "number_any_focus": len(found) / max(1, len(focus))}))
        return out

    def _person_spans(self, question: QuestionAnalysis, view: _SentenceView) -> list[Span | None]:
        people = self._people(view.text, view.q_lower)
        out = [view.make(a, b, {"proximity": view.proximity(a, b), "person": 1.0}) for a, b in people]
        out += self._coordinated(view, people)
        if not people:
            out += [view.make(a, b, {"fallback_proximity": view.proximity(a, b)})
                    for a, b in self._phrases(view.text, view.q_lower)]
        return out

    def _place_spans(self, question: QuestionAnalysis, view: _SentenceView) -> list[Span | None]:
        out: list[Span | None] = []
        for a, b in self._phrases(view.text, view.q_lower):
            before = view.text[max(0, a - 6):a].lower()
            if re.search(r"\b(in|at|from|near|to)\s$", before):
                out.append(view.make(a, b, {"proximity": view.proximity(a, b), "place": 1.0}))
        return out

    def _pattern_spans(self, view: _SentenceView,
                       patterns: Iterable[tuple[re.Pattern[str], str]]) -> list[Span | None]:
        out: list[Span | None] = []
        taken: list[tuple[int, int]] = []
        for pattern, shape in patterns:
            for m in pattern.finditer(view.text):
                if any(s <= m.start() < e for s, e in taken):
                    continue
                taken.append(m.span())
                out.append(view.make(m.start(), m.end(), {shape: 1.0, "proximity": view.proximity(*m.span())}))
        return out

    @staticmethod
    def _phrases(text: str, q_lower: str) -> list[tuple[int, int]]:
        """Capitalised phrases (names, organisations), joined over "of", "and", "for"."""
        out: list[tuple[int, int]] = []
        toks = tokens(text)
        i = 0
        while i < len(toks):
            if not _CAP_PHRASE.fullmatch(toks[i][2]) and not re.fullmatch(r"[A-Z][A-Za-z]*(?:-[A-Za-z]+)*", toks[i][2]):
                i += 1
                continue
            j = i + 1
            while j < len(toks):
                gap = text[toks[j - 1][1]:toks[j][0]]
                word = toks[j][2]
                if gap.strip() not in {"", "-"} and gap.strip() != "'s":
                    break
                if word[:1].isupper():
                    j += 1
                elif word.lower() in _CONNECTORS and j + 1 < len(toks) and toks[j + 1][2][:1].isupper() \
                        and text[toks[j][1]:toks[j + 1][0]].strip() == "":
                    j += 2
                else:
                    break
            a, b = toks[i][0], toks[j - 1][1]
            if text[a:b].lower() not in q_lower:
                out.append((a, b))
            i = j
        return out

    @staticmethod
    def _people(text: str, q_lower: str) -> list[tuple[int, int]]:
        """Capitalised runs that look like personal names: no organisation, title or month words."""
        out = []
        for m in re.finditer(rf"{_NAME_TOKEN}(?:\s+{_NAME_TOKEN}){{1,3}}", text):
            parts = m.group(0).split()
            lowered = {p.lower().strip(".") for p in parts}
            if lowered & (_ORG_WORDS | _TITLE_WORDS | _MONTHS | STOPWORDS):
                continue
            if m.group(0).lower() in q_lower:
                continue
            out.append(m.span())
        return out

    def _coordinated(self, view: _SentenceView, people: list[tuple[int, int]]) -> list[Span | None]:
        """"A, title, and B": when the question's words come before both names, answer with both."""
        sh, text, toks, matched = self.shapes, view.text, view.toks, view.matched
        out: list[Span | None] = []
        for i in range(len(people) - 1):
            a, b = people[i][0], people[i + 1][1]
            between = text[people[i][1]:people[i + 1][0]]
            if len(between) > sh.coordinated_max_gap or not re.search(r"(?:^|,)\s*(?:and|&)\s*$", between) \
                    or re.search(r"[.;]", between):
                continue
            first_tok = next((k for k, t in enumerate(toks) if t[0] >= a), 0)
            last_tok = next((k for k, t in enumerate(toks) if t[1] >= b), len(toks))
            outside = all(m < first_tok for m in matched) or all(m > last_tok for m in matched)
            shape = "coordinated_outside" if outside else "coordinated_inside"
            out.append(view.make(a, b, {"proximity": view.proximity(a, b), shape: 1.0}))
        return out

    def _entity_spans(self, question: QuestionAnalysis, view: _SentenceView) -> list[Span | None]:
        """Spans for "what"/"which" questions: lists, "<focus> of X", named phrases, quotes, compounds, runs."""
        return (self._list_and_of_spans(question, view) + self._named_spans(question, view)
                + self._focus_compound_spans(question, view) + self._run_spans(question, view))

    def _list_and_of_spans(self, question: QuestionAnalysis, view: _SentenceView) -> list[Span | None]:
        """A list after "such as"/":" following the focus word, and the X of "<focus> of X"."""
        sh, text, toks = self.shapes, view.text, view.toks
        focus = set(question.focus_stems)
        anchors = [i for i in view.matched if _stem_tokens(toks[i][2]) & focus] or view.matched[-1:]
        out: list[Span | None] = []
        for i in anchors:
            rest = text[toks[i][1]:]
            intro = _LIST_INTRO.match(rest) or (_LIST_IN.match(rest) if rest.count(",") >= sh.list_min_commas else None)
            if intro:
                a = toks[i][1] + intro.end()
                stop = _LIST_END.search(text, a)
                out.append(view.make(a, stop.start() if stop else len(text), {"list_after_intro": 1.0}))
            of = re.match(r"^\s+of\s+", rest)
            if of and _stem_tokens(toks[i][2]) & focus:
                a = toks[i][1] + of.end()
                cut = _OF_CUT.search(text, a + 1)
                out.append(view.make(a, cut.start() if cut else len(text), {"of_phrase": 1.0}))
        return out

    def _named_spans(self, question: QuestionAnalysis, view: _SentenceView) -> list[Span | None]:
        """Capitalised phrases holding the focus word, or any name or quoted title when a name is wanted."""
        sh, text = self.shapes, view.text
        focus = set(question.focus_stems)
        named = question.wants_name
        out: list[Span | None] = []
        for a, b in self._phrases(text, view.q_lower):
            words_in = {st for _, _, w in tokens(text[a:b]) for st in _stem_tokens(w)}
            if focus & words_in and words_in - focus:
                out.append(view.make(a, b, {"phrase_with_focus": 1.0, "proximity": view.proximity(a, b)}))
            elif named and not words_in <= set(question.terms) | focus:
                out.append(view.make(a, b, {"named_phrase": 1.0, "proximity": view.proximity(a, b)}))
        if named:
            for quoted in _QUOTED.finditer(text):
                if len(quoted.group(1).split()) <= sh.quoted_max_words and quoted.group(1)[:1].isupper():
                    out.append(view.make(quoted.start(1), quoted.end(1),
                                         {"quoted": 1.0, "proximity": view.proximity(*quoted.span(1))}))
        return out

    def _focus_compound_spans(self, question: QuestionAnalysis, view: _SentenceView) -> list[Span | None]:
        """The words right before a lower-case focus word ("clinical genomics training")."""
        focus = set(question.focus_stems)
        if not focus:
            return []
        sh, text, toks = self.shapes, view.text, view.toks
        terms = set(question.terms)
        out: list[Span | None] = []
        for i, (_, e, w) in enumerate(toks):
            if _stem_tokens(w) & focus and w[:1].islower():
                k = i
                while (k > 0 and i - k < sh.focus_compound_max_words and toks[k - 1][2].lower() not in STOPWORDS
                       and not (_stem_tokens(toks[k - 1][2]) & terms)
                       and text[toks[k - 1][1]:toks[k][0]] == " "):
                    k -= 1
                if k < i:
                    out.append(view.make(toks[k][0], e, {"focus_compound": 1.0,
                                                         "proximity": view.proximity(toks[k][0], e)}))
        return out

    def _run_spans(self, question: QuestionAnalysis, view: _SentenceView) -> list[Span | None]:
        """Runs of words between the question's words, cut at a clause boundary and trimmed of stop words."""
        sh, text, toks, matched = self.shapes, view.text, view.toks, view.matched
        out: list[Span | None] = []
        for i, j in _unmatched_runs(len(toks), set(matched)):
            while i <= j and toks[i][2].lower() in STOPWORDS:
                i += 1
            if i > j:
                continue
            a = toks[i][0]
            cut = _CLAUSE_CUT.search(text, a + 1, toks[j][1])
            b = cut.start() if cut else toks[j][1]
            while j >= i and toks[j][0] >= b:
                j -= 1
            while j >= i and toks[j][2].lower() in STOPWORDS:
                j -= 1
            if j < i:
                continue
            b = toks[j][1]
            n = j - i + 1
            capital = toks[i][2][:1].isupper()
            out.append(view.make(a, b, {
                "run": 1.0, "run_left": float(any(0 < i - m <= sh.near_tokens for m in matched)),
                "run_right": float(any(0 < m - j <= sh.near_tokens for m in matched)),
                "run_capital": float(capital), "run_lower_named": float(not capital and question.wants_name),
                "run_extra_words": float(max(0, n - sh.run_long_after))}))
        return out


def _unmatched_runs(count: int, matched: set[int]) -> list[tuple[int, int]]:
    """Inclusive (first, last) token positions of the stretches holding none of the question's words."""
    runs: list[tuple[int, int]] = []
    start = None
    for i in range(count):
        if i in matched:
            if start is not None:
                runs.append((start, i - 1))
            start = None
        elif start is None:
            start = i
    if start is not None:
        runs.append((start, count - 1))
    return runs


class _SentenceView:
    """One evidence sentence as the span finders see it: its tokens, where the question's words are, and how
    a candidate slice becomes a trimmed ``Span``."""

    def __init__(self, ev: Evidence, question: QuestionAnalysis, shapes: SpanShapes) -> None:
        self.ev = ev
        self.text = ev.text
        self.toks = tokens(self.text)
        terms = set(question.terms)
        self.matched = [i for i, (_, _, w) in enumerate(self.toks) if _stem_tokens(w) & terms]
        self.q_lower = question.text.lower()
        self.shapes = shapes
        self.candidates: list[Candidate] = []

    def proximity(self, a: int, b: int) -> float:
        """1 when next to a question word, falling with distance in tokens."""
        toks = self.toks
        start_tok = next((i for i, t in enumerate(toks) if t[1] > a), len(toks))
        end_tok = next((i for i, t in enumerate(toks) if t[0] >= b), len(toks))
        dists = [start_tok - m for m in self.matched if m < start_tok] + [m - end_tok + 1 for m in self.matched
                                                                          if m >= end_tok]
        return 1.0 / (1.0 + min(dists)) if dists else 0.0

    def make(self, a: int, b: int, features: dict[str, float], note: str = "") -> Span | None:
        """The slice [a, b) trimmed of punctuation and trailing noise, or None when it is no answer."""
        text = self.text
        while a < b and text[a] in " ,;:-–—(\"'“":
            a += 1
        while b > a and text[b - 1] in " ,;:-–—.\"'”":
            b -= 1
        close = text.find(")", b)
        unclosed = text[a:b].count("(") > text[a:b].count(")")
        if unclosed and close != -1 and close - b < self.shapes.paren_close_max_chars:
            b = close + 1
        trail = _TRAILING_NOISE.search(text, a, b)
        if trail and trail.start() > a:
            b = trail.start()
        if b <= a or text[a:b].lower() in self.q_lower or text[a:b].lower() in _NOT_ANSWERS:
            return None
        span = Span(self.ev.article, self.ev.start + a, self.ev.start + b, self.shapes.fit(features), self.ev, note)
        self.candidates.append(Candidate(span, features))
        return span
