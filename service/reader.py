"""Extractive reader: picks the sentence that supports an answer and the typed span inside it.

No extractive QA model loads offline here (see shared/MODELS.md), so the reader combines measurable
signals instead: IDF-weighted coverage of the question's terms, dense sentence similarity, and span
patterns for the expected answer type. Every answer is a verbatim slice of an article.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from core.documents import Article
from core.text import FULL_DATE, MONEY, MONTH_YEAR, NUMBER, YEAR, sentence_spans
from index.analysis import STOPWORDS, analyze, stem
from index.retriever import ScoredChunk
from service.question import AnswerType, Question


@dataclass(frozen=True)
class Evidence:
    """A candidate sentence, located by article offsets."""

    article: Article
    start: int
    end: int
    hit_rank: int
    coverage: float
    dense: float
    score: float

    @property
    def text(self) -> str:
        return self.article.text[self.start:self.end]


@dataclass(frozen=True)
class Span:
    article: Article
    start: int
    end: int
    score: float
    evidence: Evidence
    note: str = ""

    @property
    def text(self) -> str:
        return self.article.text[self.start:self.end]


@dataclass(frozen=True)
class Reading:
    span: Span | None
    confidence: float
    reason: str
    evidence: list[Evidence]


@dataclass(frozen=True)
class ReaderConfig:
    passages: int = 5
    dense_sentences: int = 8
    spans_from_sentences: int = 4
    min_coverage: float = 0.34


_TOKEN = re.compile(r"[^\W_]+(?:['’][^\W\d_]+)?(?:[-.][^\W_]+)*")
_UPPER = "A-Z\u00c0-\u00d6\u00d8-\u00de"
_NAME_TOKEN = rf"(?:[{_UPPER}][^\W\d_A-Z]+(?:[-'’][^\W\d_]+)?|[A-Z]\.)"
_CAP_PHRASE = re.compile(
    rf"{_NAME_TOKEN}|[A-Z]{{2,}}[a-z]*"
)
_CONNECTORS = {"of", "and", "for", "the", "&", "de", "van", "von", "der", "la", "le", "du", "on", "in"}
_ORG_WORDS = {
    "university", "universities", "college", "school", "faculty", "institute", "center", "centre", "hospital",
    "department", "office", "ministry", "council", "committee", "association", "company", "corporation",
    "group", "bank", "agency", "organization", "organisation", "foundation", "society", "academy", "league",
    "party", "court", "government", "board", "commission", "union", "club", "team", "inc", "ltd", "news",
    "health", "science", "sciences", "medicine", "medical", "biology", "technology", "research", "program",
    "programme", "laboratory", "clinic", "press", "times", "post", "journal", "city", "county", "state",
    "republic", "kingdom", "river", "street", "road", "area", "bay", "east", "west", "north", "south",
    "international", "national", "joint", "china", "chinese", "hong", "kong", "american", "british",
}
_TITLE_WORDS = {
    "president", "vice", "dean", "associate", "assistant", "director", "professor", "prof", "minister",
    "chairman", "chair", "secretary", "executive", "chief", "officer", "head", "mayor", "governor",
    "senator", "representative", "king", "queen", "prince", "general", "doctor", "dr", "mr", "mrs", "ms",
    "sir", "judge", "justice", "coach", "captain", "manager", "editor", "founder", "ceo", "deputy",
}
_MONTHS = {"january", "february", "march", "april", "may", "june", "july", "august", "september", "october",
           "november", "december", "monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"}
_CLAUSE_CUT = re.compile(r",|;|\(|\s(?:to|which|that|who|whom|where|when|while|because|through|after|before|"
                         r"during|since|so|as|with|by|is|are|was|were|has|have|had|will|would)\s", re.I)
_TRAILING_NOISE = re.compile(r"(?:['’]s|\s+(?:said|says|say|announced|told|reported|added|noted|wrote))$", re.I)
_NOT_ANSWERS = {"it", "its", "it's", "it’s", "he", "she", "they", "them", "this", "that", "these", "those", "there",
                "inc", "co", "ltd", "corp", "the company", "officials", "people", "monday", "tuesday", "wednesday",
                "thursday", "friday", "saturday", "sunday", "today", "yesterday", "tomorrow"}
_QUOTED = re.compile(r"[“\"]([^”\"]{2,80})[”\"]")
_LIST_INTRO = re.compile(r"^\s*(?::|such as|including|namely|like)\s+", re.I)
_LIST_IN = re.compile(r"^\s+(?:in|of)\s+", re.I)
_LIST_END = re.compile(
    r";|\.\s|\.$|,?\s(?:so as|so that|in order|which|to make|to help|to solve|with (?:more|over))\b|, etc", re.I)
_OF_CUT = re.compile(r",|;|\(|\.\s|\.$|\s(?:to|which|that|who|for|over|since|in order|through|by|with)\s", re.I)


class TermWeights:
    """How much a question word matters: rare in English (wordfreq) and rare in this corpus (BM25 df).

    The English prior keeps words like "take" or "part" from dominating when a small corpus lacks them.
    """

    def __init__(self, vocab: dict[str, int], doc_freq: np.ndarray, num_docs: int) -> None:
        self._vocab = vocab
        self._df = doc_freq
        self._n = max(1, num_docs)
        self._max_idf = math.log(1.0 + (self._n + 0.5) / 0.5)

    def idf(self, term: str) -> float:
        idx = self._vocab.get(term)
        df = int(self._df[idx]) if idx is not None and idx < len(self._df) else 0
        return math.log(1.0 + (self._n - df + 0.5) / (df + 0.5))

    def weight(self, term: str, surface: str) -> float:
        return _specificity(surface) * (0.5 + 0.5 * self.idf(term) / self._max_idf)

    @classmethod
    def from_bm25(cls, bm25: object) -> TermWeights:
        scores = getattr(bm25, "scores", {})
        indptr = np.asarray(scores.get("indptr", np.zeros(1)))
        return cls(dict(getattr(bm25, "vocab_dict", {})), np.diff(indptr), int(scores.get("num_docs", 1)))


@lru_cache(maxsize=100_000)
def _specificity(word: str) -> float:
    from wordfreq import zipf_frequency

    return max(0.3, 7.5 - zipf_frequency(word, "en"))


def _tokens(text: str) -> list[tuple[int, int, str]]:
    return [(m.start(), m.end(), m.group(0)) for m in _TOKEN.finditer(text)]


def _stem_tokens(token: str) -> set[str]:
    token = re.sub(r"['’]s$", "", token.lower())
    return {stem(part) for part in re.split(r"[-.]", token) if part}


class ExtractiveReader:
    """Turns retrieved chunks into one verbatim answer span (or none) with a confidence."""

    def __init__(self, weights: TermWeights, encode: Callable[[list[str]], np.ndarray],
                 config: ReaderConfig | None = None) -> None:
        self.weights = weights
        self.encode = encode
        self.config = config or ReaderConfig()

    # -- evidence -------------------------------------------------------------------------------------
    def coverage(self, question: Question, text: str, title: str = "", context: str = "") -> float:
        """Share of the question's weighted terms found in the sentence (half credit: title, context)."""
        if not question.terms:
            return 0.0
        present = set(analyze(text))
        title_terms = set(analyze(title)) | set(analyze(context))
        surfaces = question.surfaces or question.terms
        weights = [self.weights.weight(t, w) for t, w in zip(question.terms, surfaces, strict=False)]
        total = sum(weights)
        got = sum(
            w * (1.0 if t in present else 0.5 if t in title_terms else 0.0)
            for t, w in zip(question.terms, weights, strict=False)
        )
        return got / total if total else 0.0

    def evidence(self, question: Question, hits: list[ScoredChunk], qvec: np.ndarray) -> list[Evidence]:
        seen: set[tuple[str, int]] = set()
        rows: list[tuple[Article, int, int, int, float]] = []
        for hit in hits[: self.config.passages]:
            previous = ""
            for start, end in sentence_spans(hit.article.text, hit.chunk.start, hit.chunk.end):
                sentence = hit.article.text[start:end]
                if (hit.article.id, start) not in seen:
                    seen.add((hit.article.id, start))
                    cov = self.coverage(question, sentence, hit.article.title, previous)
                    rows.append((hit.article, start, end, hit.rank, cov))
                previous = sentence
        if not rows:
            return []
        rows.sort(key=lambda r: -(r[4] + 0.02 / r[3]))
        top = rows[: self.config.dense_sentences]
        vectors = self.encode([a.text[s:e] for a, s, e, _, _ in top])
        dense = vectors @ qvec
        out = [
            Evidence(a, s, e, rank, cov, float(d), 0.6 * cov + 0.4 * float(d) + 0.03 / rank)
            for (a, s, e, rank, cov), d in zip(top, dense, strict=True)
        ]
        return sorted(out, key=lambda ev: -ev.score)

    # -- reading --------------------------------------------------------------------------------------
    def read(self, question: Question, hits: list[ScoredChunk], qvec: np.ndarray,
             evidence: list[Evidence] | None = None) -> Reading:
        evidence = self.evidence(question, hits, qvec) if evidence is None else evidence
        if not evidence:
            return Reading(None, 0.0, "No passage was retrieved.", [])
        if question.meta_field:
            meta = self._metadata(question, hits, evidence)
            if meta is not None:
                return meta
        best: Span | None = None
        for ev in evidence[: self.config.spans_from_sentences]:
            for span in self._spans(question, ev):
                total = ev.score + 0.25 * span.score
                if best is None or total > best.evidence.score + 0.25 * best.score:
                    best = span
        if best is None and question.answer_type == AnswerType.DATE:
            best = self._publication_date(evidence[0])
        if best is None:
            return Reading(None, self._confidence(evidence[0], 0.0) * 0.5,
                           f"The passages do not contain a {question.answer_type.value} that answers this.",
                           evidence)
        ev = best.evidence
        if ev.coverage < self.config.min_coverage:
            return Reading(None, self._confidence(ev, best.score) * 0.5,
                           "The passages do not mention enough of what the question asks about.", evidence)
        focus = set(question.focus_stems)
        missing_focus = bool(focus) and not (focus & set(analyze(ev.text)))
        return Reading(best, self._confidence(ev, best.score, missing_focus),
                       best.note or "Found in the cited sentence.", evidence)

    @staticmethod
    def _confidence(ev: Evidence, span_score: float, missing_focus: bool = False) -> float:
        """Logistic blend of term coverage, dense similarity and span fit; a missing focus word costs most."""
        raw = -3.2 + 4.0 * ev.coverage + 3.0 * max(ev.dense, 0.0) + 0.6 * min(span_score, 1.5)
        raw -= 1.5 if missing_focus else 0.0
        return float(1.0 / (1.0 + math.exp(-raw)))

    def _metadata(self, question: Question, hits: list[ScoredChunk], evidence: list[Evidence]) -> Reading | None:
        field = question.meta_field or ""
        meta_terms = {stem(w) for w in ("wrote", "write", "written", "author", "article", "story", "news",
                                        "report", "edit", "editor", "publish", "posted", "date", "office",
                                        "byline", "reporter", "writer", "source", "department")}
        topic = Question(question.text, question.answer_type, (), tuple(t for t in question.terms
                                                                        if t not in meta_terms))
        for hit in hits[:3]:
            article = hit.article
            span = article.metadata_spans.get(field)
            if span is None:
                continue
            cov = self.coverage(topic, article.text, article.title) if topic.terms else 0.0
            ev = Evidence(article, span[0], span[1], hit.rank, cov, evidence[0].dense, cov)
            if cov < self.config.min_coverage:
                return Reading(None, 0.2, "No article about that topic was found.", evidence)
            line_start = article.text.rfind("\n", 0, span[0]) + 1
            ev = Evidence(article, line_start, span[1], hit.rank, cov, evidence[0].dense, cov)
            conf = float(min(0.95, 0.45 + 0.5 * cov))
            return Reading(Span(article, span[0], span[1], 1.0, ev, f"From the article's {field.replace('_', ' ')}."),
                           conf, f"From the article's {field.replace('_', ' ')}.", [ev, *evidence])
        return None

    @staticmethod
    def _publication_date(ev: Evidence) -> Span | None:
        span = ev.article.metadata_spans.get("date")
        if span is None or ev.coverage < 0.6:
            return None
        line = Evidence(ev.article, span[0], span[1], ev.hit_rank, ev.coverage * 0.8, ev.dense, ev.score)
        return Span(ev.article, span[0], span[1], 0.2, line,
                    "The article does not date the event itself; this is the date it was published.")

    # -- span candidates ------------------------------------------------------------------------------
    def _spans(self, question: Question, ev: Evidence) -> list[Span]:
        text = ev.text
        toks = _tokens(text)
        terms = set(question.terms)
        matched = [i for i, (_, _, w) in enumerate(toks) if _stem_tokens(w) & terms]
        q_lower = question.text.lower()

        def proximity(a: int, b: int) -> float:
            """1 when next to a question word, falling with distance in tokens."""
            start_tok = next((i for i, t in enumerate(toks) if t[1] > a), len(toks))
            end_tok = next((i for i, t in enumerate(toks) if t[0] >= b), len(toks))
            dists = [start_tok - m for m in matched if m < start_tok] + [m - end_tok + 1 for m in matched
                                                                         if m >= end_tok]
            return 1.0 / (1.0 + min(dists)) if dists else 0.0

        def make(a: int, b: int, score: float, note: str = "") -> Span | None:
            while a < b and text[a] in " ,;:-–—(\"'“":
                a += 1
            while b > a and text[b - 1] in " ,;:-–—.\"'”":
                b -= 1
            if text[a:b].count("(") > text[a:b].count(")") and text.find(")", b) != -1 and text.find(")", b) - b < 40:
                b = text.find(")", b) + 1
            trail = _TRAILING_NOISE.search(text, a, b)
            if trail and trail.start() > a:
                b = trail.start()
            if b <= a or text[a:b].lower() in q_lower or text[a:b].lower() in _NOT_ANSWERS:
                return None
            return Span(ev.article, ev.start + a, ev.start + b, score, ev, note)

        kind = question.answer_type
        spans: list[Span | None] = []
        if kind == AnswerType.DATE:
            spans += self._pattern_spans(text, [(FULL_DATE, 1.0), (MONTH_YEAR, 0.8), (YEAR, 0.6)], proximity, make)
        elif kind == AnswerType.MONEY:
            spans += self._pattern_spans(text, [(MONEY, 1.0)], proximity, make)
        elif kind == AnswerType.NUMBER:
            dates = [m.span() for m in FULL_DATE.finditer(text)] + [m.span() for m in YEAR.finditer(text)]
            focus = set(question.focus_stems)
            for m in NUMBER.finditer(text):
                if any(s <= m.start() < e for s, e in dates) or m.group(0).lower() in {"first", "second", "half"}:
                    continue
                after = [w for _, _, w in _tokens(text[m.end():m.end() + 40])][:3]
                found = {st for w in after for st in _stem_tokens(w)} & focus
                head = question.focus_stems[-1] if question.focus_stems else None
                bonus = (0.6 if head in found else 0.0) + 0.4 * len(found) / max(1, len(focus))
                spans.append(make(m.start(), m.end(), proximity(*m.span()) + bonus))
        elif kind == AnswerType.PERSON:
            people = self._people(text, q_lower)
            spans += [make(a, b, proximity(a, b) + 0.3) for a, b in people]
            spans += self._coordinated(text, people, matched, toks, make, proximity)
            if not people:
                spans += [make(a, b, proximity(a, b) * 0.6) for a, b in self._phrases(text, q_lower)]
        elif kind == AnswerType.PLACE:
            for a, b in self._phrases(text, q_lower):
                before = text[max(0, a - 6):a].lower()
                if re.search(r"\b(in|at|from|near|to)\s$", before):
                    spans.append(make(a, b, proximity(a, b) + 0.3))
        else:
            spans += self._entity_spans(question, text, toks, matched, proximity, make)
        return [s for s in spans if s is not None]

    @staticmethod
    def _pattern_spans(text: str, patterns: Iterable[tuple[re.Pattern[str], float]],
                       proximity: Callable[[int, int], float],
                       make: Callable[..., Span | None]) -> list[Span | None]:
        out: list[Span | None] = []
        taken: list[tuple[int, int]] = []
        for pattern, weight in patterns:
            for m in pattern.finditer(text):
                if any(s <= m.start() < e for s, e in taken):
                    continue
                taken.append(m.span())
                out.append(make(m.start(), m.end(), 0.4 * weight + proximity(*m.span())))
        return out

    @staticmethod
    def _phrases(text: str, q_lower: str) -> list[tuple[int, int]]:
        """Capitalised phrases (names, organisations), joined over "of", "and", "for"."""
        out: list[tuple[int, int]] = []
        toks = _tokens(text)
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

    @staticmethod
    def _coordinated(text: str, people: list[tuple[int, int]], matched: list[int],
                     toks: list[tuple[int, int, str]], make: Callable[..., Span | None],
                     proximity: Callable[[int, int], float]) -> list[Span | None]:
        """"A, title, and B": when the question's words come before both names, answer with both."""
        out: list[Span | None] = []
        for i in range(len(people) - 1):
            a, b = people[i][0], people[i + 1][1]
            between = text[people[i][1]:people[i + 1][0]]
            if len(between) > 90 or not re.search(r"(?:^|,)\s*(?:and|&)\s*$", between) or re.search(r"[.;]", between):
                continue
            first_tok = next((k for k, t in enumerate(toks) if t[0] >= a), 0)
            last_tok = next((k for k, t in enumerate(toks) if t[1] >= b), len(toks))
            outside = all(m < first_tok for m in matched) or all(m > last_tok for m in matched)
            out.append(make(a, b, proximity(a, b) + (0.5 if outside else -0.2)))
        return out

    def _entity_spans(self, question: Question, text: str, toks: list[tuple[int, int, str]], matched: list[int],
                      proximity: Callable[[int, int], float], make: Callable[..., Span | None]) -> list[Span | None]:
        out: list[Span | None] = []
        q_lower = question.text.lower()
        focus = set(question.focus_stems)
        anchors = [i for i in matched if _stem_tokens(toks[i][2]) & focus] or matched[-1:]
        for i in anchors:
            rest = text[toks[i][1]:]
            intro = _LIST_INTRO.match(rest) or (_LIST_IN.match(rest) if rest.count(",") >= 2 else None)
            if intro:
                a = toks[i][1] + intro.end()
                stop = _LIST_END.search(text, a)
                b = stop.start() if stop else len(text)
                out.append(make(a, b, 1.5, ""))
            of = re.match(r"^\s+of\s+", rest)
            if of and i in set(anchors) and _stem_tokens(toks[i][2]) & focus:
                a = toks[i][1] + of.end()
                cut = _OF_CUT.search(text, a + 1)
                b = cut.start() if cut else len(text)
                out.append(make(a, b, 1.3))
        named = question.wants_name
        for a, b in self._phrases(text, q_lower):
            words_in = {st for _, _, w in _tokens(text[a:b]) for st in _stem_tokens(w)}
            if focus & words_in and words_in - focus:
                out.append(make(a, b, 1.2 + proximity(a, b)))
            elif named and not words_in <= set(question.terms) | focus:
                out.append(make(a, b, 0.9 + proximity(a, b)))
        if named:
            for quoted in _QUOTED.finditer(text):
                if len(quoted.group(1).split()) <= 8 and quoted.group(1)[:1].isupper():
                    out.append(make(quoted.start(1), quoted.end(1), 1.0 + proximity(*quoted.span(1))))
        if focus:
            terms = set(question.terms)
            for i, (_, e, w) in enumerate(toks):
                if _stem_tokens(w) & focus and w[:1].islower():
                    k = i
                    while (k > 0 and i - k < 3 and toks[k - 1][2].lower() not in STOPWORDS
                           and not (_stem_tokens(toks[k - 1][2]) & terms)
                           and text[toks[k - 1][1]:toks[k][0]] == " "):
                        k -= 1
                    if k < i:
                        out.append(make(toks[k][0], e, 0.6 + proximity(toks[k][0], e)))
        runs: list[tuple[int, int]] = []
        start = None
        matched_set = set(matched)
        for i in range(len(toks)):
            if i in matched_set:
                if start is not None:
                    runs.append((start, i - 1))
                start = None
            elif start is None:
                start = i
        if start is not None:
            runs.append((start, len(toks) - 1))
        for i, j in runs:
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
            left = 1.0 if any(0 < i - m <= 3 for m in matched) else 0.0
            right = 0.6 if any(0 < m - j <= 3 for m in matched) else 0.0
            caps = 0.2 if toks[i][2][:1].isupper() else (-0.5 if named else 0.0)
            out.append(make(a, b, 0.2 + 0.5 * left + 0.4 * right + caps - 0.05 * max(0, n - 8)))
        return out
