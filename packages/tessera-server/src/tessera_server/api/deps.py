"""Request dependencies: the caller's key, its tenant, and the engine."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Query, Request, Security
from fastapi.security import APIKeyHeader

from ..engine.errors import InvalidInput
from ..engine.fairness import work_owner
from ..engine.keys import PREFIX, hash_key
from ..engine.memory import Memory
from ..engine.records import Scope
from ..engine.scope import resolve_scope
from .policy import declared
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


def _engine(request: Request) -> Memory:
    engine: Memory = request.app.state.memory
    return engine


# Dependencies that neither block nor wait are `async`: FastAPI runs a plain `def` one in the
# thread pool, and each such hand-off cost a request a thread switch (five per search).


async def memory(request: Request) -> Memory:
    return _engine(request)


async def single_query_values(request: Request) -> None:
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
    # Several headers, or several values folded into one by a proxy ("Bearer a, Bearer b").
    if len(request.headers.getlist("authorization")) > 1 or "," in (authorization or ""):
        # Which one counts is not agreed: a proxy may act on the last while a framework reads
        # the first, so the two would attribute the request to different tenants.
        raise ProblemError(
            401,
            "send exactly one Authorization header; this request has several",
            headers=AUTH_HINT,
        )
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
    engine = _engine(request)
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
    declared_length = request.headers.get("content-length", "")
    cost = int(declared_length) if declared_length.isdigit() else 0
    decision = limiter.check(record.prefix, cost)
    headers = {
        "RateLimit-Limit": str(decision.limit),
        "RateLimit-Remaining": str(decision.remaining),
        "RateLimit-Reset": str(decision.reset_seconds),
    }
    request.state.rate_headers = headers
    if not decision.allowed:
        raise ProblemError(
            429,
            f"this key is over its budget of {decision.limit} requests (or of request bytes) "
            f"a minute; retry after {decision.retry_after} s",
            headers={**headers, "Retry-After": str(decision.retry_after)},
        )
    reads = request.method in ("GET", "HEAD") or declared(request.scope.get("route")).reads_only
    if record.read_only and not reads:
        raise ProblemError(403, "this API key is read-only; use a read-write key to change memory")
    return Principal(
        record.tenant_id, record.prefix, record.read_only, engine.settings.max_label_chars
    )


def scope_of(who: Principal, user_id: str | None, session_id: str | None) -> Scope:
    return resolve_scope(who.tenant_id, user_id, session_id, who.max_label_chars)


async def working_principal(who: Annotated[Principal, Depends(principal)]) -> Principal:
    """The caller, and the tenant its work is scheduled for (see engine/fairness.py).

    Async on purpose: it runs in the request's own context, which the endpoint's thread
    inherits, so the owner set here is the one the embedder sees."""
    work_owner.set(who.tenant_id)
    return who


Caller = Annotated[Principal, Depends(working_principal)]
Engine = Annotated[Memory, Depends(memory)]


UserLabel = Annotated[str | None, Query(description="The memory's owner.")]
SessionLabel = Annotated[str | None, Query(description="One session of the owner.")]


async def query_scope(
    who: Caller, user_id: UserLabel = None, session_id: SessionLabel = None
) -> Scope:
    """The scope a GET names in its query string."""
    return scope_of(who, user_id, session_id)


QueryScope = Annotated[Scope, Depends(query_scope)]
