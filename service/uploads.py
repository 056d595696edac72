"""Reading an uploaded article from the request (JSON or a multipart file), before any route sees it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request
from fastapi.exceptions import RequestValidationError
from pydantic import ValidationError
from starlette.concurrency import run_in_threadpool

from core.errors import InvalidArticleError, PayloadTooLargeError
from service import library
from service.deps import SettingsDep
from service.schemas import ArticleIn

MULTIPART_SLACK_BYTES = 4096  # room for the multipart boundary and headers around a file at the size limit


@dataclass(frozen=True)
class Upload:
    """One article's file name and bytes, as they will be saved in the articles folder."""

    name: str
    data: bytes


async def read_upload(request: Request, settings: SettingsDep) -> Upload:
    """The article in the body: a multipart field ``file``, or an ``ArticleIn`` JSON object."""
    limit = settings.service.max_upload_bytes
    declared = int(request.headers.get("content-length") or 0)
    if declared > limit + MULTIPART_SLACK_BYTES:
        raise PayloadTooLargeError(f"request of {declared} bytes; uploads are limited to {limit}")
    ctype = request.headers.get("content-type", "")
    if ctype.startswith("multipart/form-data"):
        form = await request.form(max_files=1, max_fields=5)
        upload = form.get("file")
        if upload is None or isinstance(upload, str):
            raise InvalidArticleError("send the article as a multipart field named 'file'")
        return Upload(upload.filename or "upload.txt", await upload.read(limit + 1))
    if ctype.startswith("application/json") or not ctype:
        raw = await request.body()
        if len(raw) > limit:
            raise PayloadTooLargeError(f"request of {len(raw)} bytes; uploads are limited to {limit}")
        try:
            article_in = await run_in_threadpool(ArticleIn.model_validate_json, raw)
        except ValidationError as exc:
            raise RequestValidationError(exc.errors()) from exc
        data = library.json_article_bytes(article_in.title, article_in.text,
                                          article_in.date.isoformat() if article_in.date else None,
                                          article_in.url, article_in.authors)
        return Upload(f"{article_in.filename or article_in.title}.json", data)
    raise InvalidArticleError(f"unsupported content type {ctype!r}; send application/json or multipart/form-data")


UploadDep = Annotated[Upload, Depends(read_upload)]
