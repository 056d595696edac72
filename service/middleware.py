"""ASGI middleware: request ids, access logs and metrics; and a hard limit on request body size."""

from __future__ import annotations

import json
import logging
import re
import time
import uuid
from collections.abc import Callable

from fastapi import HTTPException
from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from service import errors
from service.logs import REQUEST_ID
from service.metrics import Metrics

log = logging.getLogger("article_qa.access")
REQUEST_ID_HEADER = "X-Request-ID"
_SANE_ID = re.compile(r"^[A-Za-z0-9._:\-]{1,128}$")


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", []):
        if key.lower() == name:
            return str(value.decode("latin-1"))
    return None


def route_template(scope: Scope, root_path: str) -> str:
    """The matched route's template ("/articles/{article_id}"), so metrics never carry raw paths."""
    route = scope.get("route")
    path = getattr(route, "path", None)
    if isinstance(path, str):
        return path
    mounted = str(scope.get("root_path", ""))
    if mounted != root_path and mounted.startswith(root_path):
        return f"{mounted[len(root_path):]}/{{path}}"
    return "unmatched"


class RequestContextMiddleware:
    """Gives each request an id (a sane incoming ``X-Request-ID``, else a new one), echoes it in the response,
    logs one line per request and counts it in the metrics."""

    def __init__(self, app: ASGIApp, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        incoming = _header(scope, REQUEST_ID_HEADER.lower().encode())
        request_id = incoming if incoming and _SANE_ID.match(incoming) else uuid.uuid4().hex
        token = REQUEST_ID.set(request_id)
        root_path = str(scope.get("root_path", ""))
        status = 500
        started = time.perf_counter()

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
                MutableHeaders(scope=message)[REQUEST_ID_HEADER] = request_id
            await send(message)

        self.metrics.in_flight.inc()
        try:
            await self.app(scope, receive, send_with_id)
        finally:
            self.metrics.in_flight.dec()
            seconds = time.perf_counter() - started
            route = route_template(scope, root_path)
            self.metrics.observe_request(route, scope["method"], status, seconds)
            log.info("%s %s %d %.1fms", scope["method"], scope["path"], status, seconds * 1000, extra={
                "method": scope["method"], "route": route, "path": scope["path"], "status": status,
                "duration_ms": round(seconds * 1000, 2),
                "client": (scope.get("client") or ("-",))[0],
            })
            REQUEST_ID.reset(token)


class BodyLimitMiddleware:
    """Refuses bodies over the limit with 413: by ``Content-Length`` before reading, and by counting
    the bytes of bodies sent without one (chunked), so no route ever buffers more than the limit."""

    def __init__(self, app: ASGIApp, limit_for: Callable[[Scope], int]) -> None:
        self.app = app
        self.limit_for = limit_for

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.limit_for(scope)
        declared = _header(scope, b"content-length")
        if declared is not None and declared.strip().isdigit() and int(declared) > limit:
            await _too_large(send, str(scope.get("path", "")), int(declared), limit)
            return
        received = 0

        async def counted() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise HTTPException(413, f"the request body is over the limit of {limit} bytes")
            return message

        await self.app(scope, counted, send)


async def _too_large(send: Send, path: str, declared: int, limit: int) -> None:
    message = f"the request body of {declared} bytes is over the limit of {limit} bytes"
    shaped = errors.openai_error_body(413, "payload_too_large", message) if errors.is_openai(path) \
        else errors.error_body("payload_too_large", message)
    body = json.dumps(shaped).encode()
    await send({"type": "http.response.start", "status": 413, "headers": [
        (b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
        (b"connection", b"close")]})
    await send({"type": "http.response.body", "body": body})
