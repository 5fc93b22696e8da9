"""The SDK's exceptions, and the mapping from an HTTP error response to one of them.

::

    TesseraError
    ├── APIConnectionError            the request got no HTTP response
    │   └── APITimeoutError
    └── APIError                      the service answered
        ├── APIResponseValidationError  a 2xx body that does not match the contract
        └── APIStatusError              a non-2xx answer (status_code, problem, request_id)
            ├── AuthenticationError        401
            ├── PermissionDeniedError      403
            ├── NotFoundError              404
            ├── ConflictError              409
            ├── UnprocessableEntityError   422
            ├── RateLimitError             429
            └── InternalServerError        >= 500
"""

from __future__ import annotations

import json
from typing import Any

import httpx
import pydantic

from .models import ProblemDetail

REQUEST_ID_HEADER = "X-Request-Id"


class TesseraError(Exception):
    """Base class of every error raised by ``tessera_memory``."""


class APIConnectionError(TesseraError):
    """No HTTP response: the connection failed, broke, or timed out."""

    def __init__(
        self, message: str = "Connection error.", *, request: httpx.Request | None = None
    ) -> None:
        super().__init__(message)
        self.message = message
        self.request = request


class APITimeoutError(APIConnectionError):
    """The request timed out before a response arrived."""

    def __init__(self, *, request: httpx.Request | None = None) -> None:
        super().__init__("Request timed out.", request=request)


def _request_of(response: httpx.Response | None) -> httpx.Request | None:
    if response is None:
        return None
    try:
        return response.request
    except RuntimeError:  # a Response built by hand has no request
        return None


class APIError(TesseraError):
    """The service answered, but not with what the call expects.

    ``str(error)`` is the human-readable message alone; the status, the parsed problem and the
    request id are attributes (and part of ``repr(error)``).
    """

    def __init__(
        self,
        message: str,
        *,
        request: httpx.Request | None = None,
        response: httpx.Response | None = None,
        status_code: int | None = None,
        request_id: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.response = response
        self.request = request if request is not None else _request_of(response)
        self.status_code: int | None = (
            status_code if status_code is not None or response is None else response.status_code
        )
        if request_id is None and response is not None:
            request_id = response.headers.get(REQUEST_ID_HEADER)
        self.request_id = request_id

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}({self.message!r}, status_code={self.status_code!r},"
            f" request_id={self.request_id!r})"
        )


class APIResponseValidationError(APIError):
    """A successful response whose body does not parse as the documented model."""

    status_code: int
    response: httpx.Response

    def __init__(self, message: str, *, response: httpx.Response) -> None:
        super().__init__(message, response=response, status_code=response.status_code)


class APIStatusError(APIError):
    """A non-2xx response. ``problem`` is the parsed RFC 9457 body, when there is one.

    Built by the client from the response; it can also be built by hand (in a test, or by
    code written for the published 0.1.4 client) from ``status_code=`` alone.
    """

    status_code: int
    response: httpx.Response

    def __init__(
        self,
        message: str,
        *,
        response: httpx.Response | None = None,
        problem: ProblemDetail | None = None,
        status_code: int | None = None,
        request_id: str | None = None,
    ) -> None:
        if status_code is None:
            if response is None:
                raise TypeError("APIStatusError needs status_code= or response=")
            status_code = response.status_code
        if request_id is None and response is not None:
            request_id = response.headers.get(REQUEST_ID_HEADER)
        if request_id is None and problem is not None:
            request_id = problem.instance
        # Built by hand without one, the error still has a response (empty, with the status),
        # so ``err.response`` is always an ``httpx.Response``.
        if response is None:
            response = httpx.Response(status_code)
        super().__init__(message, response=response, status_code=status_code, request_id=request_id)
        self.problem = problem

    @property
    def detail(self) -> str | None:
        """The problem's human-readable ``detail``, if the service sent one."""
        return self.problem.detail if self.problem is not None else None


class AuthenticationError(APIStatusError):
    """401: the API key is missing or unknown."""


class PermissionDeniedError(APIStatusError):
    """403: the key lacks the right for this call (e.g. a read-only key writing)."""


class NotFoundError(APIStatusError):
    """404: no such item, job or route in this tenant."""


class ConflictError(APIStatusError):
    """409: the request conflicts with current state (e.g. correcting a superseded fact)."""


class UnprocessableEntityError(APIStatusError):
    """422: the request is well-formed HTTP but invalid (missing scope, bad filter, ...)."""


class RateLimitError(APIStatusError):
    """429: too many requests for this key; see ``Retry-After``."""


class InternalServerError(APIStatusError):
    """A 5xx response."""


_STATUS_ERRORS: dict[int, type[APIStatusError]] = {
    401: AuthenticationError,
    403: PermissionDeniedError,
    404: NotFoundError,
    409: ConflictError,
    422: UnprocessableEntityError,
    429: RateLimitError,
}


def parse_problem(response: httpx.Response) -> ProblemDetail | None:
    """Read an RFC 9457 problem from an error response, tolerating whatever else arrives.

    A JSON object is accepted even when it is not a complete problem document (for example a
    bare ``{"detail": ...}`` from a proxy): missing ``title``/``status`` are filled from the
    response line and a non-string ``detail`` is rendered as JSON. Anything that is not a JSON
    object (HTML from a proxy, plain text, an empty body) yields ``None``.
    """
    try:
        data: Any = response.json()
    except (ValueError, UnicodeDecodeError):
        return None
    if not isinstance(data, dict):
        return None
    fields = dict(data)
    if not isinstance(fields.get("title"), str):
        fields["title"] = response.reason_phrase or f"HTTP {response.status_code}"
    if not isinstance(fields.get("status"), int) or isinstance(fields.get("status"), bool):
        fields["status"] = response.status_code
    detail = fields.get("detail")
    if detail is not None and not isinstance(detail, str):
        fields["detail"] = json.dumps(detail, default=str)
    for key in ("type", "instance"):
        if key in fields and not isinstance(fields[key], str):
            del fields[key]
    try:
        return ProblemDetail.model_validate(fields)
    except pydantic.ValidationError:
        return None


def error_message(status: int, problem: ProblemDetail | None) -> str:
    """What ``str(error)`` says: the problem's detail, else its title, else the status."""
    if problem is not None and problem.detail:
        return problem.detail
    if problem is not None and problem.title:
        return problem.title
    return f"Tessera API returned status {status}."


def make_status_error(
    status: int,
    *,
    problem: ProblemDetail | None,
    request_id: str | None,
    response: httpx.Response | None,
) -> APIStatusError:
    """The most specific :class:`APIStatusError` for ``status`` (5xx: InternalServerError)."""
    cls = InternalServerError if status >= 500 else _STATUS_ERRORS.get(status, APIStatusError)
    return cls(
        error_message(status, problem),
        response=response,
        problem=problem,
        status_code=status,
        request_id=request_id,
    )


def status_error(response: httpx.Response) -> APIStatusError:
    """Build the exception for a non-2xx ``response``."""
    problem = parse_problem(response)
    return make_status_error(
        response.status_code,
        problem=problem,
        request_id=response.headers.get(REQUEST_ID_HEADER)
        or (problem.instance if problem is not None else None),
        response=response,
    )


def connection_error(exc: httpx.TransportError, request: httpx.Request) -> APIConnectionError:
    """Build the exception for a request that got no response."""
    if isinstance(exc, httpx.TimeoutException):
        return APITimeoutError(request=request)
    return APIConnectionError(f"Connection error: {type(exc).__name__}: {exc}", request=request)
