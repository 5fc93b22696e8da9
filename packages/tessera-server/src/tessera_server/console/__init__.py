"""The memory console: see, search and fix what an agent remembers, in a browser.

Mounted at `/console` by `create_app` unless `TESSERA_CONSOLE_ENABLED=false`. Templates,
style sheet and script ship in this package; nothing is fetched from another host.
"""

from __future__ import annotations

from fastapi import FastAPI

from .app import build

PATH = "/console"


def mount(app: FastAPI) -> None:
    """Serve the console under `/console` of the service `app`."""
    app.mount(PATH, build(app), name="console")


__all__ = ["PATH", "mount"]
