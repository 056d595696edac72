"""The index: the snapshot being served, rebuilds and their jobs."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from service.deps import AdminDep, StateDep
from service.errors import ERROR_RESPONSES
from service.feeds import feeds_status
from service.schemas import Job

router = APIRouter(responses=ERROR_RESPONSES)


@router.post("/index/rebuild", status_code=202, response_model=Job, dependencies=[AdminDep], tags=["admin"])
def rebuild(state: StateDep) -> JSONResponse:
    """Re-read the articles folder and publish a new snapshot in the background; poll the job."""
    job = state.jobs.submit("rebuild", refuse_if_busy=True)
    return JSONResponse(Job(**job).model_dump(), status_code=202, headers={"Location": f"/index/jobs/{job['id']}"})


@router.get("/index/jobs/{job_id}", response_model=Job, tags=["index"])
def get_job(job_id: str, state: StateDep) -> Job:
    return Job(**state.jobs.get(job_id))


@router.get("/index", tags=["index"])
def index_manifest(state: StateDep, request: Request) -> dict[str, Any]:
    """The manifest of the snapshot being served, plus any rebuild in progress and, with feeds, what their
    last polls fetched, skipped and failed."""
    pipeline = state.pipeline
    manifest = {**pipeline.snapshot.manifest, "rebuild": state.jobs.running(), "problems": state.problems[-5:]}
    feeds = feeds_status(request.app)
    return manifest if feeds is None else {**manifest, "feeds": feeds}
