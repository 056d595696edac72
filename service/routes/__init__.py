"""The HTTP routes, one module per resource; each route stays thin and delegates to the answerer, the index
state or the library."""

from __future__ import annotations

from fastapi import APIRouter

from service.routes import articles, ask, feedback, health, index

ROUTERS: tuple[APIRouter, ...] = (ask.router, articles.router, index.router, feedback.router, health.router)
