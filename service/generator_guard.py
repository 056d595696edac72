"""Admission control for the one local generator, so a burst of generative questions cannot pile up threads."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator

from core.errors import GeneratorBusyError, GeneratorTimeoutError
from qa.generation.base import Generator
from qa.generation.constraint import SpanConstraint
from qa.records import Piece, SpanGeneration


class GeneratorGuard:
    """One generation at a time, at most ``max_waiting`` queued behind it, each waiting ``wait_seconds`` at most.

    A request that finds the queue full, or waits too long, gets ``GeneratorBusyError`` (HTTP 503 with
    Retry-After) at once instead of holding a worker thread; a generation that outlives ``timeout_seconds``
    is stopped with ``GeneratorTimeoutError``. Extractive answers never pass through here, so they keep flowing.
    """

    def __init__(self, max_waiting: int, wait_seconds: float, timeout_seconds: float) -> None:
        self.max_waiting = max(0, max_waiting)
        self.wait_seconds = max(0.0, wait_seconds)
        self.timeout_seconds = timeout_seconds
        self._slot = threading.Lock()
        self._count = threading.Lock()
        self._loading = threading.Lock()
        self._waiting = 0
        self._active = 0
        self.rejected = 0

    @property
    def waiting(self) -> int:
        return self._waiting

    @property
    def active(self) -> int:
        return self._active

    def _enter(self) -> None:
        if self._slot.acquire(blocking=False):
            with self._count:
                self._active += 1
            return
        with self._count:
            if self._waiting >= self.max_waiting:
                self.rejected += 1
                raise GeneratorBusyError(
                    f"the generator is busy and {self._waiting} generative requests are already waiting; "
                    "try again shortly, or ask with mode 'extractive'")
            self._waiting += 1
        try:
            acquired = self._slot.acquire(timeout=self.wait_seconds)
        finally:
            with self._count:
                self._waiting -= 1
        if not acquired:
            with self._count:
                self.rejected += 1
            raise GeneratorBusyError(
                f"waited {self.wait_seconds:g}s for the generator; try again shortly, or ask with mode 'extractive'")
        with self._count:
            self._active += 1

    def _leave(self) -> None:
        with self._count:
            self._active -= 1
        self._slot.release()

    def read(self, inner: Generator, messages: list[dict[str, str]], constraint: SpanConstraint,
             max_tokens: int) -> Iterator[Piece | SpanGeneration]:
        """The inner generator's reading, inside the slot; closing this iterator early frees the slot."""
        self._enter()
        tokens: Iterator[Piece | SpanGeneration] | None = None
        try:
            deadline = time.monotonic() + self.timeout_seconds
            tokens = inner.read(messages, constraint, max_tokens)
            for piece in tokens:
                if time.monotonic() > deadline:
                    raise GeneratorTimeoutError(
                        f"the generator took longer than {self.timeout_seconds:g}s and was stopped; "
                        "try again, or ask with mode 'extractive'")
                yield piece
        finally:
            close = getattr(tokens, "close", None)
            if close is not None:
                close()
            self._leave()

    def wrap(self, provider: Callable[[], Generator]) -> Callable[[], Generator]:
        """A provider like ``provider`` whose generators go through this guard."""

        def load() -> Generator:
            with self._loading:  # concurrent first requests load the model once, not once each
                return GuardedGenerator(provider(), self)

        return load


class GuardedGenerator(Generator):
    """A generator that asks its guard for a slot before streaming."""

    def __init__(self, inner: Generator, guard: GeneratorGuard) -> None:
        self.inner = inner
        self.guard = guard
        self.name = inner.name
        self.model = inner.model

    def read(self, messages: list[dict[str, str]], constraint: SpanConstraint,
             max_tokens: int) -> Iterator[Piece | SpanGeneration]:
        return self.guard.read(self.inner, messages, constraint, max_tokens)

    def score(self, messages: list[dict[str, str]], text: str) -> tuple[float, ...] | None:
        self.guard._enter()
        try:
            return self.inner.score(messages, text)
        finally:
            self.guard._leave()

    def complete(self, messages: list[dict[str, str]], max_tokens: int) -> str:
        self.guard._enter()
        try:
            return self.inner.complete(messages, max_tokens)
        finally:
            self.guard._leave()
