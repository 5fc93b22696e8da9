"""Request dependencies: the caller's key, its tenant, and the engine."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request, Security
from fastapi.security import APIKeyHeader

from ..engine.errors import InvalidInput
from ..engine.keys import PREFIX, hash_key
from ..engine.memory import Memory
from ..engine.scope import resolve_scope
from ..store.records import Scope
from .problems import ProblemError
from .ratelimit import RateLimiter

bearer = APIKeyHeader(name="Authorization", scheme_name="bearer", auto_error=False)
AUTH_HINT = {"WWW-Authenticate": 'Bearer realm="tessera"'}


@dataclass(frozen=True)
class Principal:
    tenant_id: int
    key_prefix: str
    read_only: bool
    max_label_chars: int = 256


def memory(request: Request) -> Memory:
    engine: Memory = request.app.state.memory
    return engine


def single_query_values(request: Request) -> None:
    """No query parameter of this API takes several values: a repeated one is ambiguous
    (which `user_id` is the scope?), so it is refused instead of silently taking the last."""
    names = [name for name, _ in request.query_params.multi_items()]
    if len(names) != len(set(names)):
        raise InvalidInput("a query parameter is given more than once; give each at most once")


def principal(
    request: Request, authorization: Annotated[str | None, Security(bearer)]
) -> Principal:
    local: Principal | None = getattr(request.app.state, "local_principal", None)
    if local is not None:
        return local  # in-process (create_app's local_tenant): no port, so no key
    if not authorization:
        raise ProblemError(
            401, "send your API key as `Authorization: Bearer tsk_live_…`", headers=AUTH_HINT
        )
    scheme, _, token = authorization.partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token.startswith(PREFIX):
        raise ProblemError(
            401, "the Authorization header must be `Bearer tsk_live_…`", headers=AUTH_HINT
        )
    engine = memory(request)
    record = engine.store.find_key(hash_key(token))
    if record is None or record.revoked_at is not None:
        raise ProblemError(
            401,
            "this API key is unknown or revoked in the database this service serves; a key "
            "works only in the database `tessera keys create` made it in (the one "
            "TESSERA_DATABASE_URL named there; `tessera serve` prints the one it serves)",
            headers=AUTH_HINT,
        )
    limiter: RateLimiter = request.app.state.rate_limiter
    decision = limiter.check(record.prefix)
    headers = {
        "RateLimit-Limit": str(decision.limit),
        "RateLimit-Remaining": str(decision.remaining),
        "RateLimit-Reset": str(decision.reset_seconds),
    }
    request.state.rate_headers = headers
    if not decision.allowed:
        raise ProblemError(
            429,
            f"this key made more than {decision.limit} requests a minute; retry after "
            f"{decision.retry_after} s",
            headers={**headers, "Retry-After": str(decision.retry_after)},
        )
    if record.read_only and request.method not in ("GET", "HEAD") and not _is_read(request):
        raise ProblemError(403, "this API key is read-only; use a read-write key to change memory")
    return Principal(
        record.tenant_id, record.prefix, record.read_only, engine.settings.max_label_chars
    )


# POSTs that only read: a read-only key may make them (`compress` packs existing summaries).
_READ_POSTS = (
    "/v1/search",
    "/v1/query",
    "/v1/procedures/recall",
    "/v1/resources/recall",
    "/v1/compress",
)


def _is_read(request: Request) -> bool:
    return request.method == "POST" and request.url.path in _READ_POSTS


def scope_of(who: Principal, user_id: str | None, session_id: str | None) -> Scope:
    return resolve_scope(who.tenant_id, user_id, session_id, who.max_label_chars)


Caller = Annotated[Principal, Depends(principal)]
Engine = Annotated[Memory, Depends(memory)]
