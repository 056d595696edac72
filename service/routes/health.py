"""Liveness, readiness (with the first build's progress, or how to add articles) and Prometheus metrics."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse, Response

from core.errors import NoArticlesError
from service.deps import MetricsDep, StateDep
from service.schemas import ErrorBody
from service.state import NO_ARTICLES_MESSAGE

router = APIRouter(tags=["health"])


@router.get("/healthz")
def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.get("/readyz", responses={503: {"model": ErrorBody}})
def readyz(state: StateDep) -> JSONResponse:
    if not state.ready:
        job = state.jobs.running()
        if state.no_articles and job is None:
            return JSONResponse({"error": NoArticlesError.code, "message": NO_ARTICLES_MESSAGE, "progress": None,
                                 "detail": state.last_error}, status_code=503)
        progress = job.get("progress") if job else None
        message = ("no snapshot loaded yet" if not progress
                   else f"building the first index, {progress['message']}")
        return JSONResponse({"error": "not_ready", "message": message, "progress": progress,
                             "detail": state.last_error}, status_code=503)
    return JSONResponse({"status": "ready", "snapshot": state.pipeline.snapshot.version})


@router.get("/metrics", response_class=Response,
            responses={200: {"content": {"text/plain": {}}, "description": "Prometheus text format."}})
def prometheus_metrics(state: StateDep, metrics: MetricsDep) -> Response:
    """Prometheus metrics: requests and latency by route, answers and abstentions, snapshot, rebuilds."""
    return Response(metrics.render(state), media_type=metrics.content_type)
