"""Per-key token buckets: `rate_limit_per_minute` requests a minute, bursting to that many,
and `work_budget_bytes_per_minute` bytes of request bodies, since a 2 MB batch asks for
thousands of times the work of a one-line add."""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass


@dataclass
class Decision:
    allowed: bool
    limit: int
    remaining: int
    reset_seconds: int
    retry_after: int


class RateLimiter:
    def __init__(
        self,
        per_minute: int,
        clock: Callable[[], float] = time.monotonic,
        *,
        bytes_per_minute: int = 0,
    ) -> None:
        self.capacity = float(per_minute)
        self.rate = per_minute / 60.0
        self.work_capacity = float(bytes_per_minute)
        self.work_rate = bytes_per_minute / 60.0
        self._clock = clock
        # key -> (requests left, bytes left, when last refilled)
        self._buckets: dict[str, tuple[float, float, float]] = {}
        self._lock = threading.Lock()

    def check(self, key: str, cost_bytes: int = 0) -> Decision:
        """Take one request and `cost_bytes` of work from the key's buckets, if both hold
        enough; otherwise take nothing and say how long to wait."""
        now = self._clock()
        budgeted = self.work_capacity > 0
        # A body larger than the whole budget is charged the whole budget: it can pass
        # once the bucket is full, never jump the queue.
        cost = min(float(cost_bytes), self.work_capacity) if budgeted else 0.0
        with self._lock:
            tokens, work, last = self._buckets.get(key, (self.capacity, self.work_capacity, now))
            tokens = min(self.capacity, tokens + (now - last) * self.rate)
            work = min(self.work_capacity, work + (now - last) * self.work_rate)
            allowed = tokens >= 1.0 and work >= cost
            if allowed:
                tokens -= 1.0
                work -= cost
            self._buckets[key] = (tokens, work, now)
        wait = 0.0
        if not allowed:
            wait = max(0.0, 1.0 - tokens) / self.rate
            if budgeted:
                wait = max(wait, max(0.0, cost - work) / self.work_rate)
        return Decision(
            allowed=allowed,
            limit=int(self.capacity),
            remaining=int(tokens),
            reset_seconds=math.ceil((self.capacity - tokens) / self.rate),
            retry_after=max(1, math.ceil(wait)) if not allowed else 0,
        )
