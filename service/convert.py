"""Between the wire and the answering stages: HTTP request bodies to ``qa`` inputs, ``qa`` records to responses."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from index.retriever import ScoredChunk, SearchFilters
from qa import conversation
from qa.records import Answer, AskInput
from qa.records import Turn as PastTurn
from service.confidence import confidence_label
from service.schemas import ArticleSummary, AskRequest, AskResponse, ChatMessage, Citation, Filters, Passage, Turn


def search_filters(filters: Filters | None) -> SearchFilters | None:
    if filters is None:
        return None
    return SearchFilters(filters.published_after, filters.published_before, filters.source)


def passage(hit: ScoredChunk) -> dict[str, Any]:
    """A ranked passage as the API shows it: where it sits in its article and how it scored."""
    a = hit.article
    return {
        "chunk_id": hit.chunk.id, "article_id": a.id, "title": a.title, "date": a.date, "source": a.source,
        "url": a.url, "text": hit.chunk.text, "start": hit.chunk.start, "end": hit.chunk.end,
        "score": round(hit.score, 6), "rank": hit.rank,
    }


def article_summary(article: Any) -> ArticleSummary:
    return ArticleSummary(id=article.id, title=article.title, date=article.date, source=article.source,
                          url=article.url, byline=article.byline)


def ask_input(body: AskRequest) -> AskInput:
    """The answering pipeline's request: the question, its filters and the earlier turns."""
    return AskInput(body.question, history_turns(body.history), body.top_k, search_filters(body.filters), body.mode,
                    body.as_of)


def history_turns(history: list[Turn | ChatMessage]) -> tuple[PastTurn, ...]:
    """Turns from either shape, oldest first (a run of chat messages is paired into question and answer)."""
    turns: list[PastTurn] = []
    messages: list[tuple[str, str]] = []
    for item in history:
        if isinstance(item, ChatMessage):
            messages.append((item.role, item.content))
            continue
        turns.extend(conversation.turns_from_messages(messages))
        messages = []
        turns.append(PastTurn(item.question, item.answer, tuple(item.article_ids), item.rewritten_question))
    turns.extend(conversation.turns_from_messages(messages))
    return tuple(turns)


def ask_response(result: Answer) -> AskResponse:
    return AskResponse(
        rewritten_question=result.rewritten_question, question=result.question, mode=result.mode,
        answer=result.answer, abstained=result.abstained, confidence=result.confidence,
        confidence_label=confidence_label(result.confidence, result.abstained), final=result.final,
        reason=result.reason,
        citations=[Citation(**asdict(c)) for c in result.citations],
        passages=[Passage(**passage(h)) for h in result.hits], snapshot=result.snapshot,
        timings_ms={k: round(v, 2) for k, v in result.timings_ms.items()},
    )
