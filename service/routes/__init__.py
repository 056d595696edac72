"""The HTTP routes, one module per resource; each route stays thin and delegates to the answerer, the index
state or the library."""

from __future__ import annotations

from fastapi import APIRouter

from service.routes import articles, ask, chat, feedback, feeds, health, index, stream

ROUTERS: tuple[APIRouter, ...] = (ask.router, stream.router, articles.router, index.router, feeds.router,
                                  feedback.router, health.router, chat.router)
