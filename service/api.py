"""HTTP routes; each stays thin and delegates to the answerer, the index state or the library."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from pydantic import ValidationError
from starlette.concurrency import run_in_threadpool

from core.config import Settings
from core.errors import ArticleNotFoundError, InvalidArticleError, PayloadTooLargeError
from index.retriever import ScoredChunk, SearchFilters
from service import conversation, library
from service.answer import AnswerResult
from service.deps import AdminDep, AnswererDep, FeedbackDep, MetricsDep, RateLimitDep, SettingsDep, StateDep
from service.schemas import (
    ArticleAccepted,
    ArticleDetail,
    ArticleIn,
    ArticleList,
    ArticleSummary,
    AskRequest,
    AskResponse,
    Citation,
    ErrorBody,
    FeedbackIn,
    FeedbackStored,
    Filters,
    Job,
    Passage,
    SearchHit,
    SearchResponse,
)

router = APIRouter()
ERRORS: dict[int | str, dict[str, Any]] = {
    code: {"model": ErrorBody} for code in (401, 403, 404, 409, 413, 415, 422, 503)
}


def _filters(filters: Filters | None) -> SearchFilters | None:
    if filters is None:
        return None
    return SearchFilters(filters.published_after, filters.published_before, filters.source)


def _passage(hit: ScoredChunk) -> dict[str, Any]:
    a = hit.article
    return {
        "chunk_id": hit.chunk.id, "article_id": a.id, "title": a.title, "date": a.date, "source": a.source,
        "url": a.url, "text": hit.chunk.text, "start": hit.chunk.start, "end": hit.chunk.end,
        "score": round(hit.score, 6), "rank": hit.rank,
    }


def plan(body: AskRequest, settings: Settings) -> tuple[conversation.Rewrite, SearchFilters | None]:
    """The standalone question to answer (a follow-up rewritten from ``history``) and the filters to use."""
    history = [conversation.PastTurn(t.question, t.answer, tuple(t.article_ids), t.rewritten_question)
               for t in body.history]
    rewriter = conversation.get_rewriter(settings.conversation_rewriter, settings.conversation_turns)
    return conversation.resolve(rewriter, body.question, history, _filters(body.filters))


def _ask_response(result: AnswerResult, asked: str | None = None) -> AskResponse:
    rewritten = result.question if asked is not None and result.question != " ".join(asked.split()) else None
    return AskResponse(
        rewritten_question=rewritten,
        question=asked if asked is not None else result.question, mode=result.mode, answer=result.answer,
        abstained=result.abstained,
        confidence=result.confidence, reason=result.reason,
        citations=[Citation(**c.__dict__) for c in result.citations],
        passages=[Passage(**_passage(h)) for h in result.hits], snapshot=result.snapshot,
        timings_ms={k: round(v, 2) for k, v in result.timings_ms.items()},
    )


@router.post("/ask", response_model=AskResponse, responses={**ERRORS, 429: {"model": ErrorBody}},
             dependencies=[RateLimitDep], tags=["questions"])
def ask(body: AskRequest, answerer: AnswererDep, settings: SettingsDep, metrics: MetricsDep) -> AskResponse:
    """Answer a question from the articles, with citations, or abstain when they do not hold the answer."""
    rewrite, filters = plan(body, settings)
    response = _ask_response(answerer.ask(rewrite.question, body.top_k, filters, body.mode, as_of=body.as_of),
                             body.question)
    metrics.observe_answer(response)
    return response


@router.get("/search", response_model=SearchResponse, responses=ERRORS, tags=["questions"])
def search(
    answerer: AnswererDep,
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
    hits = answerer.search(q, k, _filters(filters))
    return SearchResponse(
        query=q, snapshot=answerer.snapshot.version,
        hits=[SearchHit(**_passage(h), dense_score=h.dense_score, lexical_score=h.lexical_score) for h in hits],
    )


def _summary(article: Any) -> ArticleSummary:
    return ArticleSummary(id=article.id, title=article.title, date=article.date, source=article.source,
                          url=article.url, byline=article.byline)


@router.get("/articles", response_model=ArticleList, responses=ERRORS, tags=["articles"])
def list_articles(
    answerer: AnswererDep,
    offset: Annotated[int, Query(ge=0)] = 0,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> ArticleList:
    articles = sorted(answerer.snapshot.articles.values(), key=lambda a: (a.date or "", a.id), reverse=True)
    return ArticleList(articles=[_summary(a) for a in articles[offset:offset + limit]], total=len(articles),
                       snapshot=answerer.snapshot.version)


@router.get("/articles/{article_id}", response_model=ArticleDetail, responses=ERRORS, tags=["articles"])
def get_article(article_id: str, answerer: AnswererDep) -> ArticleDetail:
    article = answerer.snapshot.articles.get(article_id)
    if article is None:
        raise ArticleNotFoundError(f"no article with id {article_id!r}")
    return ArticleDetail(**_summary(article).model_dump(), text=article.text, editor=article.editor,
                         source_office=article.source_office)


@router.post("/articles", status_code=202, response_model=ArticleAccepted, responses=ERRORS,
             dependencies=[AdminDep], tags=["admin"],
             openapi_extra={"requestBody": {"content": {
                 "application/json": {"schema": ArticleIn.model_json_schema()},
                 "multipart/form-data": {"schema": {"type": "object", "properties": {
                     "file": {"type": "string", "format": "binary"}}, "required": ["file"]}},
             }, "required": True}})
async def add_article(request: Request, state: StateDep, settings: SettingsDep) -> ArticleAccepted:
    """Add one article (JSON, or a file upload in the field ``file``); it is saved and a rebuild queued."""
    declared = int(request.headers.get("content-length") or 0)
    if declared > settings.max_upload_bytes + 4096:
        raise PayloadTooLargeError(f"request of {declared} bytes; uploads are limited to {settings.max_upload_bytes}")
    ctype = request.headers.get("content-type", "")
    if ctype.startswith("multipart/form-data"):
        form = await request.form(max_files=1, max_fields=5)
        upload = form.get("file")
        if upload is None or isinstance(upload, str):
            raise InvalidArticleError("send the article as a multipart field named 'file'")
        data = await upload.read(settings.max_upload_bytes + 1)
        name = upload.filename or "upload.txt"
    elif ctype.startswith("application/json") or not ctype:
        raw = await request.body()
        if len(raw) > settings.max_upload_bytes:
            raise PayloadTooLargeError(
                f"request of {len(raw)} bytes; uploads are limited to {settings.max_upload_bytes}")
        try:
            article_in = await run_in_threadpool(ArticleIn.model_validate_json, raw)
        except ValidationError as exc:
            raise RequestValidationError(exc.errors()) from exc
        data = library.json_article_bytes(article_in.title, article_in.text,
                                          article_in.date.isoformat() if article_in.date else None,
                                          article_in.url, article_in.authors)
        name = f"{article_in.filename or article_in.title}.json"
    else:
        raise InvalidArticleError(f"unsupported content type {ctype!r}; send application/json or multipart/form-data")
    articles = await run_in_threadpool(library.save, settings.articles_dir, name, data, settings.max_upload_bytes)
    job = state.jobs.submit("rebuild")
    return ArticleAccepted(article=_summary(articles[0]), job=Job(**job))


@router.delete("/articles/{article_id}", status_code=202, response_model=Job, responses=ERRORS,
               dependencies=[AdminDep], tags=["admin"])
def delete_article(article_id: str, state: StateDep, settings: SettingsDep) -> Job:
    """Remove an article from the articles folder and queue a rebuild without it."""
    article = state.answerer.snapshot.articles.get(article_id)
    if article is None:
        raise ArticleNotFoundError(f"no article with id {article_id!r}")
    library.remove(settings.articles_dir, settings.data_dir, article)
    return Job(**state.jobs.submit("rebuild"))


@router.post("/index/rebuild", status_code=202, response_model=Job, responses=ERRORS,
             dependencies=[AdminDep], tags=["admin"])
def rebuild(state: StateDep) -> JSONResponse:
    """Re-read the articles folder and publish a new snapshot in the background; poll the job."""
    job = state.jobs.submit("rebuild", refuse_if_busy=True)
    return JSONResponse(Job(**job).model_dump(), status_code=202, headers={"Location": f"/index/jobs/{job['id']}"})


@router.get("/index/jobs/{job_id}", response_model=Job, responses=ERRORS, tags=["index"])
def get_job(job_id: str, state: StateDep) -> Job:
    return Job(**state.jobs.get(job_id))


@router.get("/index", responses=ERRORS, tags=["index"])
def index_manifest(state: StateDep) -> dict[str, Any]:
    """The manifest of the snapshot being served, plus any rebuild in progress."""
    answerer = state.answerer
    return {**answerer.snapshot.manifest, "rebuild": state.jobs.running(), "problems": state.problems[-5:]}


@router.post("/feedback", status_code=201, response_model=FeedbackStored, responses=ERRORS, tags=["feedback"])
def feedback(body: FeedbackIn, store: FeedbackDep) -> FeedbackStored:
    """Store a thumbs up or down with the question, answer, citations and snapshot it was about."""
    return FeedbackStored(**store.add(body.model_dump(mode="json")))


@router.get("/healthz", tags=["health"])
def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.get("/readyz", tags=["health"], responses={503: {"model": ErrorBody}})
def readyz(state: StateDep) -> JSONResponse:
    if not state.ready:
        return JSONResponse({"error": "not_ready", "message": "no snapshot loaded yet",
                             "detail": state.last_error}, status_code=503)
    return JSONResponse({"status": "ready", "snapshot": state.answerer.snapshot.version})


@router.get("/metrics", tags=["health"], response_class=Response,
            responses={200: {"content": {"text/plain": {}}, "description": "Prometheus text format."}})
def prometheus_metrics(state: StateDep, metrics: MetricsDep) -> Response:
    """Prometheus metrics: requests and latency by route, answers and abstentions, snapshot, rebuilds."""
    return Response(metrics.render(state), media_type=metrics.content_type)
