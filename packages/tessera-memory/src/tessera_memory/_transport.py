"""The I/O half of a call: run the steps of ``_core.plan`` on an httpx client.

These two classes are the only place where the sync and async clients differ. Each is a loop
that sends what the plan asks to send, sleeps when it asks to sleep, and hands back the result.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import httpx

from ._core import Plan, Send, Sent, Settings, Sleep, plan
from ._operation import Operation, PageData
from ._response import APIResponse
from .pagination import AsyncCursorPage, SyncCursorPage

T = TypeVar("T")

SyncSleep = Callable[[float], None]
AsyncSleep = Callable[[float], Awaitable[None]]


def default_sync_sleep(seconds: float) -> None:
    """``time.sleep``, looked up at each call (so a test that patches it sees the waits)."""
    time.sleep(seconds)


async def default_async_sleep(seconds: float) -> None:
    """Sleep on whichever event loop is running: ``asyncio.sleep`` (looked up at each call),
    or anyio's sleep under another loop such as trio."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        import anyio  # a dependency of httpx

        await anyio.sleep(seconds)
    else:
        await asyncio.sleep(seconds)


def _advance(steps: Plan[T], sent: Sent | None) -> Send | Sleep | APIResponse[T]:
    try:
        return steps.send(sent)
    except StopIteration as done:
        result: APIResponse[T] = done.value
        return result


class SyncTransport:
    """Runs operations with blocking I/O."""

    def __init__(self, http: httpx.Client, settings: Settings, sleep: SyncSleep) -> None:
        self.http = http
        self.settings = settings
        self.sleep = sleep

    def request(self, op: Operation[T]) -> APIResponse[T]:
        steps = plan(self.settings, op)
        sent: Sent | None = None
        try:
            while True:
                step = _advance(steps, sent)
                if isinstance(step, APIResponse):
                    return step
                if isinstance(step, Sleep):
                    self.sleep(step.seconds)
                    sent = None
                else:
                    sent = self._send(step)
        finally:
            steps.close()

    def _send(self, step: Send) -> Sent:
        request = step.build(self.http)
        try:
            return Sent(request, response=self.http.send(request))
        except httpx.TransportError as exc:
            return Sent(request, error=exc)

    # The two entry points the resources call (see ``_resource.Executor``).

    def call(self, op: Operation[Any], raw: bool) -> Any:
        response = self.request(op)
        return response if raw else response.parsed

    def call_page(self, op: Operation[PageData[Any]], raw: bool) -> Any:
        response = self.request(op)
        data = response.parsed
        page = SyncCursorPage(
            items=data.items,
            next_cursor=data.next_cursor,
            has_more=data.has_more,
            fetch_next=lambda cursor: self.call_page(op.with_params(cursor=cursor), False),
        )
        return _with_parsed(response, page) if raw else page


class AsyncTransport:
    """Runs operations with awaited I/O."""

    def __init__(self, http: httpx.AsyncClient, settings: Settings, sleep: AsyncSleep) -> None:
        self.http = http
        self.settings = settings
        self.sleep = sleep

    async def request(self, op: Operation[T]) -> APIResponse[T]:
        steps = plan(self.settings, op)
        sent: Sent | None = None
        try:
            while True:
                step = _advance(steps, sent)
                if isinstance(step, APIResponse):
                    return step
                if isinstance(step, Sleep):
                    await self.sleep(step.seconds)
                    sent = None
                else:
                    sent = await self._send(step)
        finally:
            steps.close()

    async def _send(self, step: Send) -> Sent:
        request = step.build(self.http)
        try:
            return Sent(request, response=await self.http.send(request))
        except httpx.TransportError as exc:
            return Sent(request, error=exc)

    async def call(self, op: Operation[Any], raw: bool) -> Any:
        response = await self.request(op)
        return response if raw else response.parsed

    async def call_page(self, op: Operation[PageData[Any]], raw: bool) -> Any:
        response = await self.request(op)
        data = response.parsed
        page = AsyncCursorPage(
            items=data.items,
            next_cursor=data.next_cursor,
            has_more=data.has_more,
            fetch_next=lambda cursor: self.call_page(op.with_params(cursor=cursor), False),
        )
        return _with_parsed(response, page) if raw else page


def _with_parsed(response: APIResponse[Any], parsed: T) -> APIResponse[T]:
    return APIResponse(
        parsed=parsed,
        status_code=response.status_code,
        headers=response.headers,
        request_id=response.request_id,
        http_response=response.http_response,
    )
