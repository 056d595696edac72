"""The evidence stage with a fake encoder: sentence scoring, passage re-ranking and the generator's windows."""

from __future__ import annotations

import numpy as np
import pytest

from core.documents import Article, Chunk
from index.retriever import ScoredChunk
from qa.evidence import EvidenceConfig, EvidenceStage, TermWeights
from qa.question import analyze_question
from qa.records import AnswerMode, Evidence, Query, Retrieved

TEXT = ("Museum news\n\nThe city museum opened in 1998. It has forty rooms. Its new director, Ann Lee, started in May. "
        "She worked at the national gallery. The cafe closes at six.")
MUSEUM = Article("m", "Museum news", TEXT, "m.txt", "h", "2023-05-02")
OTHER = Article("o", "Weather", "Weather\n\nRain is expected on Tuesday. Winds will be strong.", "o.txt", "h2")


def _hit(article: Article, rank: int, score: float) -> ScoredChunk:
    start = article.text.index("\n\n") + 2
    chunk = Chunk(f"{article.id}:0", article.id, 0, start, len(article.text), article.text[start:])
    return ScoredChunk(chunk, article, score, rank, 0.5, 1.0)


def fake_encode(texts: list[str]) -> np.ndarray:
    """A fake encoder: similarity 1 for sentences naming the director (主任), 0 otherwise (one fixed direction)."""
    return np.array([[1.0, 0.0] if "director" in t or "主任" in t else [0.0, 1.0] for t in texts], dtype=np.float32)


def _stage(**config: int | float) -> EvidenceStage:
    weights = TermWeights({"director": 0, "museum": 1}, np.array([1, 1]), 2)
    return EvidenceStage(weights, fake_encode, EvidenceConfig(**config))  # type: ignore[arg-type]


def _query(text: str) -> Query:
    return Query(text, text, analyze_question(text), AnswerMode.GENERATIVE, 5)


def test_the_sentence_that_matches_the_question_ranks_first() -> None:
    retrieved = Retrieved((_hit(OTHER, 1, 1.0), _hit(MUSEUM, 2, 0.9)), np.array([1.0, 0.0], dtype=np.float32))
    evidence = _stage().run(_query("Who is the museum's new director?"), retrieved)
    assert "Ann Lee" in evidence.sentences[0].text
    assert evidence.sentences[0].coverage > evidence.sentences[-1].coverage
    assert [h.article.id for h in evidence.hits] == ["m", "o"], "the article with the best sentence is lifted"


def test_windows_add_neighbours_merge_overlaps_and_keep_to_the_word_budget() -> None:
    retrieved = Retrieved((_hit(MUSEUM, 1, 1.0),), np.array([1.0, 0.0], dtype=np.float32))
    wide = _stage(window_sentences=1, window_limit=4, window_words=200).run(_query("Who is the director?"), retrieved)
    first = wide.passages[0]
    assert "It has forty rooms." in first.text and "national gallery" in first.text
    pairs = zip(wide.passages, wide.passages[1:], strict=False)
    assert all(a.end <= b.start or a.article.id != b.article.id for a, b in pairs)
    tight = _stage(window_sentences=0, window_limit=4, window_words=8).run(_query("Who is the director?"), retrieved)
    assert len(tight.passages) == 1 and tight.passages[0].text.startswith("Its new director")


def test_no_hits_give_empty_evidence() -> None:
    evidence = _stage().run(_query("Who?"), Retrieved((), np.zeros(2, dtype=np.float32)))
    assert evidence.sentences == () and evidence.passages == () and evidence.hits == ()


def test_a_chinese_question_is_ranked_by_coverage_when_the_vectors_read_only_english() -> None:
    """MiniLM's vectors of Chinese text are noise: the sentences of a Chinese question are ranked by the terms they
    cover; a multilingual embedder's similarity still counts."""
    text = "中心新闻\n\n中心于1998年启用。中心有四十个房间。新主任李安于五月上任。咖啡馆六点关门。"
    article = Article("z", "中心新闻", text, "z.txt", "hz")
    retrieved = Retrieved((_hit(article, 1, 1.0),), np.array([1.0, 0.0], dtype=np.float32))
    question = _query("中心的新主任是谁？")
    weights = TermWeights({"主任": 0, "中心": 1}, np.array([1, 1]), 2)
    config = EvidenceConfig()
    english_only = EvidenceStage(weights, fake_encode, config).run(question, retrieved).sentences
    assert all(ev.score == pytest.approx(ev.coverage + config.rank_bonus) for ev in english_only)
    assert "李安" in english_only[0].text
    both = EvidenceStage(weights, fake_encode, config, multilingual=True).run(question, retrieved).sentences
    named = next(ev for ev in both if "主任" in ev.text)
    assert named.dense == 1.0
    assert named.score == pytest.approx(config.coverage_weight * named.coverage + (1 - config.coverage_weight)
                                        + config.rank_bonus)


def test_chinese_windows_keep_to_the_word_budget_by_their_characters() -> None:
    """Chinese has no spaces: a window of it is counted in characters, so it is no longer one "word" however long."""
    sentences = [f"这是第{n}句，" + "中" * 24 + "。" for n in range(4)]
    text = "标题\n\n" + "另有。".join(sentences)  # a sentence between them, so the windows stay apart
    article = Article("z", "标题", text, "z.txt", "hz")
    starts = [text.index(s) for s in sentences]
    evidence = [Evidence(article, s, s + len(sent), 1, 1.0, 0.0, 1.0 - i / 10)
                for i, (s, sent) in enumerate(zip(starts, sentences, strict=True))]
    stage = _stage(window_sentences=0, window_limit=4, window_words=40, han_per_word=2.0)
    assert stage.words(sentences[0]) == pytest.approx(28 / 2 + 3)  # 28 Han characters; "0", "，" and "。"
    assert len(stage.windows(evidence)) == 2
    assert stage.words("The city museum opened in 1998.") == 6
