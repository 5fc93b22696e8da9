"""Turning the caller's `user_id`/`session_id` labels into a scope inside their tenant."""

from __future__ import annotations

from typing import Protocol, TypedDict

from .errors import InvalidInput, MissingScope
from .records import Scope


class Owner(TypedDict):
    """Whose a record is: the fields every stored row of memory carries."""

    tenant_id: int
    user_id: str | None
    session_id: str | None


class _Owned(Protocol):
    @property
    def tenant_id(self) -> int: ...
    @property
    def user_id(self) -> str | None: ...
    @property
    def session_id(self) -> str | None: ...


def owned_by(source: _Owned) -> Owner:
    """The owner a new record takes from the scope, turn or record it is made from
    (`Record(**owned_by(turn), ...)`)."""
    return Owner(tenant_id=source.tenant_id, user_id=source.user_id, session_id=source.session_id)


def _check_label(value: str | None, name: str, max_chars: int) -> str | None:
    if not value:
        return None
    if len(value) > max_chars:
        raise InvalidInput(f"`{name}` is longer than {max_chars} characters")
    if any(ord(ch) < 32 or ord(ch) == 127 for ch in value):
        raise InvalidInput(f"`{name}` contains control characters")
    return value


def resolve_scope(
    tenant_id: int, user_id: str | None, session_id: str | None, max_chars: int = 256
) -> Scope:
    """A scope; at least one label is required so no call silently spans a whole tenant.

    Labels are bounded (`max_label_chars`) and printable: they are keys, not content.
    """
    user = _check_label(user_id, "user_id", max_chars)
    session = _check_label(session_id, "session_id", max_chars)
    if user is None and session is None:
        raise MissingScope(
            "give `user_id` (the memory's owner) or `session_id` (one session), or both; "
            "both were empty"
        )
    return Scope(tenant_id, user, session)
