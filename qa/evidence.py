"""The evidence stage: which sentences of the retrieved passages bear on the question, and what the reader sees.

Sentences are scored by how much of the question they cover (IDF- and word-frequency-weighted terms) and by
dense similarity; the best sentence of each article then re-ranks the passages, and the generator is shown
windows around the best sentences with their titles and dates.
"""

from __future__ import annotations

import math
import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, replace
from functools import lru_cache

import numpy as np

from core.documents import Article
from core.text import HAN, is_chinese, sentence_spans
from index.analysis import analyze
from index.embedding import reads_language
from index.retriever import ScoredChunk
from index.sentences import SentenceTable
from qa.records import Evidence, EvidenceSet, Passage, Query, QuestionAnalysis, Retrieved


@dataclass(frozen=True)
class EvidenceConfig:
    """Tuned on the dev sets (news and SQuAD; docs/evaluation.md); each value is a named trade-off."""

    passages: int = 5  # retrieved passages whose sentences are scored
    dense_sentences: int = 8  # best-covering sentences also scored by dense similarity
    coverage_weight: float = 0.6  # share of term coverage (vs dense similarity) in a sentence's score
    rank_bonus: float = 0.03  # small preference for sentences of higher-ranked passages (divided by rank)
    rank_tiebreak: float = 0.02  # orders equal-coverage sentences by passage rank before dense scoring
    title_credit: float = 0.5  # a question term found only in the title or previous sentence counts this much
    rare_word_floor: float = 0.3  # least weight of a very common English word
    rare_word_ceiling: float = 7.5  # Zipf frequency above which a word carries no specificity
    idf_share: float = 0.5  # how much corpus IDF (vs a flat half) scales a term's weight
    rerank_weight: float = 1.0  # how much an article's best sentence lifts its passages (0: fused order)
    window_sentences: int = 1  # sentences either side of an evidence sentence in a generator passage
    window_limit: int = 4  # generator passages
    window_words: int = 220  # words of passage text shown to the generator, at most
    han_per_word: float = 1.8  # Han characters counted as one word of that budget (about as many model tokens)
    remembered_sentences: int = 20_000  # question-time sentence vectors kept per index version (~30 MB)


class TermWeights:
    """How much a question word matters: rare in English (wordfreq) and rare in this corpus (BM25 df).

    The English prior keeps words like "take" or "part" from dominating when a small corpus lacks them.
    """

    def __init__(self, vocab: dict[str, int], doc_freq: np.ndarray, num_docs: int,
                 config: EvidenceConfig | None = None) -> None:
        self.config = config or EvidenceConfig()
        self._vocab = vocab
        self._df = doc_freq
        self._n = max(1, num_docs)
        self._max_idf = math.log(1.0 + (self._n + 0.5) / 0.5)

    def idf(self, term: str) -> float:
        idx = self._vocab.get(term)
        df = int(self._df[idx]) if idx is not None and idx < len(self._df) else 0
        return math.log(1.0 + (self._n - df + 0.5) / (df + 0.5))

    def weight(self, term: str, surface: str) -> float:
        cfg = self.config
        specificity = max(cfg.rare_word_floor, cfg.rare_word_ceiling - _zipf(surface))
        return specificity * ((1 - cfg.idf_share) + cfg.idf_share * self.idf(term) / self._max_idf)

    def coverage(self, question: QuestionAnalysis, text: str, title: str = "", context: str = "") -> float:
        """Share of the question's weighted terms found in ``text`` (partial credit: title or context)."""
        if not question.terms:
            return 0.0
        present = set(analyze(text))
        nearby = set(analyze(title)) | set(analyze(context))
        surfaces = question.surfaces or question.terms
        weights = [self.weight(t, w) for t, w in zip(question.terms, surfaces, strict=False)]
        total = sum(weights)
        got = sum(w * (1.0 if t in present else self.config.title_credit if t in nearby else 0.0)
                  for t, w in zip(question.terms, weights, strict=False))
        return got / total if total else 0.0


@lru_cache(maxsize=4096)
def _chinese_text(text: str) -> bool:
    return is_chinese(text)


