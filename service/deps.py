"""Typed FastAPI dependencies: settings, the live index state, and the admin check."""

from __future__ import annotations

import hmac
from typing import Annotated

from fastapi import Depends, Request

from core.config import Settings
from core.errors import AdminDisabledError, InvalidApiKeyError, RateLimitedError, UnauthorizedError
from qa.pipeline import AnswerPipeline
from service.feedback import FeedbackStore
from service.metrics import Metrics
from service.ratelimit import TokenBucketLimiter
from service.state import IndexState


def get_state(request: Request) -> IndexState:
    state: IndexState = request.app.state.index
    return state


def get_app_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def get_pipeline(state: Annotated[IndexState, Depends(get_state)]) -> AnswerPipeline:
    return state.pipeline


def require_admin(request: Request, settings: Annotated[Settings, Depends(get_app_settings)]) -> None:
    """Admin calls need ``Authorization: Bearer <ARTICLE_QA_ADMIN_TOKEN>``; compared in constant time."""
    if settings.service.admin_token is None or not settings.service.admin_token.get_secret_value():
        raise AdminDisabledError(
            "admin endpoints are disabled; start the service with ARTICLE_QA_ADMIN_TOKEN=<a secret> to enable them"
        )
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    expected = settings.service.admin_token.get_secret_value().encode()
    if scheme.lower() != "bearer" or not hmac.compare_digest(token.strip().encode(), expected):
        raise UnauthorizedError("missing or wrong admin token; send 'Authorization: Bearer <token>'")


def require_openai_key(request: Request, settings: Annotated[Settings, Depends(get_app_settings)]) -> None:
    """With ``ARTICLE_QA_OPENAI_API_KEY`` set, the chat API needs ``Authorization: Bearer <key>``; compared in
    constant time. Unset, it is open (keep the service on 127.0.0.1 then)."""
    if settings.service.openai_api_key is None or not settings.service.openai_api_key.get_secret_value():
        return
    scheme, _, key = request.headers.get("authorization", "").partition(" ")
    expected = settings.service.openai_api_key.get_secret_value().encode()
    if scheme.lower() != "bearer" or not hmac.compare_digest(key.strip().encode(), expected):
        raise InvalidApiKeyError("missing or wrong API key; send 'Authorization: Bearer <ARTICLE_QA_OPENAI_API_KEY>' "
                                 "(the openai client's api_key)")


def get_feedback(settings: Annotated[Settings, Depends(get_app_settings)]) -> FeedbackStore:
    return FeedbackStore(settings.data_dir / settings.service.feedback_file)


def get_metrics(request: Request) -> Metrics:
    metrics: Metrics = request.app.state.metrics
    return metrics


def rate_limit(request: Request, metrics: Annotated[Metrics, Depends(get_metrics)]) -> None:
    """Per-client-IP token bucket (``ARTICLE_QA_RATE_LIMIT_PER_MINUTE``); off when that is 0."""
    limiter: TokenBucketLimiter | None = request.app.state.rate_limiter
    if limiter is None:
        return
    try:
        limiter.check(request.client.host if request.client else "unknown")
    except RateLimitedError:
        metrics.rate_limited.inc()
        raise


StateDep = Annotated[IndexState, Depends(get_state)]
SettingsDep = Annotated[Settings, Depends(get_app_settings)]
PipelineDep = Annotated[AnswerPipeline, Depends(get_pipeline)]
AdminDep = Depends(require_admin)
OpenAIKeyDep = Depends(require_openai_key)
FeedbackDep = Annotated[FeedbackStore, Depends(get_feedback)]
MetricsDep = Annotated[Metrics, Depends(get_metrics)]
RateLimitDep = Depends(rate_limit)
