"""The /ask token bucket on its own clock: bursts, steady refill, per-client buckets and a bounded memory."""

from __future__ import annotations

import pytest

from core.errors import RateLimitedError
from service.ratelimit import TokenBucketLimiter, limiter_for


def test_burst_then_steady_rate() -> None:
    limiter = TokenBucketLimiter(per_minute=60, burst=2)
    limiter.check("a", now=0.0)
    limiter.check("a", now=0.0)
    with pytest.raises(RateLimitedError) as refused:
        limiter.check("a", now=0.5)
    assert refused.value.retry_after == pytest.approx(0.5)
    limiter.check("a", now=1.0)  # one token a second came back
    with pytest.raises(RateLimitedError):
        limiter.check("a", now=1.1)
    limiter.check("b", now=1.1)  # another client has its own bucket


def test_bucket_never_holds_more_than_the_burst() -> None:
    limiter = TokenBucketLimiter(per_minute=60, burst=3)
    for _ in range(3):
        limiter.check("a", now=1000.0)
    with pytest.raises(RateLimitedError):
        limiter.check("a", now=1000.0)


def test_memory_is_bounded_and_zero_turns_it_off() -> None:
    limiter = TokenBucketLimiter(per_minute=1, burst=1, max_clients=100)
    for i in range(1000):
        limiter.check(f"10.0.{i // 256}.{i % 256}", now=0.0)
    assert len(limiter._buckets) == 100
    assert limiter_for(0, 10) is None and limiter_for(-1, 10) is None
    assert isinstance(limiter_for(30, 5), TokenBucketLimiter)
