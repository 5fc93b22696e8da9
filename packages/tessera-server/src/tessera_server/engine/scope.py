"""Turning the caller's `user_id`/`session_id` labels into a scope inside their tenant."""

from __future__ import annotations

from ..store.records import Scope
from .errors import MissingScope


def resolve_scope(tenant_id: int, user_id: str | None, session_id: str | None) -> Scope:
    """A scope; at least one label is required so no call silently spans a whole tenant."""
    user = user_id or None
    session = session_id or None
    if user is None and session is None:
        raise MissingScope(
            "give `user_id` (the memory's owner) or `session_id` (one session), or both; "
            "both were empty"
        )
    return Scope(tenant_id, user, session)
