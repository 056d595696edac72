"""A per-client token bucket for ``/ask``: a burst is allowed, then questions at a steady rate."""

from __future__ import annotations

import threading
import time
from collections import OrderedDict

from core.errors import RateLimitedError


class TokenBucketLimiter:
    """``burst`` tokens per client, refilled at ``per_minute`` a minute; each question takes one."""

    def __init__(self, per_minute: float, burst: int, max_clients: int = 10_000) -> None:
        self.rate = per_minute / 60.0
        self.burst = max(1, burst)
        self.max_clients = max_clients
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()
        self._lock = threading.Lock()

    def check(self, client: str, now: float | None = None) -> None:
        """Take a token for ``client`` or raise ``RateLimitedError`` saying how long until the next one."""
        now = time.monotonic() if now is None else now
        with self._lock:
            tokens, last = self._buckets.pop(client, (float(self.burst), now))
            tokens = min(float(self.burst), tokens + (now - last) * self.rate)
            if tokens >= 1.0:
                self._buckets[client] = (tokens - 1.0, now)
                allowed = True
            else:
                self._buckets[client] = (tokens, now)
                allowed = False
            while len(self._buckets) > self.max_clients:
                self._buckets.popitem(last=False)
        if not allowed:
            wait = (1.0 - tokens) / self.rate
            raise RateLimitedError(
                f"too many questions from {client}: the limit is {self.rate * 60:g} a minute "
                f"(bursts of {self.burst}); try again in {wait:.1f}s", retry_after=wait)


def limiter_for(per_minute: float, burst: int) -> TokenBucketLimiter | None:
    """The limiter the settings ask for, or None when rate limiting is off (``per_minute`` <= 0)."""
    return TokenBucketLimiter(per_minute, burst) if per_minute > 0 else None
