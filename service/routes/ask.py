"""Questions: ``POST /ask`` (the answer with its citations, or an abstention) and ``GET /search`` (ranked
passages)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import ValidationError

from core.errors import InvalidArticleError
from service.convert import ask_input, ask_response, passage, search_filters
from service.deps import MetricsDep, PipelineDep, RateLimitDep
from service.errors import ERROR_RESPONSES, RATE_LIMITED_RESPONSES
from service.schemas import AskRequest, AskResponse, Filters, SearchHit, SearchResponse

router = APIRouter(tags=["questions"])


@router.post("/ask", response_model=AskResponse, responses=RATE_LIMITED_RESPONSES, dependencies=[RateLimitDep])
def ask(body: AskRequest, pipeline: PipelineDep, metrics: MetricsDep) -> AskResponse:
    """Answer a question from the articles, with citations, or abstain when they do not hold the answer."""
    response = ask_response(pipeline.run(ask_input(body)))
    metrics.observe_answer(response)
    return response


@router.get("/search", response_model=SearchResponse, responses=ERROR_RESPONSES)
def search(
    pipeline: PipelineDep,
    q: Annotated[str, Query(min_length=1, max_length=1000, description="Search text.")],
    k: Annotated[int, Query(ge=1, le=50)] = 10,
    published_after: Annotated[str | None, Query(description="YYYY-MM-DD")] = None,
    published_before: Annotated[str | None, Query(description="YYYY-MM-DD")] = None,
    source: str | None = None,
) -> SearchResponse:
    """Ranked passages (hybrid BM25 + dense) with their fused and component scores."""
    try:
        filters = Filters.model_validate(
            {"published_after": published_after, "published_before": published_before, "source": source})
    except ValidationError as exc:
        raise InvalidArticleError(f"bad filter: {exc.errors()[0]['msg']}") from exc
    hits = pipeline.search(q, k, search_filters(filters))
    return SearchResponse(
        query=q, snapshot=pipeline.snapshot.version,
        hits=[SearchHit(**passage(h), dense_score=h.dense_score, lexical_score=h.lexical_score) for h in hits],
    )
