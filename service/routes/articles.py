"""Articles: list and read what is served; add (JSON or a file) and remove, each queueing a rebuild."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from starlette.concurrency import run_in_threadpool

from core.errors import ArticleNotFoundError
from service import library
from service.convert import article_summary
from service.deps import AdminDep, PipelineDep, SettingsDep, StateDep
from service.errors import ERROR_RESPONSES
from service.schemas import ArticleAccepted, ArticleDetail, ArticleIn, ArticleList, Job
from service.uploads import UploadDep

router = APIRouter(responses=ERROR_RESPONSES)
UPLOAD_BODY = {"requestBody": {"content": {
    "application/json": {"schema": ArticleIn.model_json_schema()},
    "multipart/form-data": {"schema": {"type": "object", "properties": {
        "file": {"type": "string", "format": "binary"}}, "required": ["file"]}},
}, "required": True}}


@router.get("/articles", response_model=ArticleList, tags=["articles"])
def list_articles(
    pipeline: PipelineDep,
    offset: Annotated[int, Query(ge=0)] = 0,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> ArticleList:
    articles = sorted(pipeline.snapshot.articles.values(), key=lambda a: (a.date or "", a.id), reverse=True)
    return ArticleList(articles=[article_summary(a) for a in articles[offset:offset + limit]], total=len(articles),
                       snapshot=pipeline.snapshot.version)


@router.get("/articles/{article_id}", response_model=ArticleDetail, tags=["articles"])
def get_article(article_id: str, pipeline: PipelineDep) -> ArticleDetail:
    article = pipeline.snapshot.articles.get(article_id)
    if article is None:
        raise ArticleNotFoundError(f"no article with id {article_id!r}")
    return ArticleDetail(**article_summary(article).model_dump(), text=article.text, editor=article.editor,
                         source_office=article.source_office)


@router.post("/articles", status_code=202, response_model=ArticleAccepted, dependencies=[AdminDep], tags=["admin"],
             openapi_extra=UPLOAD_BODY)
async def add_article(upload: UploadDep, state: StateDep, settings: SettingsDep) -> ArticleAccepted:
    """Add one article (JSON, or a file upload in the field ``file``); it is saved and a rebuild queued."""
    articles = await run_in_threadpool(library.save, settings.articles_dir, upload.name, upload.data,
                                       settings.service.max_upload_bytes)
    job = state.jobs.submit("rebuild")
    return ArticleAccepted(article=article_summary(articles[0]), job=Job(**job))


@router.delete("/articles/{article_id}", status_code=202, response_model=Job, dependencies=[AdminDep],
               tags=["admin"])
def delete_article(article_id: str, state: StateDep, settings: SettingsDep) -> Job:
    """Remove an article from the articles folder and queue a rebuild without it."""
    article = state.pipeline.snapshot.articles.get(article_id)
    if article is None:
        raise ArticleNotFoundError(f"no article with id {article_id!r}")
    library.remove(settings.articles_dir, settings.data_dir, article)
    return Job(**state.jobs.submit("rebuild"))
