"""Pure ASGI middleware: request ids, body size limits and rate-limit headers."""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import KW_ONLY, dataclass
from typing import Any

from ulid import ULID

from ..logsafe import where
from .policy import MEDIA_TYPES, Policy
from .problems import title_of

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]
PolicyOf = Callable[[Scope], Policy | None]
_BODY_METHODS = ("POST", "PUT", "PATCH", "DELETE")
log = logging.getLogger("tessera.api")


class BodyTooLarge(Exception):
    pass


@dataclass(frozen=True)
class RequestContext:
    """Gives each request an id (`X-Request-Id`), applies the route's declared body policy
    (media type, size) before the body is read, adds rate-limit headers.

    A dataclass: it only holds what it is built with (the app it wraps, then, by keyword, the
    limits, the route policy lookup and the docs site for problem links)."""

    app: ASGIApp
    _: KW_ONLY
    max_body: int
    max_upload: int
    policy_of: PolicyOf
    docs_url: str

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = f"req_{ULID()}"
        state = scope.setdefault("state", {})
        state["request_id"] = request_id
        policy = self.policy_of(scope)
        upload = policy is not None and policy.upload
        limit = self.max_upload + 64_000 if upload else self.max_body

        headers = dict(scope.get("headers") or [])
        declared = headers.get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > limit:
            await self._too_large(send, request_id, limit)
            return
        has_body = (declared is not None and declared != b"0") or b"transfer-encoding" in headers
        if policy is not None and has_body and scope.get("method") in _BODY_METHODS:
            ctype = headers.get(b"content-type", b"").decode("latin-1")
            if not policy.accepts(ctype):
                media = MEDIA_TYPES[policy.body]
                detail = f"this route reads `{media}` bodies; send the body as `{media}`"
                await self._problem(send, request_id, 415, "unsupported-media-type", detail)
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
        except Exception as exc:
            # Answered here rather than by the framework's error middleware, which would
            # re-raise to the server and have it print the whole traceback a second time.
            log_crash(exc, scope, request_id)
            if not started:
                detail = "the service failed on this request; it was logged with this request id"
                await self._problem(send, request_id, 500, "internal-error", detail)

    async def _too_large(self, send: Send, request_id: str, limit: int) -> None:
        detail = f"the request body is larger than {limit} bytes"
        await self._problem(send, request_id, 413, "payload-too-large", detail, close=True)

    async def _problem(
        self,
        send: Send,
        request_id: str,
        status: int,
        slug: str,
        detail: str,
        *,
        close: bool = False,
    ) -> None:
        body = json.dumps(
            {
                "type": f"{self.docs_url}/errors/#{slug}",
                "title": title_of(slug, status),
                "status": status,
                "detail": detail,
                "instance": request_id,
            }
        ).encode()
        headers = [
            (b"content-type", b"application/problem+json"),
            (b"content-length", str(len(body)).encode()),
            (b"x-request-id", request_id.encode()),
        ]
        if close:
            headers.append((b"connection", b"close"))
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body})


def log_crash(exc: BaseException, scope: Scope, request_id: str) -> None:
    """One line per unhandled error: its class, the request, the last frames (see logsafe)."""
    log.error(
        "unhandled %s on %s %s (request %s) at %s",
        type(exc).__name__,
        scope.get("method", "-"),
        scope.get("path", "-"),
        request_id,
        where(exc),
    )
