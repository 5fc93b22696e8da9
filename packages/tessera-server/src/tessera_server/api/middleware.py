"""Pure ASGI middleware: request ids, body size limits and rate-limit headers."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, MutableMapping
from http import HTTPStatus
from typing import Any

from ulid import ULID

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


class BodyTooLarge(Exception):
    pass


class RequestContext:
    """Gives each request an id (`X-Request-Id`), caps its body, adds rate-limit headers."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        max_body: int,
        max_upload: int,
        upload_paths: tuple[str, ...],
        docs_url: str,
    ) -> None:
        self.app = app
        self.max_body = max_body
        self.max_upload = max_upload
        self.upload_paths = upload_paths
        self.docs_url = docs_url

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = f"req_{ULID()}"
        state = scope.setdefault("state", {})
        state["request_id"] = request_id
        limit = self.max_upload + 64_000 if scope["path"] in self.upload_paths else self.max_body

        declared = dict(scope.get("headers") or []).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > limit:
            await self._too_large(send, request_id, limit)
            return

        received = 0
        too_large = False

        async def counted_receive() -> Message:
            nonlocal received, too_large
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    too_large = True
                    raise BodyTooLarge()
            return message

        started = False

        async def send_with_headers(message: Message) -> None:
            nonlocal started
            if too_large:
                # The framework may catch BodyTooLarge while parsing a streamed body and
                # answer 400 "error parsing the body"; the answer is 413 all the same.
                if message["type"] == "http.response.start" and not started:
                    started = True
                    await self._too_large(send, request_id, limit)
                return
            if message["type"] == "http.response.start":
                started = True
                headers = list(message.get("headers", []))
                # A problem response may already carry these; never send a header twice.
                present = {name.lower() for name, _ in headers}
                extra = {"x-request-id": request_id, **state.get("rate_headers", {})}
                for name, value in extra.items():
                    raw = name.lower().encode()
                    if raw not in present:
                        headers.append((raw, str(value).encode()))
                message["headers"] = headers
            await send(message)

        try:
            await self.app(scope, counted_receive, send_with_headers)
        except BodyTooLarge:
            if not started:
                await self._too_large(send, request_id, limit)

    async def _too_large(self, send: Send, request_id: str, limit: int) -> None:
        body = json.dumps(
            {
                "type": f"{self.docs_url}/errors/#payload-too-large",
                "title": HTTPStatus(413).phrase,
                "status": 413,
                "detail": f"the request body is larger than {limit} bytes",
                "instance": request_id,
            }
        ).encode()
        await send(
            {
                "type": "http.response.start",
                "status": 413,
                "headers": [
                    (b"content-type", b"application/problem+json"),
                    (b"content-length", str(len(body)).encode()),
                    (b"x-request-id", request_id.encode()),
                    (b"connection", b"close"),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})
