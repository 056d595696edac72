"""Sentence vectors: computed at ingest and stored with the index (deferred, the default, separate or pooled),
or encoded when a question needs them (on demand), and either way never encoded twice."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from index.backends.base import IndexSnapshot
from index.backends.local import LocalBackend
from index.embedding import Embedder, MiniLMEmbedder, Spans
from index.retriever import HybridRetriever, RetrievalConfig, ScoredChunk
from index.sentences import SENTENCES_FILE, SentenceTable, chunk_sentence_groups, chunk_sentences
from index.snapshot import Snapshot
from ingest.chunking import embedding_text
from ingest.pipeline import build_snapshot
from qa.evidence import EvidenceStage, TermWeights
from qa.question import analyze_question
from qa.records import AnswerMode, EvidenceSet, Query, Retrieved
from tests.conftest import SeedIndex, make_settings
from tests.milvus_support import copy_seed


def test_the_table_round_trips_and_finds_rows(tmp_path: Path) -> None:
    table = SentenceTable(np.array(["a", "b"]), np.array([0, 5]), np.array([4, 9]),
                          np.eye(2, 3, dtype=np.float32))
    (tmp_path / SENTENCES_FILE).write_bytes(table.to_bytes())
    loaded = SentenceTable.read(tmp_path)
    assert loaded is not None and len(loaded) == 2
    assert np.array_equal(loaded.vector("b", 5, 9), table.vectors[1])  # type: ignore[arg-type]
    assert loaded.vector("b", 5, 10) is None and SentenceTable.read(tmp_path / "none") is None


@pytest.fixture(scope="module")
def on_demand(tmp_path_factory: pytest.TempPathFactory, seed_index: SeedIndex) -> tuple[IndexSnapshot, Path]:
    """The seed articles built with sentence vectors left to question time (chunk vectors from the seed's cache)."""
    articles, data = copy_seed(seed_index, tmp_path_factory.mktemp("on-demand"))
    report = build_snapshot(articles, data, make_settings(articles, data, embedding_sentence_vectors="on_demand"))
    assert report.published and report.embedded == 0
    return LocalBackend(data).load_latest()[0], data


def test_an_on_demand_build_encodes_its_passages_only(on_demand: tuple[IndexSnapshot, Path]) -> None:
    snapshot, data = on_demand
    assert snapshot.sentences is None and "sentences" not in snapshot.manifest["counts"]
    assert not (data / "snapshots" / snapshot.version / SENTENCES_FILE).exists()


def test_a_default_build_holds_a_vector_for_every_chunk_sentence(seed_index: SeedIndex, embedder: Embedder) -> None:
    snapshot = seed_index.snapshot
    table = snapshot.sentences
    assert seed_index.settings.embedding.sentence_vectors == "deferred"
    assert table is not None and snapshot.manifest["counts"]["sentences"] == len(table)
    rows = chunk_sentences(snapshot.articles, snapshot.chunks)
    assert len(rows) == len(table)
    article_id, start, end = rows[3]
    vector = table.vector(article_id, start, end)
    expected = embedder.encode([snapshot.articles[article_id].text[start:end]])[0]
    assert vector is not None and float(vector @ expected) > 0.999


def test_switching_the_setting_rebuilds_once(tmp_path: Path, seed_index: SeedIndex) -> None:
    articles, data = copy_seed(seed_index, tmp_path)
    assert build_snapshot(articles, data, make_settings(articles, data)).published
    settings = make_settings(articles, data, embedding_sentence_vectors="on_demand")
    assert build_snapshot(articles, data, settings).published
    assert LocalBackend(data).load_latest()[0].sentences is None
    assert not build_snapshot(articles, data, settings).published


NEW_ARTICLE = ("Rowing club wins the river cup\n\nThe university rowing club won the river cup on Saturday. "
               "Eight crews raced over two kilometres. The club's coach, Mei Ling Chan, has trained crews for "
               "twelve years. The cup returns to the boathouse on Monday.\n")


def _deferring(root: Path, seed_index: SeedIndex, **extra: object) -> tuple[Path, Path, object]:
    """The seed articles and caches plus one article whose sentences the cache lacks, built deferred."""
    articles, data = copy_seed(seed_index, root)
    (articles / "rowing.txt").write_text(NEW_ARTICLE)
    return articles, data, make_settings(articles, data, embedding_deferred_inline_sentences=0, **extra)


def test_a_deferred_build_serves_its_passages_first_then_every_sentence_vector(
        tmp_path: Path, seed_index: SeedIndex, embedder: Embedder) -> None:
    articles, data, settings = _deferring(tmp_path, seed_index)
    served: list[IndexSnapshot] = []
    report = build_snapshot(articles, data, settings,  # type: ignore[arg-type]
                            on_first_version=lambda v: served.append(LocalBackend(data).load(v)))
    assert report.published and report.first_version is not None and report.first_seconds is not None
    assert [s.version for s in served] == [report.first_version] and served[0].sentences is None
    assert served[0].manifest["build"]["sentences_pending"] is True
    final = LocalBackend(data).load_latest()[0]
    assert final.version == report.version != report.first_version
    assert "sentences_pending" not in final.manifest["build"]
    assert [c.start for c in final.chunks] == [c.start for c in served[0].chunks]
    assert isinstance(final, Snapshot) and isinstance(served[0], Snapshot)
    assert np.array_equal(final.dense.reconstruct_n(0, final.dense.ntotal),
                          served[0].dense.reconstruct_n(0, served[0].dense.ntotal))
    rows = chunk_sentences(final.articles, final.chunks)
    assert final.sentences is not None and len(final.sentences) == len(rows)
    rowing = [r for r in rows if "rowing" in r[0]]
    article_id, start, end = rowing[2]
    vector = final.sentences.vector(article_id, start, end)
    expected = embedder.encode([final.articles[article_id].text[start:end]])[0]
    assert vector is not None and float(vector @ expected) > 0.999
    assert not build_snapshot(articles, data, settings).published  # type: ignore[arg-type]


def test_a_build_stopped_before_its_sentence_vectors_is_completed_by_the_next(
        tmp_path: Path, seed_index: SeedIndex) -> None:
    articles, data, settings = _deferring(tmp_path, seed_index)

    def stop_at_sentences(stage: str, done: int, total: int) -> None:
        if stage == "sentences" and done < total:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        build_snapshot(articles, data, settings, stop_at_sentences)  # type: ignore[arg-type]
    first = LocalBackend(data).load_latest()[0]
    assert first.sentences is None and any("rowing" in a for a in first.articles)
    report = build_snapshot(articles, data, settings)  # type: ignore[arg-type]
    assert report.published and report.first_version is None  # the pending version is completed, not repeated
    assert LocalBackend(data).load_latest()[0].sentences is not None


def test_a_small_deferred_build_publishes_once_with_its_sentences(tmp_path: Path, seed_index: SeedIndex) -> None:
    articles, data = copy_seed(seed_index, tmp_path)
    (articles / "rowing.txt").write_text(NEW_ARTICLE)
    report = build_snapshot(articles, data, make_settings(articles, data))
    assert report.published and report.first_version is None
    assert LocalBackend(data).load_latest()[0].sentences is not None
    separate = make_settings(articles, data, embedding_sentence_vectors="separate")
    assert not build_snapshot(articles, data, separate).published  # the same stored index: no rebuild


def test_pooled_sentence_vectors_come_from_their_chunks_pass(tmp_path: Path, seed_index: SeedIndex,
                                                             embedder: Embedder,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    """With pooled vectors a first build's only forward passes are over the chunks (no sentence is encoded on
    its own), and each sentence's vector is the mean of its tokens' states in its chunk's pass."""
    pooled_texts: list[str] = []
    original = MiniLMEmbedder.encode_pooled

    def counting(self: MiniLMEmbedder, texts: Sequence[str], spans: Sequence[Spans],
                 batch_size: int = 32) -> tuple[np.ndarray, list[np.ndarray]]:
        pooled_texts.extend(texts)
        return original(self, texts, spans, batch_size)

    def refuse(self: MiniLMEmbedder, texts: Sequence[str], batch_size: int = 32) -> np.ndarray:
        raise AssertionError(f"encoded on its own: {texts[:1]}")

    data = tmp_path / "data"
    settings = make_settings(seed_index.articles_dir, data, embedding_sentence_vectors="pooled")
    with monkeypatch.context() as patch:
        patch.setattr(MiniLMEmbedder, "encode_pooled", counting)
        patch.setattr(MiniLMEmbedder, "encode", refuse)
        report = build_snapshot(seed_index.articles_dir, data, settings)
    snapshot = LocalBackend(data).load_latest()[0]
    table = snapshot.sentences
    assert report.published and report.embedded == len(snapshot.chunks) == len(pooled_texts)
    assert table is not None and len(table) > len(snapshot.chunks)

    groups = chunk_sentence_groups(snapshot.articles, snapshot.chunks)
    assert sum(len(g) for g in groups) == len(table)
    chunk = snapshot.chunks[1]
    article = snapshot.articles[chunk.article_id]
    text = embedding_text(article, chunk)
    offset = len(text) - len(chunk.text)
    spans = [(offset + s - chunk.start, offset + e - chunk.start) for _, s, e in groups[1]]
    assert [text[a:b] for a, b in spans] == [article.text[s:e] for _, s, e in groups[1]]
    passage, pooled = embedder.encode_pooled([text], [spans])
    assert float(passage[0] @ embedder.encode([text])[0]) > 0.9999
    for (article_id, start, end), expected in zip(groups[1], pooled[0], strict=True):
        vector = table.vector(article_id, start, end)
        assert vector is not None and float(vector @ expected) > 0.999
        alone = embedder.encode([article.text[start:end]])[0]
        assert float(vector @ alone) < 0.999  # read in context, not as a text of its own


def test_with_stored_sentences_the_evidence_stage_encodes_nothing(seed_index: SeedIndex, embedder: Embedder) -> None:
    encoded: list[str] = []
    snapshot = seed_index.snapshot
    stage = EvidenceStage(TermWeights(*snapshot.term_stats()), _counting(encoded, embedder),
                          sentences=snapshot.sentences)
    evidence = _evidence(stage, seed_index, embedder, QUESTION)
    assert evidence.sentences and "2014" in " ".join(ev.text for ev in evidence.sentences[:3])
    assert encoded == []


def test_on_demand_the_evidence_stage_encodes_a_few_sentences_once_and_scores_them_alike(
        on_demand: tuple[IndexSnapshot, Path], seed_index: SeedIndex, embedder: Embedder) -> None:
    """A question encodes only the sentences it scores densely; a repeat encodes none; the scores equal those
    of vectors stored at build time, so answers do not depend on the setting."""
    encoded: list[str] = []
    snapshot = on_demand[0]
    weights = TermWeights(*snapshot.term_stats())
    stage = EvidenceStage(weights, _counting(encoded, embedder), sentences=snapshot.sentences)
    first = _evidence(stage, seed_index, embedder, QUESTION)
    assert 0 < len(encoded) <= stage.config.dense_sentences
    assert len(encoded) < len(chunk_sentences(seed_index.snapshot.articles, seed_index.snapshot.chunks))
    count = len(encoded)
    again = _evidence(stage, seed_index, embedder, QUESTION)
    assert len(encoded) == count and again == first
    stored = _evidence(EvidenceStage(weights, _counting([], embedder), sentences=seed_index.snapshot.sentences),
                       seed_index, embedder, QUESTION)
    assert [(ev.start, ev.end) for ev in first.sentences] == [(ev.start, ev.end) for ev in stored.sentences]
    assert np.allclose([ev.dense for ev in first.sentences], [ev.dense for ev in stored.sentences], atol=1e-4)


def test_remembered_sentences_are_bounded(seed_index: SeedIndex, embedder: Embedder) -> None:
    encoded: list[str] = []
    weights = TermWeights(*seed_index.snapshot.term_stats())
    stage = EvidenceStage(weights, _counting(encoded, embedder), replace(weights.config, remembered_sentences=3))
    assert stage.table is None
    _evidence(stage, seed_index, embedder, QUESTION)
    assert len(encoded) > 3 and len(stage._remembered) == 3


QUESTION = "When was the Manchester joint centre founded?"


def _counting(encoded: list[str], embedder: Embedder) -> Callable[[list[str]], np.ndarray]:
    def encode(texts: list[str]) -> np.ndarray:
        encoded.extend(texts)
        return embedder.encode(texts)
    return encode


def _evidence(stage: EvidenceStage, seed_index: SeedIndex, embedder: Embedder, text: str) -> EvidenceSet:
    hits = tuple(_hits(seed_index, embedder, text))
    return stage.run(Query(text, text, analyze_question(text), AnswerMode.EXTRACTIVE, 5),
                     Retrieved(hits, embedder.encode_query(text)))


def _hits(seed_index: SeedIndex, embedder: Embedder, text: str) -> list[ScoredChunk]:
    return HybridRetriever(seed_index.snapshot, embedder, RetrievalConfig()).search(text, 5).hits

