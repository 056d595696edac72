"""The feeds and sitemaps the service polls: what each poll fetched, skipped and failed, and a poll on demand."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from core.errors import FeedsNotConfiguredError
from service.deps import AdminDep
from service.errors import ERROR_RESPONSES
from service.feeds import FeedPoller, poller_of

router = APIRouter(responses=ERROR_RESPONSES)
NOT_CONFIGURED = ("no feeds or sitemaps are configured: start the service with ARTICLE_QA_FEEDS or "
                  "ARTICLE_QA_SITEMAPS (or `serve --feed URL --sitemap URL`)")


def _poller(request: Request) -> FeedPoller:
    poller = poller_of(request.app)
    if poller is None:
        raise FeedsNotConfiguredError(NOT_CONFIGURED)
    return poller


@router.get("/feeds", tags=["feeds"])
def feeds(request: Request) -> dict[str, Any]:
    """Every configured source with its last poll; an empty list, with how to add one, when there are none."""
    poller = poller_of(request.app)
    if poller is None:
        return {"configured": False, "sources": [], "hint": NOT_CONFIGURED}
    return {"configured": True, **poller.status()}


@router.post("/feeds/poll", status_code=202, dependencies=[AdminDep], tags=["admin"])
def poll_now(request: Request) -> JSONResponse:
    """Poll every source now, failing ones too, instead of at its time; new articles queue a rebuild."""
    poller = _poller(request)
    poller.poll_now()
    return JSONResponse({"configured": True, **poller.status()}, status_code=202, headers={"Location": "/feeds"})
