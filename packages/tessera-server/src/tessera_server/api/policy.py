"""Request policy, declared where each route is declared.

Which POSTs a read-only key may make, which media type a route's body must have, and which
size limit applies are properties of the route, so each route states them next to its path
(`dependencies=[READS]`, `[UPLOAD]`; `read_post` in `routes/common.py` declares a reading POST
with `READS`). A route that states nothing gets the strict default:
a write, a JSON body, the ordinary body limit. A new endpoint therefore cannot slip past a
policy by being left off a list of paths; at worst it is stricter than it needs to be.
"""

from __future__ import annotations

from collections.abc import Iterable, MutableMapping
from dataclasses import dataclass
from email.message import Message
from typing import Any, Literal

from fastapi import Depends
from fastapi.routing import APIRoute
from starlette.routing import BaseRoute, Match

BodyKind = Literal["json", "multipart"]
MEDIA_TYPES: dict[BodyKind, str] = {"json": "application/json", "multipart": "multipart/form-data"}


@dataclass(frozen=True)
class Policy:
    """What a route allows. Used as a dependency only to attach it to the route; it checks
    nothing itself (the checks run before the body is read, see `middleware.py`, and in
    `deps.principal`)."""

    reads_only: bool = False
    body: BodyKind = "json"
    upload: bool = False

    async def __call__(self) -> None:  # async: no trip to the thread pool (see deps.py)
        return None

    def accepts(self, content_type: str | None) -> bool:
        """Whether a body of this media type is one the route reads."""
        if not content_type:
            return False
        message = Message()
        message["content-type"] = content_type
        media = message.get_content_type()
        if self.body == "multipart":
            return media == "multipart/form-data"
        main, _, sub = media.partition("/")
        return main == "application" and (sub == "json" or sub.endswith("+json"))


DEFAULT = Policy()
# A POST that only reads (search, recall, compress): a read-only key may call it.
READS = Depends(Policy(reads_only=True))
# A multipart upload: its own, larger, body limit.
UPLOAD = Depends(Policy(body="multipart", upload=True))


def declared(route: object) -> Policy:
    """The policy a route declared, or the default."""
    if isinstance(route, APIRoute):
        found = [d.call for d in route.dependant.dependencies if isinstance(d.call, Policy)]
        if found:
            return found[0]
    return DEFAULT


def policies(route: APIRoute) -> list[Policy]:
    """Every policy a route declares (a route must declare at most one)."""
    return [d.call for d in route.dependant.dependencies if isinstance(d.call, Policy)]


def route_for(routes: Iterable[BaseRoute], scope: MutableMapping[str, Any]) -> BaseRoute | None:
    """The route that will serve this request, found by the router's own matching."""
    for route in routes:
        match, _ = route.matches(scope)
        if match is Match.FULL:
            return route
    return None