def _article_chinese(article: Article) -> bool:
    return _chinese_text(article.text)


@lru_cache(maxsize=100_000)
def _zipf(word: str) -> float:
    from wordfreq import zipf_frequency

    return float(zipf_frequency(word, "en"))


Encode = Callable[[list[str]], np.ndarray]


class EvidenceStage:
    """Scores the sentences of the top passages, re-ranks the passages and cuts the generator's windows."""

    def __init__(self, weights: TermWeights, encode: Encode, config: EvidenceConfig | None = None,
                 sentences: SentenceTable | None = None, cross_language: bool = False,
                 multilingual: bool = False) -> None:
        self.weights = weights
        self.encode = encode
        self.config = config or weights.config
        self.table = sentences
        self.cross_language = cross_language  # the sentence vectors place a question near another language's text
        self.multilingual = multilingual  # the sentence vectors read Chinese as well as English
        self._remembered: OrderedDict[tuple[str, int, int], np.ndarray] = OrderedDict()
        self._lock = threading.Lock()

    def vectors(self, rows: list[tuple[Article, int, int]]) -> np.ndarray:
        """Sentence vectors from the version's table, else from those this stage encoded for earlier questions;
        the rest are encoded now in one batch (a few sentences, so a build need not encode every sentence)."""
        keys = [(a.id, s, e) for a, s, e in rows]
        found = [self._known(key) for key in keys]
        missing = [i for i, v in enumerate(found) if v is None]
        if missing:
            encoded = self.encode([rows[i][0].text[rows[i][1]:rows[i][2]] for i in missing])
            with self._lock:
                for i, vector in zip(missing, encoded, strict=True):
                    found[i] = vector
                    self._remembered[keys[i]] = vector
                while len(self._remembered) > self.config.remembered_sentences:
                    self._remembered.popitem(last=False)
        return np.array(found, dtype=np.float32).reshape(len(rows), -1)

    def _known(self, key: tuple[str, int, int]) -> np.ndarray | None:
        if self.table is not None and (stored := self.table.vector(*key)) is not None:
            return stored
        with self._lock:
            vector = self._remembered.get(key)
            if vector is not None:
                self._remembered.move_to_end(key)
            return vector

    def run(self, query: Query, retrieved: Retrieved) -> EvidenceSet:
        sentences = self.sentences(query.analysis, list(retrieved.hits), retrieved.query_vector)
        hits = rerank(list(retrieved.hits), sentences, self.config, self.coverage_share(query.analysis))
        other = self._other_language(query.analysis)
        return EvidenceSet(tuple(sentences), tuple(hits), tuple(self.windows(sentences, other)))

    def _other_language(self, question: QuestionAnalysis) -> Callable[[Article], bool] | None:
        """Tells an article in the language the question is not in, where the sentence vectors can rank its
        sentences (a multilingual model): their words never cover the question's, so only dense similarity
        speaks for them."""
        if not self.cross_language:
            return None
        own = is_chinese(question.text)
        return lambda article: _article_chinese(article) != own

    def sentences(self, question: QuestionAnalysis, hits: list[ScoredChunk], qvec: np.ndarray) -> list[Evidence]:
        cfg = self.config
        seen: set[tuple[str, int]] = set()
        rows: list[tuple[ScoredChunk, int, int, float]] = []
        for hit in hits[:cfg.passages]:
            previous = ""
            for start, end in sentence_spans(hit.article.text, hit.chunk.start, hit.chunk.end):
                sentence = hit.article.text[start:end]
                if (hit.article.id, start) not in seen:
                    seen.add((hit.article.id, start))
                    rows.append((hit, start, end, self.weights.coverage(question, sentence, hit.article.title,
                                                                        previous)))
                previous = sentence
        if not rows:
            return []
        rows.sort(key=lambda r: -(r[3] + cfg.rank_tiebreak / r[0].rank))
        top = rows[:cfg.dense_sentences]
        other = self._other_language(question)
        if other is not None:  # the other language's sentences are scored by their vectors alone
            top += [r for r in rows[cfg.dense_sentences:] if other(r[0].article)][:cfg.dense_sentences]
        dense = self.vectors([(h.article, s, e) for h, s, e, _ in top]) @ qvec
        share = self.coverage_share(question)
        out = [Evidence(h.article, s, e, h.rank, cov, float(d),
                        share * cov + (1 - share) * float(d) + cfg.rank_bonus / h.rank)
               for (h, s, e, cov), d in zip(top, dense, strict=True)]
        return sorted(out, key=lambda ev: -ev.score)

    def coverage_share(self, question: QuestionAnalysis) -> float:
        """How much term coverage (against dense similarity) ranks a sentence: all of it when the embedder was
        not trained on the question's language, whose vectors would only add noise."""
        return self.config.coverage_weight if reads_language(self.multilingual, question.text) else 1.0

    def windows(self, evidence: list[Evidence], other: Callable[[Article], bool] | None = None) -> list[Passage]:
        """The best sentences with their neighbours, merged when they overlap, within a word budget; with
        ``other``, the last window goes to the best sentence in the question's other language if none has one."""
        limit = self.config.window_limit
        shown = self._windows(evidence, limit)
        if other is None:
            return shown
        foreign = [ev for ev in evidence if other(ev.article)]
        if not foreign or any(other(p.article) for p in shown):
            return shown
        own = self._windows([ev for ev in evidence if not other(ev.article)], limit - 1)
        last = self._windows([max(foreign, key=lambda ev: ev.dense)], 1)
        return own + [replace(p, rank=len(own) + 1) for p in last]

    def words(self, text: str) -> float:
        """``text``'s length against the word budget: Chinese has no spaces, so its characters are counted."""
        han = len(HAN.findall(text))
        return float(len(text.split())) if not han else len(HAN.sub(" ", text).split()) + han / self.config.han_per_word

    def _windows(self, evidence: list[Evidence], limit: int) -> list[Passage]:
        cfg = self.config
        out: list[Passage] = []
        spans_by_article: dict[str, list[tuple[int, int]]] = {}
        words = 0.0
        for ev in evidence:
            if len(out) >= limit:
                break
            spans = spans_by_article.setdefault(ev.article.id, sentence_spans(ev.article.text))
            idx = next((i for i, (s, _) in enumerate(spans) if s == ev.start), None)
            start, end = (ev.start, ev.end) if idx is None else (
                spans[max(0, idx - cfg.window_sentences)][0], spans[min(len(spans) - 1, idx + cfg.window_sentences)][1])
            merged = next((i for i, p in enumerate(out) if p.article.id == ev.article.id
                           and start <= p.end and end >= p.start), None)
            if merged is not None:
                p = out[merged]
                grown = replace(p, start=min(p.start, start), end=max(p.end, end))
                words += self.words(grown.text) - self.words(p.text)
                out[merged] = grown
                continue
            size = self.words(ev.article.text[start:end])
            if out and words + size > cfg.window_words:
                continue
            out.append(Passage(ev.article, start, end, len(out) + 1))
            words += size
        return out


def rerank(hits: list[ScoredChunk], evidence: list[Evidence], config: EvidenceConfig,
           coverage_share: float | None = None) -> list[ScoredChunk]:
    """Lift passages whose article holds the best-matching sentence: sentence-level evidence ranks more sharply.

    Fused scores are scaled to the top hit; each article adds ``rerank_weight`` times its best evidence score.
    """
    if config.rerank_weight <= 0 or not hits or not evidence:
        return hits
    share = config.coverage_weight if coverage_share is None else coverage_share
    best: dict[str, float] = {}
    for ev in evidence:
        value = share * ev.coverage + (1 - share) * ev.dense
        best[ev.article.id] = max(best.get(ev.article.id, 0.0), value)
    top = max(h.score for h in hits) or 1.0
    ordered = sorted(hits, key=lambda h: -(h.score / top + config.rerank_weight * best.get(h.article.id, 0.0)))
    return [replace(h, rank=i) for i, h in enumerate(ordered, start=1)]
