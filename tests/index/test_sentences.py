"""Sentence vectors computed at ingest: stored with the index, reused by the evidence stage, never re-encoded."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest

from index.backends.local import LocalBackend
from index.embedding import Embedder, MiniLMEmbedder, Spans
from index.retriever import HybridRetriever, RetrievalConfig, ScoredChunk
from index.sentences import SENTENCES_FILE, SentenceTable, chunk_sentence_groups, chunk_sentences
from ingest.chunking import embedding_text
from ingest.pipeline import build_snapshot
from qa.evidence import EvidenceStage, TermWeights
from qa.question import analyze_question
from qa.records import AnswerMode, Query, Retrieved
from tests.conftest import SeedIndex, make_settings


def test_the_table_round_trips_and_finds_rows(tmp_path: Path) -> None:
    table = SentenceTable(np.array(["a", "b"]), np.array([0, 5]), np.array([4, 9]),
                          np.eye(2, 3, dtype=np.float32))
    (tmp_path / SENTENCES_FILE).write_bytes(table.to_bytes())
    loaded = SentenceTable.read(tmp_path)
    assert loaded is not None and len(loaded) == 2
    assert np.array_equal(loaded.vector("b", 5, 9), table.vectors[1])  # type: ignore[arg-type]
    assert loaded.vector("b", 5, 10) is None and SentenceTable.read(tmp_path / "none") is None


def test_the_seed_index_holds_a_vector_for_every_chunk_sentence(seed_index: SeedIndex, embedder: Embedder) -> None:
    snapshot = seed_index.snapshot
    table = snapshot.sentences
    assert table is not None and snapshot.manifest["counts"]["sentences"] == len(table)
    rows = chunk_sentences(snapshot.articles, snapshot.chunks)
    assert len(rows) == len(table)
    article_id, start, end = rows[3]
    vector = table.vector(article_id, start, end)
    expected = embedder.encode([snapshot.articles[article_id].text[start:end]])[0]
    assert vector is not None and float(vector @ expected) > 0.999


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


def test_the_evidence_stage_encodes_nothing_but_the_question(seed_index: SeedIndex, embedder: Embedder) -> None:
    snapshot = seed_index.snapshot
    encoded: list[str] = []

    def encode(texts: list[str]) -> np.ndarray:
        encoded.extend(texts)
        return embedder.encode(texts)

    stage = EvidenceStage(TermWeights(*snapshot.term_stats()), encode, sentences=snapshot.sentences)
    text = "When was the Manchester joint centre founded?"
    hits = tuple(h for h in _hits(seed_index, embedder, text))
    evidence = stage.run(Query(text, text, analyze_question(text), AnswerMode.EXTRACTIVE, 5),
                         Retrieved(hits, embedder.encode_query(text)))
    assert evidence.sentences and "2014" in " ".join(ev.text for ev in evidence.sentences[:3])
    assert encoded == []


def _hits(seed_index: SeedIndex, embedder: Embedder, text: str) -> list[ScoredChunk]:
    return HybridRetriever(seed_index.snapshot, embedder, RetrievalConfig()).search(text, 5).hits

