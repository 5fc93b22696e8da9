"""When to send a request again, and how long to wait first. Pure functions, no I/O.

* 429, 502 and 503 mean the request was not processed: every call is retried.
* 500 and 504, timeouts and connection failures are ambiguous — the service may have acted — so
  only idempotent calls are retried (GET, PUT, DELETE, and ``memories.add`` whose client-minted
  ``turn_id`` turns a replay into a no-op).
* Any other status is final.

The wait is the server's ``Retry-After`` (delta-seconds or an HTTP-date) when it sends one,
otherwise jittered exponential backoff: retry *n* (0-based) waits between 50% and 100% of
``0.5 * 2**n`` seconds, capped at :data:`MAX_BACKOFF`. A ``Retry-After`` longer than
:data:`MAX_RETRY_AFTER` is not waited out: the error is raised so the caller can decide.
"""

from __future__ import annotations

import email.utils
import math
import random
import time
from collections.abc import Callable

import httpx

RETRY_ALWAYS: frozenset[int] = frozenset({429, 502, 503})
RETRY_IF_IDEMPOTENT: frozenset[int] = frozenset({500, 504})

INITIAL_BACKOFF = 0.5
MAX_BACKOFF = 8.0
JITTER = 0.5
MAX_RETRY_AFTER = 60.0


def retryable_status(status: int, *, idempotent: bool) -> bool:
    return status in RETRY_ALWAYS or (idempotent and status in RETRY_IF_IDEMPOTENT)


def backoff(retry: int, *, rand: Callable[[], float] = random.random) -> float:
    """Seconds to wait before retry number ``retry`` (0 for the first retry)."""
    ceiling = min(MAX_BACKOFF, INITIAL_BACKOFF * 2.0 ** min(retry, 32))
    return ceiling * (1.0 - JITTER * rand())


def parse_retry_after(value: str | None, *, now: float | None = None) -> float | None:
    """Seconds a ``Retry-After`` value asks for; ``None`` if absent or unreadable."""
    if value is None or not value.strip():
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError):
            return None
        seconds = when.timestamp() - (time.time() if now is None else now)
    if math.isnan(seconds) or math.isinf(seconds):
        return None
    return max(0.0, seconds)


def retry_delay(
    retry: int, *, response: httpx.Response | None, rand: Callable[[], float] = random.random
) -> float | None:
    """How long to wait before ``retry``; ``None`` when the server asks for too long a wait."""
    if response is not None:
        requested = parse_retry_after(response.headers.get("Retry-After"))
        if requested is not None:
            return requested if requested <= MAX_RETRY_AFTER else None
    return backoff(retry, rand=rand)
