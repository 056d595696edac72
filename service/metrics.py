"""Prometheus metrics of one app instance, kept in its own registry so several apps can live in one process."""

from __future__ import annotations

import contextlib
import time
from datetime import datetime
from typing import TYPE_CHECKING, Any

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Gauge, Histogram, generate_latest

if TYPE_CHECKING:
    from qa.records import Answer
    from service.schemas import AskResponse
    from service.state import IndexState

LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)
REBUILD_BUCKETS = (0.1, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 600.0, 1800.0)


class Metrics:
    """Everything ``GET /metrics`` reports; labels are route templates, never raw paths."""

    content_type = CONTENT_TYPE_LATEST

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.requests = Counter("article_qa_http_requests", "HTTP requests by route template, method and status.",
                                ["route", "method", "status"], registry=r)
        self.latency = Histogram("article_qa_http_request_duration_seconds", "Time to answer an HTTP request.",
                                 ["route", "method", "status"], buckets=LATENCY_BUCKETS, registry=r)
        self.in_flight = Gauge("article_qa_http_requests_in_flight", "Requests being handled now.", registry=r)
        self.answers = Counter("article_qa_answers",
                               "Answers to /ask and /v1/chat/completions: answered or abstained, by mode.",
                               ["outcome", "mode"], registry=r)
        self.snapshot_info = Gauge("article_qa_snapshot_info", "The snapshot being served (value 1).",
                                   ["version"], registry=r)
        self.snapshot_age = Gauge("article_qa_snapshot_age_seconds", "Seconds since the served snapshot was built.",
                                  registry=r)
        self.snapshot_articles = Gauge("article_qa_snapshot_articles", "Articles in the served snapshot.",
                                       registry=r)
        self.snapshot_problems = Gauge("article_qa_snapshot_problems",
                                       "Snapshots refused at load (checksum mismatch, unreadable) since start.",
                                       registry=r)
        self.rebuild_seconds = Histogram("article_qa_rebuild_duration_seconds", "Time a rebuild job took.",
                                         ["outcome"], buckets=REBUILD_BUCKETS, registry=r)
        self.rebuild_failures = Counter("article_qa_rebuild_failures", "Rebuild jobs that failed.", registry=r)
        self.generator_waiting = Gauge("article_qa_generator_queue_depth",
                                       "Generative requests waiting for the generator.", registry=r)
        self.generator_active = Gauge("article_qa_generator_active", "Generations running now.", registry=r)
        self.generator_rejected = Gauge("article_qa_generator_rejected",
                                        "Generative requests refused (busy or timed out) since start.", registry=r)
        self.rate_limited = Counter("article_qa_rate_limited", "Requests refused by the per-client rate limit.",
                                    registry=r)
        self._served: str | None = None

    def observe_request(self, route: str, method: str, status: int, seconds: float) -> None:
        labels = (route, method, str(status))
        self.requests.labels(*labels).inc()
        self.latency.labels(*labels).observe(seconds)

    def observe_answer(self, response: AskResponse | Answer) -> None:
        self.answers.labels("abstained" if response.abstained else "answered", response.mode).inc()

    def observe_job(self, job: dict[str, Any], seconds: float) -> None:
        """Called by the rebuild worker when a job ends."""
        ok = job.get("state") == "succeeded"
        self.rebuild_seconds.labels("succeeded" if ok else "failed").observe(seconds)
        if not ok:
            self.rebuild_failures.inc()

    def refresh(self, state: IndexState) -> None:
        """Read the gauges that describe the live state, just before a scrape."""
        if state.ready:
            snapshot = state.pipeline.snapshot
            if snapshot.version != self._served:
                if self._served is not None:
                    self.snapshot_info.remove(self._served)
                self.snapshot_info.labels(snapshot.version).set(1)
                self._served = snapshot.version
            self.snapshot_articles.set(len(snapshot.articles))
            created = snapshot.manifest.get("created_at")
            if created:
                with contextlib.suppress(ValueError):
                    self.snapshot_age.set(max(0.0, time.time() - datetime.fromisoformat(created).timestamp()))
        self.snapshot_problems.set(len(state.problems))
        guard = state.generator_guard
        self.generator_waiting.set(guard.waiting)
        self.generator_active.set(guard.active)
        self.generator_rejected.set(guard.rejected)

    def render(self, state: IndexState) -> bytes:
        self.refresh(state)
        return generate_latest(self.registry)
