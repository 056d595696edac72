"""The live index of a running service: the current ``AnswerPipeline``, hot-swapped when a new snapshot appears."""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections import OrderedDict
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from core.config import Settings
from core.errors import (
    ArticleQAError,
    EmptyCorpusError,
    IndexBusyError,
    JobNotFoundError,
    NoArticlesError,
    NotReadyError,
    SnapshotCorruptError,
    SnapshotNotFoundError,
)
from core.progress import ProgressTracker
from index.backends import backend_for
from index.embedding import Embedder, get_embedder
from ingest.pipeline import build_snapshot
from ingest.sources import SUPPORTED_EXTENSIONS
from qa.generation.models import generator_provider
from qa.pipeline import AnswerPipeline
from service.generator_guard import GeneratorGuard

log = logging.getLogger(__name__)


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


class JobManager:
    """Runs rebuilds one at a time on a worker thread; a rebuild asked for while one waits joins it."""

    def __init__(self, run: Callable[[dict[str, Any]], dict[str, Any]], keep: int = 100,
                 log_every_seconds: float = 10.0, busy_elsewhere: Callable[[], str | None] | None = None) -> None:
        self._run = run
        self._busy_elsewhere = busy_elsewhere
        self._trackers: dict[str, ProgressTracker] = {}
        self._log_every = log_every_seconds
        self._logged_at = 0.0
        self.listeners: list[Callable[[dict[str, Any], float], None]] = []
        self._jobs: OrderedDict[str, dict[str, Any]] = OrderedDict()
        self._keep = keep
        self._cond = threading.Condition()
        self._stopped = False
        self._thread = threading.Thread(target=self._loop, name="rebuild-worker", daemon=True)
        self._thread.start()

    def submit(self, kind: str = "rebuild", refuse_if_busy: bool = False) -> dict[str, Any]:
        """Queue a rebuild; with ``refuse_if_busy``, IndexBusyError while another replica rebuilds (a queued job
        would wait for it instead)."""
        holder = self._busy_elsewhere() if refuse_if_busy and self._busy_elsewhere else None
        if holder is not None and self.running() is None:
            raise IndexBusyError(f"rebuild in progress ({holder}); try again when it finishes")
        with self._cond:
            for job in self._jobs.values():
                if job["state"] == "queued":
                    return dict(job)
            job = {"id": uuid.uuid4().hex[:12], "kind": kind, "state": "queued", "created_at": _now(),
                   "started_at": None, "finished_at": None, "snapshot": None, "summary": None, "error": None,
                   "progress": None}
            self._jobs[job["id"]] = job
            while len(self._jobs) > self._keep:
                self._jobs.popitem(last=False)
            self._cond.notify_all()
            return dict(job)

    def get(self, job_id: str) -> dict[str, Any]:
        with self._cond:
            if job_id not in self._jobs:
                raise JobNotFoundError(f"no job {job_id!r}")
            return dict(self._jobs[job_id])

    def report(self, job_id: str, stage: str, done: int, total: int) -> None:
        """Record how far a running job is (with its rate and time left), and log it at a steady pace."""
        with self._cond:
            job = self._jobs.get(job_id)
            if job is None:
                return
            report = self._trackers.setdefault(job_id, ProgressTracker()).update(stage, done, total)
            job["progress"] = {**report.as_dict(), "message": report.sentence()}
            now = time.monotonic()
            due = now - self._logged_at >= self._log_every
            if due:
                self._logged_at = now
        if due:
            log.info("%s %s: %s", job["kind"], job_id, report.sentence())

    def running(self) -> dict[str, Any] | None:
        with self._cond:
            return next((dict(j) for j in self._jobs.values() if j["state"] in {"running", "queued"}), None)

    def stop(self) -> None:
        with self._cond:
            self._stopped = True
            self._cond.notify_all()

    def _loop(self) -> None:
        while True:
            with self._cond:
                while not self._stopped and not any(j["state"] == "queued" for j in self._jobs.values()):
                    self._cond.wait()
                if self._stopped:
                    return
                job = next(j for j in self._jobs.values() if j["state"] == "queued")
                job.update(state="running", started_at=_now())
            started = time.perf_counter()
            try:
                result = self._run(job)
                update = {"state": "succeeded", **result}
            except ArticleQAError as exc:
                # An empty articles folder is a state the page explains, not a fault.
                level = logging.WARNING if isinstance(exc, EmptyCorpusError) else logging.ERROR
                log.log(level, "rebuild job %s failed: %s", job["id"], exc)
                update = {"state": "failed", "error": str(exc)}
            except Exception as exc:  # a failed rebuild must never take the service down
                log.exception("rebuild job %s failed", job["id"])
                update = {"state": "failed", "error": f"{type(exc).__name__}: {exc}"}
            with self._cond:
                job.update(finished_at=_now(), **update)
                self._trackers.pop(job["id"], None)
                finished = dict(job)
            for listener in self.listeners:
                try:
                    listener(finished, time.perf_counter() - started)
                except Exception:
                    log.exception("a job listener failed")


