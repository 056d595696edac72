"""The FastAPI application factory."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path

import anyio.to_thread
from fastapi import FastAPI, Request, Response
from fastapi.responses import FileResponse
from fastapi.staticfiles import StaticFiles

from core.config import Settings, get_settings
from service import errors
from service.api import router
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
        limit_malloc_arenas(settings.malloc_arenas)
        anyio.to_thread.current_default_thread_limiter().total_tokens = settings.request_threads
        index.start()
        watcher = None
        if watch:
            from service.watch import FolderWatcher

            watcher = FolderWatcher(settings.articles_dir, index.jobs.submit, settings.watch_debounce_ms)
            watcher.start()
        yield
        if watcher:
            watcher.stop()
        index.stop()

    app = FastAPI(
        title="article-qa",
        version="0.1.0",
        description="Answers questions from news articles with short, cited, verbatim answers, or says the "
        "articles do not hold the answer.",
        lifespan=lifespan,
    )
    app.state.settings = settings
    errors.install(app)
    app.include_router(router)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")

    @app.get("/", include_in_schema=False)
    def page() -> FileResponse:
        return FileResponse(STATIC / "index.html", media_type="text/html")

    @app.middleware("http")
    async def security_headers(request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
        response: Response = await call_next(request)
        response.headers.setdefault("Content-Security-Policy", CSP)
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("Referrer-Policy", "no-referrer")
        return response

    return app
