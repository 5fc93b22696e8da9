"""RFC 9457 problem responses for every error, including the framework's own."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.formparsers import MultiPartException
from starlette.routing import BaseRoute, Match

from ..engine.errors import EngineError
from ..store.protocol import StoreBusy
from .schemas import MAX_BODY_DEPTH

log = logging.getLogger("tessera.api")
PROBLEM_JSON = "application/problem+json"

# slug per status for framework errors (the docs have an anchor for each).
_SLUGS = {
    400: "bad-request",
    401: "unauthorized",
    403: "forbidden",
    404: "not-found",
    405: "method-not-allowed",
    409: "conflict",
    413: "payload-too-large",
    415: "unsupported-media-type",
    422: "invalid-input",
    429: "rate-limited",
    500: "internal-error",
    503: "unavailable",
}

# One title per slug, the heading of its entry on the docs' Errors page: a framework error
# (a body that fails validation, an unknown route) reads like the same kind raised by the
# engine, not with the HTTP reason phrase ("Unprocessable Entity" beside "Invalid input").
TITLES = {
    "bad-request": "Bad request",
    "unauthorized": "Unauthorized",
    "forbidden": "Forbidden",
    "not-found": "Not found",
    "method-not-allowed": "Method not allowed",
    "conflict": "Conflict",
    "payload-too-large": "Payload too large",
    "unsupported-media-type": "Unsupported media type",
    "invalid-input": "Invalid input",
    "missing-scope": "Missing scope",
    "wrong-id-kind": "Wrong kind of id",
    "not-configured": "Capability not configured",
    "rate-limited": "Rate limited",
    "internal-error": "Internal error",
    "unavailable": "Unavailable",
}


def slug_of(status: int) -> str:
    return _SLUGS.get(status, "error")


def title_of(slug: str, status: int) -> str:
    """The problem's title: its slug's, else the HTTP reason phrase of a status we never
    produce ourselves."""
    return TITLES.get(slug) or HTTPStatus(status).phrase


class ProblemError(Exception):
    """Raised by the HTTP layer to answer with a problem."""

    def __init__(
        self,
        status: int,
        detail: str,
        *,
        slug: str | None = None,
        title: str | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.slug = slug or slug_of(status)
        self.title = title or title_of(self.slug, status)
        self.headers = dict(headers or {})


def problem_response(
    request: Request,
    status: int,
    detail: str | None,
    *,
    slug: str | None = None,
    title: str | None = None,
    headers: Mapping[str, str] | None = None,
) -> JSONResponse:
    docs = getattr(request.app.state, "docs_url", "")
    request_id = getattr(request.state, "request_id", None)
    slug = slug or slug_of(status)
    body: dict[str, Any] = {
        "type": f"{docs}/errors/#{slug}",
        "title": title or title_of(slug, status),
        "status": status,
        "detail": detail,
        "instance": request_id,
    }
    all_headers = dict(headers or {})
    if request_id:
        # The 500 handler answers from outside the request-id middleware, so the
        # problem carries its own X-Request-Id (the middleware does not add a second).
        all_headers["X-Request-Id"] = request_id
    return JSONResponse(body, status_code=status, media_type=PROBLEM_JSON, headers=all_headers)


def _location(loc: tuple[Any, ...]) -> str:
    parts = [str(p) for p in loc if p not in ("body",)]
    return ".".join(parts) or "body"


def describe_validation(exc: RequestValidationError) -> str:
    """A readable list of what to fix, without echoing the submitted values."""
    lines = []
    for error in exc.errors()[:10]:
        kind = error.get("type", "")
        where = _location(tuple(error.get("loc", ())))
        if kind == "json_invalid":
            lines.append("the body is not valid JSON")
        elif kind == "extra_forbidden":
            # The unknown name is the caller's text: say where it is, not what it is.
            parent = _location(tuple(error.get("loc", ()))[:-1])
            lines.append(
                f"`{parent}` holds a name that is not a field of this request "
                "(see the HTTP reference for its fields)"
            )
        elif kind == "missing":
            lines.append(f"`{where}` is required")
        else:
            lines.append(f"`{where}`: {error.get('msg', 'invalid')}")
    more = len(exc.errors()) - 10
    if more > 0:
        lines.append(f"and {more} more")
    return "; ".join(lines)


def _unparsable_body(exc: StarletteHTTPException) -> str:
    cause = exc.__cause__ or exc.__context__
    if isinstance(cause, RecursionError):
        return f"the body is nested more than {MAX_BODY_DEPTH} levels deep; flatten it"
    if isinstance(cause, UnicodeError):
        return "the body is not valid JSON (it is not UTF-8 text)"
    if isinstance(cause, MultiPartException):
        # Starlette's messages are fixed texts ("Missing boundary in multipart."), no input.
        return f"the multipart/form-data body is malformed: {cause.message}"
    return "the body could not be parsed; send JSON (or multipart/form-data for uploads)"


_METHODS = ("DELETE", "GET", "HEAD", "OPTIONS", "PATCH", "POST", "PUT")


def _allowed_methods(request: Request) -> list[str]:
    """The methods some route takes at this path: each is tried against the routes (routers
    nest, so asking every route whether it fully matches is what stays correct)."""
    routes = request.app.router.routes
    return [
        method
        for method in _METHODS
        if any(
            isinstance(route, BaseRoute)
            and route.matches({**request.scope, "method": method})[0] is Match.FULL
            for route in routes
        )
    ]


def install(app: FastAPI) -> None:
    @app.exception_handler(ProblemError)
    async def _problem(request: Request, exc: ProblemError) -> JSONResponse:
        return problem_response(
            request, exc.status, exc.detail, slug=exc.slug, title=exc.title, headers=exc.headers
        )

    @app.exception_handler(EngineError)
    async def _engine(request: Request, exc: EngineError) -> JSONResponse:
        return problem_response(request, exc.status, exc.detail, slug=exc.slug, title=exc.title)

    @app.exception_handler(StoreBusy)
    async def _busy(request: Request, exc: StoreBusy) -> JSONResponse:
        # A deadlock or serialization failure that outlasted the store's retries: nothing
        # was changed by the failed transaction, and the same request may succeed shortly.
        log.warning("store busy on %s %s: %s", request.method, request.url.path, exc)
        return problem_response(
            request,
            503,
            "the database was busy with conflicting writes and rolled this request's change "
            "back; retry shortly",
            slug="unavailable",
            headers={"Retry-After": str(exc.retry_after)},
        )

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> JSONResponse:
        return problem_response(request, 422, describe_validation(exc), slug="invalid-input")

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        if exc.status_code == 400:
            # The framework's answer to a body it cannot parse (JSON that is not UTF-8,
            # broken multipart). Like malformed JSON, that is invalid input: 422.
            return problem_response(request, 422, _unparsable_body(exc), slug="invalid-input")
        headers = dict(exc.headers or {})
        if exc.status_code == 405:
            # The framework names only the first route that matched the path; `Allow`
            # must list every method the path takes (RFC 9110 §15.5.6).
            headers["Allow"] = ", ".join(_allowed_methods(request))
        detail = {
            404: "no such route; see /openapi.json for the API",
            405: "this route does not take that method",
        }.get(exc.status_code, str(exc.detail) if exc.detail else None)
        return problem_response(request, exc.status_code, detail, headers=headers)
