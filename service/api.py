"""HTTP routes; each stays thin and delegates to the answerer, the index state or the library."""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from pydantic import ValidationError
from starlette.concurrency import run_in_threadpool

from core.errors import ArticleNotFoundError, InvalidArticleError, PayloadTooLargeError
from index.retriever import ScoredChunk, SearchFilters
from qa import conversation
from qa.records import Answer, AskInput
from qa.records import Turn as PastTurn
from service import library
from service.confidence import confidence_label
from service.deps import AdminDep, FeedbackDep, MetricsDep, PipelineDep, RateLimitDep, SettingsDep, StateDep
from service.feeds import feeds_status
from service.schemas import (
    ArticleAccepted,
    ArticleDetail,
    ArticleIn,
    ArticleList,
    ArticleSummary,
    AskRequest,
    AskResponse,
    ChatMessage,
    Citation,
    ErrorBody,
    FeedbackIn,
    FeedbackStored,
    Filters,
    Job,
    Passage,
    SearchHit,
    SearchResponse,
    Turn,
)
from service.state import no_articles_message

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


def ask_input(body: AskRequest) -> AskInput:
    """The answering pipeline's request: the question, its filters and the earlier turns."""
    return AskInput(body.question, history_turns(body.history), body.top_k, _filters(body.filters), body.mode,
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
        passages=[Passage(**_passage(h)) for h in result.hits], snapshot=result.snapshot,
        timings_ms={k: round(v, 2) for k, v in result.timings_ms.items()},
    )


@router.post("/ask", response_model=AskResponse, responses={**ERRORS, 429: {"model": ErrorBody}},
             dependencies=[RateLimitDep], tags=["questions"])
def ask(body: AskRequest, pipeline: PipelineDep, metrics: MetricsDep) -> AskResponse:
    """Answer a question from the articles, with citations, or abstain when they do not hold the answer."""
    response = ask_response(pipeline.run(ask_input(body)))
    metrics.observe_answer(response)
    return response


@router.get("/search", response_model=SearchResponse, responses=ERRORS, tags=["questions"])
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
    hits = pipeline.search(q, k, _filters(filters))
    return SearchResponse(
        query=q, snapshot=pipeline.snapshot.version,
        hits=[SearchHit(**_passage(h), dense_score=h.dense_score, lexical_score=h.lexical_score) for h in hits],
    )


def _summary(article: Any) -> ArticleSummary:
    return ArticleSummary(id=article.id, title=article.title, date=article.date, source=article.source,
                          url=article.url, byline=article.byline)


@router.get("/articles", response_model=ArticleList, responses=ERRORS, tags=["articles"])
def list_articles(
    pipeline: PipelineDep,
    offset: Annotated[int, Query(ge=0)] = 0,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> ArticleList:
    articles = sorted(pipeline.snapshot.articles.values(), key=lambda a: (a.date or "", a.id), reverse=True)
    return ArticleList(articles=[_summary(a) for a in articles[offset:offset + limit]], total=len(articles),
                       snapshot=pipeline.snapshot.version)


@router.get("/articles/{article_id}", response_model=ArticleDetail, responses=ERRORS, tags=["articles"])
def get_article(article_id: str, pipeline: PipelineDep) -> ArticleDetail:
    article = pipeline.snapshot.articles.get(article_id)
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
    article = state.pipeline.snapshot.articles.get(article_id)
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
def index_manifest(state: StateDep, request: Request) -> dict[str, Any]:
    """The manifest of the snapshot being served, plus any rebuild in progress and, with feeds, what their
    last polls fetched, skipped and failed."""
    pipeline = state.pipeline
    manifest = {**pipeline.snapshot.manifest, "rebuild": state.jobs.running(), "problems": state.problems[-5:]}
    feeds = feeds_status(request.app)
    return manifest if feeds is None else {**manifest, "feeds": feeds}


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
        job = state.jobs.running()
        if state.no_articles and job is None:
            return JSONResponse({"error": "no_articles", "message": no_articles_message(), "progress": None,
                                 "detail": state.last_error}, status_code=503)
        progress = job.get("progress") if job else None
        message = ("no snapshot loaded yet" if not progress
                   else f"building the first index, {progress['message']}")
        return JSONResponse({"error": "not_ready", "message": message, "progress": progress,
                             "detail": state.last_error}, status_code=503)
    return JSONResponse({"status": "ready", "snapshot": state.pipeline.snapshot.version})


@router.get("/metrics", tags=["health"], response_class=Response,
            responses={200: {"content": {"text/plain": {}}, "description": "Prometheus text format."}})
def prometheus_metrics(state: StateDep, metrics: MetricsDep) -> Response:
    """Prometheus metrics: requests and latency by route, answers and abstentions, snapshot, rebuilds."""
    return Response(metrics.render(state), media_type=metrics.content_type)
