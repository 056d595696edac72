"""The one place where exceptions become HTTP responses with a JSON body ``{error, message, detail?}``."""

from __future__ import annotations

import math
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from core import errors as e

STATUS: dict[type[e.ArticleQAError], int] = {
    e.InvalidQuestionError: 422,
    e.UnsupportedFileError: 415,
    e.InvalidArticleError: 422,
    e.EmptyCorpusError: 422,
    e.ArticleNotFoundError: 404,
    e.JobNotFoundError: 404,
    e.ArticleExistsError: 409,
    e.IndexBusyError: 409,
    e.PayloadTooLargeError: 413,
    e.UnauthorizedError: 401,
    e.AdminDisabledError: 403,
    e.NotReadyError: 503,
    e.GeneratorUnavailableError: 503,
    e.GeneratorBusyError: 503,
    e.SnapshotNotFoundError: 503,
    e.SnapshotCorruptError: 503,
    e.RateLimitedError: 429,
    e.IndexWriteError: 507,
    e.IndexUnavailableError: 503,
}


def status_for(exc: e.ArticleQAError) -> int:
    for cls in type(exc).__mro__:
        if cls in STATUS:
            return STATUS[cls]
    return 500


def error_body(code: str, message: str, detail: Any = None) -> dict[str, Any]:
    body: dict[str, Any] = {"error": code, "message": message}
    if detail is not None:
        body["detail"] = detail
    return body


def _headers(status: int, exc: e.ArticleQAError) -> dict[str, str] | None:
    """401 names the auth scheme; 429 and 503 say when to come back."""
    if status == 401:
        return {"WWW-Authenticate": "Bearer"}
    if status in (429, 503):
        return {"Retry-After": str(max(1, math.ceil(getattr(exc, "retry_after", 5))))}
    return None


def install(app: FastAPI) -> None:
    @app.exception_handler(e.ArticleQAError)
    async def _domain(_: Request, exc: e.ArticleQAError) -> JSONResponse:
        status = status_for(exc)
        return JSONResponse(error_body(exc.code, str(exc)), status_code=status, headers=_headers(status, exc))

    @app.exception_handler(RequestValidationError)
    async def _validation(_: Request, exc: RequestValidationError) -> JSONResponse:
        problems = []
        for err in exc.errors():
            where = ".".join(str(p) for p in err.get("loc", ()) if p != "body") or "body"
            problems.append({"field": where, "problem": err.get("msg", "invalid"), "type": err.get("type")})
        if any(p["type"] == "json_invalid" for p in problems):
            message = "the request body is not valid JSON"
        else:
            message = "; ".join(f"{p['field']}: {p['problem']}" for p in problems[:5])
        return JSONResponse(error_body("invalid_request", message, problems), status_code=422)

    @app.exception_handler(StarletteHTTPException)
    async def _http(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = {404: "not_found", 405: "method_not_allowed", 413: "payload_too_large"}.get(exc.status_code,
                                                                                         "http_error")
        return JSONResponse(error_body(code, str(exc.detail)), status_code=exc.status_code,
                            headers=getattr(exc, "headers", None))
