"""Test helpers: a scripted fake service on ``httpx.MockTransport`` and a harness that runs
the same call through the sync and the async client."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
from tessera_memory import AsyncTessera, Tessera

API_KEY = "tsk_live_unit-test-secret-key"
BASE_URL = "http://tessera.test"


@dataclass
class Reply:
    """One scripted answer: a response, or an exception raised instead of one."""

    status: int = 200
    json: Any = None
    text: str | None = None
    headers: dict[str, str] = field(default_factory=dict)
    raises: type[httpx.TransportError] | None = None


@dataclass
class Recorded:
    method: str
    url: httpx.URL
    headers: httpx.Headers
    content: bytes

    def json(self) -> Any:
        return json.loads(self.content) if self.content else None


class FakeService:
    """Answers requests from a script; the last reply repeats once the script runs out."""

    def __init__(self, *replies: Reply) -> None:
        self.replies = list(replies) or [Reply(json={})]
        self.requests: list[Recorded] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(Recorded(request.method, request.url, request.headers, request.read()))
        reply = self.replies[min(len(self.requests), len(self.replies)) - 1]
        if reply.raises is not None:
            raise reply.raises("scripted failure", request=request)
        headers = {"X-Request-Id": f"req_{len(self.requests)}", **reply.headers}
        if reply.text is not None:
            return httpx.Response(reply.status, text=reply.text, headers=headers)
        return httpx.Response(reply.status, json=reply.json, headers=headers)

    @property
    def attempts(self) -> int:
        return len(self.requests)

    @property
    def last(self) -> Recorded:
        return self.requests[-1]


class Harness:
    """Runs ``fn(client)`` against a FakeService with a sync or an async client.

    ``fn`` is written once: on the async client it returns an awaitable, which is awaited.
    Sleeps are recorded in ``self.sleeps`` instead of being slept.
    """

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self.sleeps: list[float] = []

    def run(self, service: FakeService, fn: Callable[[Any], Any], **client_kwargs: Any) -> Any:
        client_kwargs.setdefault("api_key", API_KEY)
        client_kwargs.setdefault("base_url", BASE_URL)
        transport = httpx.MockTransport(service)
        if self.kind == "sync":
            with httpx.Client(transport=transport) as http:
                client = Tessera(http_client=http, _sleep=self.sleeps.append, **client_kwargs)
                return fn(client)

        async def sleep(seconds: float) -> None:
            self.sleeps.append(seconds)

        async def main() -> Any:
            async with httpx.AsyncClient(transport=transport) as http:
                client = AsyncTessera(http_client=http, _sleep=sleep, **client_kwargs)
                return await fn(client)

        return asyncio.run(main())


def memory_item(i: int = 1, **extra: Any) -> dict[str, Any]:
    return {
        "id": f"ep_{i:08d}-0000-0000-0000-000000000000",
        "type": "episode",
        "text": f"memory {i}",
        "created_at": "2025-01-01T00:00:00Z",
        "metadata": {},
        **extra,
    }
