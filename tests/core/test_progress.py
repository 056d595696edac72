"""Progress in words: done of total, the recent rate, the time left."""

from __future__ import annotations

from core.progress import ProgressTracker


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_rate_and_time_left_follow_recent_progress() -> None:
    clock = Clock()
    tracker = ProgressTracker(clock)
    first = tracker.update("embedding", 0, 1000)
    assert first.rate_per_second is None and first.seconds_left is None
    clock.now += 10
    report = tracker.update("embedding", 200, 1000)
    assert report.rate_per_second == 20.0 and report.seconds_left == 40.0
    assert report.sentence() == "embedding: 200 of 1,000 passages (20 a second, about 40 seconds left)"
    assert report.as_dict()["unit"] == "passages"


def test_a_new_stage_starts_its_own_rate() -> None:
    clock = Clock()
    tracker = ProgressTracker(clock)
    tracker.update("reading", 0, 50)
    clock.now += 5
    tracker.update("reading", 50, 50)
    clock.now += 1
    report = tracker.update("embedding", 10, 400)
    assert report.stage == "embedding" and report.rate_per_second is None
    assert report.sentence() == "embedding: 10 of 400 passages"
