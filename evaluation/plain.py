"""The plain RAG baseline the answering stages must beat: hybrid top-3 chunks, "copy the answer or say NONE".

No evidence selection, no constraint, no grounding, no learned decision: whatever the model writes is the
answer (NONE is an abstention). It runs on the same index and generator as the pipeline, so
``article-qa eval DATASET --mode generative --with-plain`` compares the two side by side.
"""

from __future__ import annotations

import time
from datetime import date

from core.config import Settings
from index.backends.base import IndexSnapshot
from index.embedding import Embedder
from index.retriever import HybridRetriever, RetrievalConfig, ScoredChunk, SearchFilters
from qa.generation.constraint import NONE
from qa.readers.generative import GeneratorProvider
from qa.records import Answer, AnswerMode, Signals, Turn

PLAIN_CHUNKS = 3  # passages shown, as in the baseline measured before the answering stages existed
PLAIN_MAX_TOKENS = 32
PLAIN_PROMPT = ("Answer the question using only the passages below. Copy the answer from the passages, as short as "
                f"possible. If the passages do not contain the answer, reply exactly: {NONE}")


class PlainPipeline:
    """Answers like the pipeline (``ask``), with none of its checks."""

    def __init__(self, snapshot: IndexSnapshot, embedder: Embedder, settings: Settings,
                 generator: GeneratorProvider) -> None:
        self.snapshot = snapshot
        self.generator = generator
        self.retriever = HybridRetriever(snapshot, embedder, RetrievalConfig.of(settings.retrieval))

    def search(self, query: str, k: int, filters: SearchFilters | None = None) -> list[ScoredChunk]:
        return list(self.retriever.search(query, k, filters).hits)

    def ask(self, question: str, top_k: int | None = None, filters: SearchFilters | None = None,
            mode: AnswerMode | str | None = None, as_of: date | None = None,
            history: tuple[Turn, ...] = ()) -> Answer:
        """The plain baseline reads the question alone: a follow-up searches with the turns before it prepended."""
        started = time.perf_counter()
        search = " ".join([*(t.question for t in history[-1:]), question])
        hits = self.retriever.search(search, max(PLAIN_CHUNKS, top_k or 0), filters).hits
        passages = "\n".join(f"[{i}] {' '.join(h.chunk.text.split())}" for i, h in enumerate(hits[:PLAIN_CHUNKS], 1))
        messages = [{"role": "system", "content": PLAIN_PROMPT},
                    {"role": "user", "content": f"Passages:\n{passages}\nQuestion: {question}"}]
        raw = self.generator().complete(messages, PLAIN_MAX_TOKENS).strip().splitlines()
        text = raw[0].strip().strip(".").strip() if raw else ""
        answer = None if not text or NONE in text.upper() else text
        elapsed = (time.perf_counter() - started) * 1000
        return Answer(question, None, answer, answer is None, 1.0 if answer else 0.0, "plain baseline", (),
                      tuple(hits[:top_k or PLAIN_CHUNKS]), self.snapshot.version, "plain", True,
                      {"total_plain": elapsed}, Signals(raw=" ".join(raw)[:200], reader="plain"))
