"""Sentence vectors computed at ingest: stored with the index, reused by the evidence stage, never re-encoded."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from index.embedding import Embedder
from index.retriever import HybridRetriever, RetrievalConfig, ScoredChunk
from index.sentences import SENTENCES_FILE, SentenceTable, chunk_sentences
from qa.evidence import EvidenceStage, TermWeights
from qa.question import analyze_question
from qa.records import AnswerMode, Query, Retrieved
from tests.conftest import SeedIndex


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
