"""The request loop shared by the sync and async clients.

:func:`plan` is a generator holding all the policy of one call — request building, the retry
loop, error mapping, response parsing and logging — and doing no I/O at all. It yields *steps*
(:class:`Send` a request, :class:`Sleep` before a retry) and is sent back what happened. The sync
and async transports in ``_transport`` are the only code that differs between the two clients:
each is a short loop that performs the yielded steps with blocking or awaited calls.
"""

from __future__ import annotations

import dataclasses
import os
import platform
from collections.abc import Generator, Mapping
from dataclasses import dataclass, field
from typing import IO, Any, TypeVar

import httpx

from ._exceptions import (
    REQUEST_ID_HEADER,
    APIResponseValidationError,
    TesseraError,
    connection_error,
    status_error,
)
from ._logging import logger
from ._operation import Operation
from ._response import APIResponse
from ._retry import retry_delay, retryable_status
from ._version import __version__

T = TypeVar("T")

DEFAULT_BASE_URL = "http://127.0.0.1:8420"
DEFAULT_TIMEOUT = 60.0
DEFAULT_MAX_RETRIES = 2

Timeout = float | httpx.Timeout

# The form the published 0.1.4 client sent, so that service logs group both clients' calls.
USER_AGENT = (
    f"tessera-memory-python/{__version__} Python/{platform.python_version()}"
    f" {platform.system() or 'Unknown'}/{platform.release() or 'unknown'}"
)


@dataclass(frozen=True)
class Settings:
    """A client's fixed configuration. ``with_options`` derives a copy; key and URL stay."""

    api_key: str
    base_url: str
    timeout: Timeout
    max_retries: int
    default_headers: Mapping[str, str] = field(default_factory=dict)

    @classmethod
    def resolve(
        cls,
        *,
        api_key: str | None,
        base_url: str | None,
        timeout: Timeout,
        max_retries: int,
        default_headers: Mapping[str, str] | None,
    ) -> Settings:
        """Apply the environment fallbacks and validate a constructor's arguments."""
        key = api_key if api_key is not None else os.environ.get("TESSERA_API_KEY")
        if not key:
            raise TesseraError(
                "No API key provided. Pass api_key=... to the client or set the TESSERA_API_KEY"
                " environment variable."
            )
        url = base_url or os.environ.get("TESSERA_BASE_URL") or DEFAULT_BASE_URL
        return cls(
            api_key=key,
            base_url=url.rstrip("/"),
            timeout=timeout,
            max_retries=_check_retries(max_retries),
            default_headers=dict(default_headers or {}),
        )

    def derive(
        self,
        *,
        timeout: Timeout | None,
        max_retries: int | None,
        default_headers: Mapping[str, str] | None,
    ) -> Settings:
        headers = dict(self.default_headers)
        for name, value in (default_headers or {}).items():
            for same in [h for h in headers if h.lower() == name.lower()]:
                del headers[same]
            headers[name] = value
        return Settings(
            api_key=self.api_key,
            base_url=self.base_url,
            timeout=self.timeout if timeout is None else timeout,
            max_retries=self.max_retries if max_retries is None else _check_retries(max_retries),
            default_headers=headers,
        )

    def headers(self) -> httpx.Headers:
        """Headers for every request: SDK defaults, then the caller's, then the key."""
        headers = httpx.Headers(
            {
                "Accept": "application/json",
                "User-Agent": USER_AGENT,
            }
        )
        headers.update(self.default_headers)
        headers["Authorization"] = f"Bearer {self.api_key}"
        return headers

    def __repr__(self) -> str:  # never show the key
        return (
            f"Settings(base_url={self.base_url!r}, timeout={self.timeout!r}, "
            f"max_retries={self.max_retries!r})"
        )


def _check_retries(max_retries: int) -> int:
    if isinstance(max_retries, bool) or not isinstance(max_retries, int) or max_retries < 0:
        raise ValueError(f"max_retries must be a non-negative integer, got {max_retries!r}")
    return max_retries


@dataclass(frozen=True)
class Send:
    """Step: send this request (built on the transport's own client) and report back."""

    method: str
    url: str
    params: Mapping[str, Any]
    headers: httpx.Headers
    timeout: Timeout
    json: Mapping[str, Any] | None = None
    data: Mapping[str, str] | None = None
    files: Mapping[str, tuple[str, IO[bytes], str]] | None = None

    def build(self, client: httpx.Client | httpx.AsyncClient) -> httpx.Request:
        # build_request keeps whatever a caller-supplied client adds (its headers, cookies);
        # the absolute URL means the client needs no base_url.
        return client.build_request(
            self.method,
            self.url,
            params=dict(self.params) or None,
            headers=self.headers,
            json=self.json,
            data=self.data,
            files=self.files,
            timeout=self.timeout,
        )


@dataclass(frozen=True)
class Sleep:
    """Step: wait this many seconds before the next attempt."""

    seconds: float


@dataclass(frozen=True)
class Sent:
    """What became of a :class:`Send`: a response, or the transport error instead of one."""

    request: httpx.Request
    response: httpx.Response | None = None
    error: httpx.TransportError | None = None


Plan = Generator[Send | Sleep, Sent | None, APIResponse[T]]


def plan(settings: Settings, op: Operation[T]) -> Plan[T]:
    """Perform ``op`` under the retry policy; the caller performs the yielded steps."""
    request = Send(
        method=op.method,
        url=settings.base_url + op.path,
        params=op.params,
        headers=settings.headers(),
        timeout=settings.timeout,
        json=op.json,
    )
    retries = 0
    while True:
        if op.upload is not None:  # reopened for every attempt: a retry resends the whole file
            with op.upload.open() as files:
                sent = yield dataclasses.replace(request, data=op.upload.form, files=files)
        else:
            sent = yield request
        assert sent is not None, "a Send step must be answered with a Sent"

        response = sent.response
        if response is not None:
            logger.debug(
                "%s %s -> %d (request id %s)",
                op.method,
                sent.request.url,
                response.status_code,
                response.headers.get(REQUEST_ID_HEADER),
            )
            if response.is_success:
                return _parsed(op, response)
            error: TesseraError = status_error(response)
            may_retry = retryable_status(response.status_code, idempotent=op.idempotent)
            reason = f"status {response.status_code}"
        else:
            assert sent.error is not None
            logger.debug("%s %s failed: %s", op.method, sent.request.url, type(sent.error).__name__)
            error = connection_error(sent.error, sent.request)
            may_retry = op.idempotent
            reason = type(sent.error).__name__

        delay = retry_delay(retries, response=response) if may_retry else None
        if retries >= settings.max_retries or delay is None:
            raise error from sent.error
        retries += 1
        logger.info(
            "retrying %s %s in %.2fs (retry %d of %d) after %s",
            op.method,
            op.path,
            delay,
            retries,
            settings.max_retries,
            reason,
        )
        yield Sleep(delay)


def _parsed(op: Operation[T], response: httpx.Response) -> APIResponse[T]:
    try:
        parsed = op.parse(response)
    except ValueError as exc:  # includes json.JSONDecodeError and pydantic.ValidationError
        raise APIResponseValidationError(
            f"{response.status_code} response to {op.method} {op.path} does not match the"
            f" contract: {exc}",
            response=response,
        ) from exc
    return APIResponse(
        parsed=parsed,
        status_code=response.status_code,
        headers=response.headers,
        request_id=response.headers.get(REQUEST_ID_HEADER),
        http_response=response,
    )
