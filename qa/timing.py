"""Stage timings of one answer: each stage's milliseconds, measured from the end of the one before."""

from __future__ import annotations

import time


class StageClock:
    """Laps a running clock at the end of each stage, so the stages' times add up to the answer's."""

    def __init__(self) -> None:
        self._timings: dict[str, float] = {}
        self._last = time.perf_counter()

    def lap(self, stage: str) -> None:
        now = time.perf_counter()
        self._timings[stage] = (now - self._last) * 1000
        self._last = now

    def record(self, name: str, milliseconds: float) -> None:
        """A time measured elsewhere (the generator's first token), reported beside the stages."""
        self._timings[name] = milliseconds

    @property
    def timings(self) -> dict[str, float]:
        """The laps so far (a copy: an answer sent early keeps the times it was sent with)."""
        return dict(self._timings)
