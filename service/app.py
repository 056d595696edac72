"""The FastAPI application factory."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path

import anyio.to_thread
from fastapi import FastAPI, Request, Response
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import FileResponse
from fastapi.staticfiles import StaticFiles
from starlette.types import Scope

from core.config import Settings, get_settings
from service import errors
from service.feeds import start_feeds
from service.metrics import Metrics
from service.middleware import REQUEST_ID_HEADER, BodyLimitMiddleware, RequestContextMiddleware
from service.ratelimit import limiter_for
from service.routes import ROUTERS
from service.runtime import limit_malloc_arenas
from service.state import IndexState

STATIC = Path(__file__).parent / "static"
CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
       "object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'")


def create_app(settings: Settings | None = None, state: IndexState | None = None, watch: bool = False) -> FastAPI:
    """Build the app; the index loads (or is first built) in the background so the port opens at once."""
    settings = settings or get_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        index = state or IndexState(settings)
        app.state.index = index
        index.jobs.listeners.append(app.state.metrics.observe_job)
        limit_malloc_arenas(settings.service.malloc_arenas)
        anyio.to_thread.current_default_thread_limiter().total_tokens = settings.service.request_threads
        index.start()
        watcher = None
        if watch:
            from service.watch import FolderWatcher

            watcher = FolderWatcher(settings.articles_dir, index.jobs.submit, settings.service.watch_debounce_ms)
            watcher.start()
        app.state.feeds = start_feeds(settings, index.jobs.submit)
        yield
        if watcher:
            watcher.stop()
        if app.state.feeds:
            app.state.feeds.stop()
        index.stop()

    app = FastAPI(
        title="article-qa",
        version="0.1.0",
        description="Answers questions from news articles with short, cited, verbatim answers, or says the "
        "articles do not hold the answer.",
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.metrics = Metrics()
    app.state.rate_limiter = limiter_for(settings.service.rate_limit_per_minute, settings.service.rate_limit_burst)
    errors.install(app)
    for router in ROUTERS:
        app.include_router(router)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")

    @app.get("/", include_in_schema=False)
    def page() -> FileResponse:
        return FileResponse(STATIC / "index.html", media_type="text/html")

    _install_middleware(app, settings)

    @app.middleware("http")
    async def security_headers(request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
        response: Response = await call_next(request)
        response.headers.setdefault("Content-Security-Policy", CSP)
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("Referrer-Policy", "no-referrer")
        return response

    return app


def _install_middleware(app: FastAPI, settings: Settings) -> None:
    """Request id, logs and metrics; then CORS (only when configured); then body limits, innermost so that
    their 413 reaches FastAPI's body parsing as it is."""
    upload_limit = settings.service.max_upload_bytes + 65_536

    def body_limit(scope: Scope) -> int:
        is_upload = scope.get("method") == "POST" and scope.get("path") == "/articles"
        return upload_limit if is_upload else settings.service.max_request_bytes

    app.add_middleware(BodyLimitMiddleware, limit_for=body_limit)
    if settings.service.cors_origins:
        app.add_middleware(CORSMiddleware, allow_origins=settings.service.cors_origins,
                           allow_methods=["GET", "POST", "DELETE"],
                           allow_headers=["Authorization", "Content-Type", REQUEST_ID_HEADER],
                           expose_headers=[REQUEST_ID_HEADER, "Retry-After"])
    app.add_middleware(RequestContextMiddleware, metrics=app.state.metrics)
