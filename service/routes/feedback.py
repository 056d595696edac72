"""Readers' thumbs up or down on an answer."""

from __future__ import annotations

from fastapi import APIRouter

from service.deps import FeedbackDep
from service.errors import ERROR_RESPONSES
from service.schemas import FeedbackIn, FeedbackStored

router = APIRouter(tags=["feedback"])


@router.post("/feedback", status_code=201, response_model=FeedbackStored, responses=ERROR_RESPONSES)
def feedback(body: FeedbackIn, store: FeedbackDep) -> FeedbackStored:
    """Store a thumbs up or down with the question, answer, citations and snapshot it was about."""
    return FeedbackStored(**store.add(body.model_dump(mode="json")))
