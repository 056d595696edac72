"""Sentence-aware chunking: chunks are runs of whole sentences that keep their offsets into the article."""

from __future__ import annotations

from dataclasses import dataclass

from core.documents import Article, Chunk
from core.text import sentence_spans


@dataclass(frozen=True)
class ChunkingConfig:
    target_words: int = 110
    max_words: int = 170
    overlap_sentences: int = 1


def chunk_article(article: Article, config: ChunkingConfig) -> list[Chunk]:
    """Greedy packing of sentences up to ``target_words``, overlapping by whole sentences."""
    sentences = sentence_spans(article.text)
    lengths = [len(article.text[s:e].split()) for s, e in sentences]
    spans: list[tuple[int, int]] = []
    i = 0
    while i < len(sentences):
        j, words = i, 0
        while j < len(sentences) and (j == i or words + lengths[j] <= config.target_words
                                      or (words < config.target_words // 2
                                          and words + lengths[j] <= config.max_words)):
            words += lengths[j]
            j += 1
        spans.append((sentences[i][0], sentences[j - 1][1]))
        if j >= len(sentences):
            break
        i = max(i + 1, j - config.overlap_sentences)
    return chunks_from_spans(article, spans)


def chunks_from_spans(article: Article, spans: list[tuple[int, int]]) -> list[Chunk]:
    """The article's chunks given their offsets (from the splitter or from the chunk cache)."""
    return [Chunk(id=f"{article.id}:{i}", article_id=article.id, index=i, start=s, end=e, text=article.text[s:e])
            for i, (s, e) in enumerate(spans)]


def embedding_text(article: Article, chunk: Chunk) -> str:
    """What the embedder sees: the chunk with its article's title and date as context."""
    header = article.title if not article.date else f"{article.title} ({article.date})"
    return chunk.text if chunk.index == 0 and chunk.text.startswith(article.title) else f"{header}\n{chunk.text}"


def lexical_text(article: Article, chunk: Chunk) -> str:
    """What BM25 indexes: title and metadata names, so "who wrote the article about X" still finds X."""
    extras = " ".join(v for v in (article.byline, article.editor, article.source_office) if v)
    return f"{article.title}\n{chunk.text}\n{extras}"
