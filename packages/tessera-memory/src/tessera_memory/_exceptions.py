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

    def __init__(self, message: str = "Connection error.", *, request: httpx.Request) -> None:
        super().__init__(message)
        self.message = message
        self.request = request


class APITimeoutError(APIConnectionError):
    """The request timed out before a response arrived."""

    def __init__(self, *, request: httpx.Request) -> None:
        super().__init__("Request timed out.", request=request)


class APIError(TesseraError):
    """The service answered, but not with what the call expects."""

    def __init__(self, message: str, *, request: httpx.Request) -> None:
        super().__init__(message)
        self.message = message
        self.request = request


class APIResponseValidationError(APIError):
    """A successful response whose body does not parse as the documented model."""

    def __init__(self, message: str, *, response: httpx.Response) -> None:
        super().__init__(message, request=response.request)
        self.response = response
        self.status_code = response.status_code
        self.request_id: str | None = response.headers.get(REQUEST_ID_HEADER)


class APIStatusError(APIError):
    """A non-2xx response. ``problem`` is the parsed RFC 9457 body, when there is one."""

    def __init__(
        self, message: str, *, response: httpx.Response, problem: ProblemDetail | None
    ) -> None:
        super().__init__(message, request=response.request)
        self.response = response
        self.status_code = response.status_code
        self.problem = problem
        self.request_id: str | None = response.headers.get(REQUEST_ID_HEADER) or (
            problem.instance if problem is not None else None
        )

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


def status_error(response: httpx.Response) -> APIStatusError:
    """Build the exception for a non-2xx ``response``."""
    status = response.status_code
    problem = parse_problem(response)
    title = problem.title if problem is not None else response.reason_phrase
    message = f"{status} {title}".rstrip()
    if problem is not None and problem.detail:
        message = f"{message}: {problem.detail}"
    request_id = response.headers.get(REQUEST_ID_HEADER)
    if request_id:
        message = f"{message} (request id {request_id})"
    cls = InternalServerError if status >= 500 else _STATUS_ERRORS.get(status, APIStatusError)
    return cls(message, response=response, problem=problem)


def connection_error(exc: httpx.TransportError, request: httpx.Request) -> APIConnectionError:
    """Build the exception for a request that got no response."""
    if isinstance(exc, httpx.TimeoutException):
        return APITimeoutError(request=request)
    return APIConnectionError(f"Connection error: {type(exc).__name__}: {exc}", request=request)
