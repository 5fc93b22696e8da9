"""What ``.with_raw_response`` calls return."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Generic, TypeVar

import httpx

T = TypeVar("T")


@dataclass(frozen=True)
class APIResponse(Generic[T]):
    """A parsed result together with the HTTP response it came from."""

    parsed: T
    """The value the plain (non-raw) method would have returned."""
    status_code: int
    headers: httpx.Headers
    request_id: str | None
    """The service's ``X-Request-Id`` for this call (quote it in bug reports)."""
    http_response: httpx.Response
