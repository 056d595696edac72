"""The one place where exceptions become HTTP responses with a JSON body ``{error, message, detail?}``, or, under
``/v1/`` (the OpenAI-compatible chat API), OpenAI's ``{"error": {message, type, param, code}}`` with 400 for
a request it cannot take."""

from __future__ import annotations

import math
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from core import errors as e
from service.schemas import ErrorBody

STATUS: dict[type[e.ArticleQAError], int] = {
    e.InvalidQuestionError: 422,
    e.UnsupportedFileError: 415,
    e.InvalidArticleError: 422,
    e.EmptyCorpusError: 422,
    e.ArticleNotFoundError: 404,
    e.JobNotFoundError: 404,
    e.ArticleExistsError: 409,
    e.IndexBusyError: 409,
    e.FeedsNotConfiguredError: 409,
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
    e.InvalidChatRequestError: 400,
    e.ModelNotFoundError: 404,
}
# What the OpenAPI document lists for the routes of article-qa's own API (the body is always ``ErrorBody``).
ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    code: {"model": ErrorBody} for code in (401, 403, 404, 409, 413, 415, 422, 503)
}
RATE_LIMITED_RESPONSES: dict[int | str, dict[str, Any]] = {**ERROR_RESPONSES, 429: {"model": ErrorBody}}
OPENAI_PREFIX = "/v1/"
OPENAI_TYPES = {401: "invalid_request_error", 403: "permission_error", 429: "rate_limit_error"}
OPENAI_PARAMS = {"invalid_question": "messages"}  # the chat request field a domain error is about


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


def is_openai(path: str) -> bool:
    return path.startswith(OPENAI_PREFIX)


def openai_error_body(status: int, code: str, message: str, param: str | None = None) -> dict[str, Any]:
    """OpenAI's error shape; its ``type`` follows the status as OpenAI's own API does."""
    server_side = status >= HTTPStatus.INTERNAL_SERVER_ERROR
    kind = "server_error" if server_side else OPENAI_TYPES.get(status, "invalid_request_error")
    return {"error": {"message": message, "type": kind, "param": param or OPENAI_PARAMS.get(code), "code": code}}


def respond(path: str, status: int, code: str, message: str, detail: Any = None, param: str | None = None,
            headers: dict[str, str] | None = None) -> JSONResponse:
    """The error response in the shape the path's clients expect (a 422 is OpenAI's 400 under ``/v1/``)."""
    if is_openai(path):
        status = HTTPStatus.BAD_REQUEST if status == HTTPStatus.UNPROCESSABLE_ENTITY else status
        return JSONResponse(openai_error_body(status, code, message, param), status_code=status, headers=headers)
    return JSONResponse(error_body(code, message, detail), status_code=status, headers=headers)


def _param(loc: tuple[Any, ...]) -> str | None:
    """A validation error's place in OpenAI's notation, e.g. ``messages.[0].role``."""
    parts: list[str] = []
    for part in loc[1:] if loc[:1] == ("body",) else loc:
        if isinstance(part, str) and not part.isidentifier():
            break  # a union member's tag, like 'constrained-str', not a field
        parts.append(f"[{part}]" if isinstance(part, int) else str(part))
    return ".".join(parts) or None


def _headers(status: int, exc: e.ArticleQAError) -> dict[str, str] | None:
    """401 names the auth scheme; 429 and 503 say when to come back."""
    if status == HTTPStatus.UNAUTHORIZED:
        return {"WWW-Authenticate": "Bearer"}
    if status in (429, 503):
        return {"Retry-After": str(max(1, math.ceil(getattr(exc, "retry_after", 5))))}
    return None


def install(app: FastAPI) -> None:
    @app.exception_handler(e.ArticleQAError)
    async def _domain(request: Request, exc: e.ArticleQAError) -> JSONResponse:
        status = status_for(exc)
        return respond(request.url.path, status, exc.code, str(exc), param=getattr(exc, "param", None),
                       headers=_headers(status, exc))

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> JSONResponse:
        problems = []
        for err in exc.errors():
            where = ".".join(str(p) for p in err.get("loc", ()) if p != "body") or "body"
            problems.append({"field": where, "problem": err.get("msg", "invalid"), "type": err.get("type")})
        if any(p["type"] == "json_invalid" for p in problems):
            message = "the request body is not valid JSON"
        else:
            message = "; ".join(f"{p['field']}: {p['problem']}" for p in problems[:5])
        param = _param(tuple(exc.errors()[0].get("loc", ()))) if problems and "JSON" not in message else None
        return respond(request.url.path, 422, "invalid_request", message, problems, param)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = {404: "not_found", 405: "method_not_allowed", 413: "payload_too_large"}.get(exc.status_code,
                                                                                         "http_error")
        return respond(request.url.path, exc.status_code, code, str(exc.detail),
                       headers=getattr(exc, "headers", None))
