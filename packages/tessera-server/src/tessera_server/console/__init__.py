"""The memory console: see, search and fix what an agent remembers, in a browser.

Mounted at `/console` by `create_app` unless `TESSERA_CONSOLE_ENABLED=false`. Templates,
style sheet and script ship in this package; nothing is fetched from another host.
"""

from __future__ import annotations

from fastapi import FastAPI
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from .app import build
from .render import HEADERS

PATH = "/console"


def mount(app: FastAPI) -> None:
    """Serve the console under `/console` of the service `app`.

    The service does not redirect slashes (an empty id must never land on a scope-wide
    route), so the address the docs give, `/console` without a slash, gets a route of its own
    that sends the browser to the console's root instead of a 404."""
    app.router.routes.append(Route(PATH, _to_root, methods=["GET"], include_in_schema=False))
    app.mount(PATH, build(app), name="console")


async def _to_root(request: Request) -> Response:
    root = f"{request.scope.get('root_path', '')}{PATH}/"
    return RedirectResponse(root, status_code=307, headers=HEADERS)


__all__ = ["PATH", "mount"]
