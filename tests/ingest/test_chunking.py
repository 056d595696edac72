from __future__ import annotations

from core.documents import RawDocument
from core.text import sentence_spans
from ingest.chunking import ChunkingConfig, chunk_article, embedding_text
from ingest.cleaning import clean
from ingest.sources import scan_folder
from tests.conftest import SEED_ARTICLES


def test_chunks_are_whole_sentences_at_their_offsets() -> None:
    config = ChunkingConfig(target_words=60, max_words=90, overlap_sentences=1)
    for raw in scan_folder(SEED_ARTICLES).documents:
        article = clean(raw, "a")
        sentences = sentence_spans(article.text)
        starts, ends = {s for s, _ in sentences}, {e for _, e in sentences}
        chunks = chunk_article(article, config)
        assert len(chunks) > 1
        for chunk in chunks:
            assert article.text[chunk.start:chunk.end] == chunk.text
            assert chunk.start in starts and chunk.end in ends
        covered = set()
        for chunk in chunks:
            covered |= {s for s in starts if chunk.start <= s < chunk.end}
        assert covered == starts


def test_sentence_splitter_keeps_abbreviations_and_numbers() -> None:
    text = "Dr. Smith met Mr. Jones in Washington D.C. on Jan. 5, 2020. Growth was 5.5 percent. Next one."
    parts = [text[s:e] for s, e in sentence_spans(text)]
    assert parts == ["Dr. Smith met Mr. Jones in Washington D.C. on Jan. 5, 2020.", "Growth was 5.5 percent.",
                     "Next one."]


def test_embedding_text_carries_title_and_date() -> None:
    article = clean(RawDocument(key="k.txt", source="k.txt", text="Big title\n\n2 March 2024\n\n"
                                + "A sentence here. " * 80), "k")
    chunks = chunk_article(article, ChunkingConfig())
    later = embedding_text(article, chunks[-1])
    assert later.startswith("Big title (2024-03-02)")
