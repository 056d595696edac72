"""How far a long job is, in words a person reads: items done of the total, the rate, and the time left."""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

# what each ingest stage counts
STAGE_UNITS = {"reading": "articles", "embedding": "passages", "sentences": "sentences"}
MIN_RATE_SAMPLES = 2  # the rate window never drops below this many samples (a rate needs two points)
SECONDS_SHOWN_BELOW = 90  # times shorter than this are said in seconds, shorter than this many minutes in minutes
RATE_WINDOW_SECONDS = 30.0  # the rate is measured over this recent stretch, so it follows a changing pace


@dataclass(frozen=True)
class ProgressReport:
    stage: str
    done: int
    total: int
    unit: str
    rate_per_second: float | None
    seconds_left: float | None

    def as_dict(self) -> dict[str, object]:
        return {"stage": self.stage, "done": self.done, "total": self.total, "unit": self.unit,
                "rate_per_second": None if self.rate_per_second is None else round(self.rate_per_second, 2),
                "seconds_left": None if self.seconds_left is None else round(self.seconds_left)}

    def sentence(self) -> str:
        """E.g. "embedding: 1,234 of 30,667 passages (37 a second, about 13 minutes left)"."""
        head = f"{self.stage}: {self.done:,} of {self.total:,} {self.unit}"
        extra = []
        if self.rate_per_second:
            extra.append(f"{self.rate_per_second:.0f} a second" if self.rate_per_second >= 1
                         else f"{self.rate_per_second:.2f} a second")
        if self.seconds_left is not None:
            extra.append(f"about {_duration(self.seconds_left)} left")
        return head + (f" ({', '.join(extra)})" if extra else "")


class ProgressTracker:
    """Fed ``(stage, done, total)`` updates; reports the recent rate and the time left in the current stage."""

    def __init__(self, clock: Callable[[], float] | None = None) -> None:
        self._clock = clock or time.monotonic
        self._stage = ""
        self._samples: deque[tuple[float, int]] = deque()
        self._last: ProgressReport | None = None

    def update(self, stage: str, done: int, total: int) -> ProgressReport:
        now = self._clock()
        if stage != self._stage:
            self._stage = stage
            self._samples.clear()
        self._samples.append((now, done))
        while len(self._samples) > MIN_RATE_SAMPLES and now - self._samples[0][0] > RATE_WINDOW_SECONDS:
            self._samples.popleft()
        rate: float | None = None
        left: float | None = None
        first_at, first_done = self._samples[0]
        if now > first_at and done > first_done:
            rate = (done - first_done) / (now - first_at)
            left = max(0.0, (total - done) / rate)
        self._last = ProgressReport(stage, done, total, STAGE_UNITS.get(stage, "steps"), rate, left)
        return self._last

    @property
    def last(self) -> ProgressReport | None:
        return self._last


def _duration(seconds: float) -> str:
    if seconds < SECONDS_SHOWN_BELOW:
        return f"{max(1, round(seconds))} seconds"
    if seconds < SECONDS_SHOWN_BELOW * 60:
        return f"{round(seconds / 60)} minutes"
    return f"{seconds / 3600:.1f} hours"