# What a reader of an empty service needs: the ways articles get in.
NO_ARTICLES_MESSAGE = (
    "No articles yet. Put article files (" + ", ".join(SUPPORTED_EXTENSIONS) + ") in the service's articles "
    "folder (./articles with `make run`, which watches it), upload one (POST /articles, or the admin panel with "
    "ARTICLE_QA_ADMIN_TOKEN set), or list a site's feed in ARTICLE_QA_FEEDS.")


class IndexState:
    """Owns the embedder, the current answering pipeline, the reload poller and the rebuild jobs."""

    def __init__(self, settings: Settings, embedder: Embedder | None = None) -> None:
        self.settings = settings
        self.embedder = embedder or get_embedder(settings.embedding.model, settings.threads,
                                                 settings.embedding.coalesce_max_texts)
        self.generator_guard = GeneratorGuard(settings.generator.max_waiting, settings.generator.wait_seconds,
                                              settings.generator.timeout_seconds)
        provider = generator_provider(settings)
        self.generator = self.generator_guard.wrap(provider) if provider is not None else None
        self._pipeline: AnswerPipeline | None = None
        self._swap_lock = threading.Lock()
        self.problems: list[str] = []
        self._refused: set[str] = set()
        self.last_error: str | None = None
        self.no_articles = False
        self.backend = backend_for(settings)
        self.jobs = JobManager(self._rebuild, log_every_seconds=settings.service.progress_log_seconds,
                               busy_elsewhere=self.backend.rebuild_holder)
        self._stop = threading.Event()
        self._poller: threading.Thread | None = None

    @property
    def pipeline(self) -> AnswerPipeline:
        pipeline = self._pipeline
        if pipeline is None:
            if self.no_articles:
                raise NoArticlesError(NO_ARTICLES_MESSAGE)
            raise NotReadyError("the index is not loaded yet (the first build may still be running)")
        return pipeline

    @property
    def ready(self) -> bool:
        return self._pipeline is not None

    def reload(self) -> bool:
        """Load the data folder's current snapshot if it differs from the one being served.

        A damaged snapshot is refused once and remembered; the service keeps what it serves, or falls back
        to the newest loadable snapshot when it serves nothing yet.
        """
        with self._swap_lock:
            wanted = self.backend.current_version()
            serving = self._pipeline.snapshot.version if self._pipeline is not None else None
            if wanted is None or wanted == serving or wanted in self._refused:
                return False
            try:
                loaded = self.backend.load(wanted)
            except (SnapshotCorruptError, SnapshotNotFoundError) as exc:
                self._refused.add(wanted)
                self.problems.append(str(exc))
                log.error("refusing snapshot %s: %s", wanted, exc)
                if serving is not None:
                    return False
                try:
                    loaded, problems = self.backend.load_latest()
                except SnapshotNotFoundError as final:
                    self.last_error = str(final)
                    return False
                self._refused.update(v for v in self.backend.list_versions() if v != loaded.version
                                     and any(v in p for p in problems))
            self._pipeline = AnswerPipeline(loaded, self.embedder, self.settings, self.generator)
            log.info("serving snapshot %s (%d articles)", loaded.version, len(loaded.articles))
            return True

    def _rebuild(self, job: dict[str, Any]) -> dict[str, Any]:
        def progress(stage: str, done: int, total: int) -> None:
            self.jobs.report(job["id"], stage, done, total)

        try:
            report = build_snapshot(self.settings.articles_dir, self.settings.data_dir, self.settings, progress,
                                    on_first_version=lambda _version: self.reload())
        except EmptyCorpusError:
            self.no_articles = not self.ready
            raise
        self.no_articles = False
        self.reload()
        return {"snapshot": report.version, "summary": report.to_dict()}

    def start(self) -> None:
        """Serve the newest snapshot, build the first one if there is none, then watch for new ones."""
        try:
            self.reload()
        except ArticleQAError as exc:  # an index engine still starting: the poller keeps trying
            self.last_error = str(exc)
            log.error("cannot load the index yet: %s", exc)
        if not self.ready:
            self.jobs.submit("initial-build")
        self._poller = threading.Thread(target=self._poll, name="snapshot-poller", daemon=True)
        self._poller.start()

    def _poll(self) -> None:
        while not self._stop.wait(self.settings.service.reload_poll_seconds):
            try:
                self.reload()
            except Exception:
                log.exception("reloading the snapshot failed; still serving the previous one")

    def stop(self) -> None:
        self._stop.set()
        self.jobs.stop()

    def wait_ready(self, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.ready:
                return True
            time.sleep(0.1)
        return self.ready
