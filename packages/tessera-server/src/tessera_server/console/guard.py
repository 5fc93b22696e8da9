"""Who may see a console page and who may change memory from one.

Reads need a signed-in session. Writes also need a key that may write, the session's CSRF
token in the form, and no sign of coming from another site (`Origin`, `Sec-Fetch-Site`).
Failures are exceptions the console turns into pages (`app.py`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, NamedTuple

from fastapi import Depends, Form, Query, Request

from ..engine.memory import Memory
from ..engine.records import Scope
from ..engine.scope import resolve_scope
from . import session as sessions
from .session import Session


class SignInNeeded(Exception):
    """No valid session: the browser is sent to the sign-in page."""


@dataclass
class Refused(Exception):
    """A request the console will not carry out; `reason` is shown to the user."""

    status: int
    reason: str


def engine(request: Request) -> Memory:
    memory: Memory = request.app.state.parent.state.memory
    return memory


def signed_in(request: Request) -> Session:
    found = sessions.read(engine(request), request.cookies.get(sessions.COOKIE))
    if found is None:
        raise SignInNeeded()
    return found


def same_site(request: Request) -> bool:
    """False when the browser says the request comes from another site: by
    `Sec-Fetch-Site` where it sends one, else by `Origin` where that names a host."""
    fetch_site = request.headers.get("sec-fetch-site")
    if fetch_site is not None:
        return fetch_site in ("same-origin", "none")
    origin = request.headers.get("origin")
    if origin is None or origin == "null":
        return True  # the CSRF token still has to match
    host = request.headers.get("host", "")
    return origin in (f"http://{host}", f"https://{host}")


def writer(request: Request, csrf: str | None) -> Session:
    """The session of a request that may change memory, else Refused (or SignInNeeded)."""
    if not same_site(request):
        raise Refused(403, "This request came from another site; it was not carried out.")
    current = signed_in(request)
    if not sessions.csrf_ok(current, csrf):
        raise Refused(
            403, "This form is out of date or did not come from the console; nothing changed."
        )
    if current.holder.read_only:
        raise Refused(403, "This key is read-only: it may look at memory but not change it.")
    return current


def scope_of(
    request: Request, current: Session, user_id: str | None, session_id: str | None
) -> Scope:
    return resolve_scope(
        current.holder.tenant_id,
        user_id or None,
        session_id or None,
        engine(request).settings.max_label_chars,
    )


Label = Annotated[str | None, Query(max_length=1024)]
OptText = Annotated[str | None, Form(max_length=100_000)]


class Seat(NamedTuple):
    """Who is signed in, and the scope the page or form is about."""

    session: Session
    scope: Scope


def reading(request: Request, user_id: Label = None, session_id: Label = None) -> Seat:
    """A page's reader: a signed-in session and the scope named in the query string."""
    current = signed_in(request)
    return Seat(current, scope_of(request, current, user_id, session_id))


def writing(
    request: Request, csrf: OptText = None, user_id: OptText = None, session_id: OptText = None
) -> Seat:
    """A form's writer (see `writer`) and the scope named in the form."""
    current = writer(request, csrf)
    return Seat(current, scope_of(request, current, user_id, session_id))


# A page that reads a scope, and a form that changes one, take one of these.
Reading = Annotated[Seat, Depends(reading)]
Writing = Annotated[Seat, Depends(writing)]
