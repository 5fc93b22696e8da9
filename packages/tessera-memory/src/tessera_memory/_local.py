"""Tessera in-process: the same clients with no server, no port and no key.

``Tessera.local(path)`` runs the memory service's own ASGI app (``tessera_server``, the
``local`` extra) inside this process, on a SQLite file, and hands the client an httpx
transport that calls that app instead of a socket. Every request goes through the same
routes, validation, engine and store as over HTTP: one code path, not a second engine. The
file is an ordinary Tessera database: ``tessera serve`` can open it later, and a key made
with ``tessera keys create --tenant local`` reaches the same memories.

The app lives on an event loop of its own, in a daemon thread, so the sync client can call it
from plain code and the async client from any loop; its lifespan (model loading, the
background consolidation worker) is entered once, when the client is made, and left when the
client is closed.
"""

from __future__ import annotations

import asyncio
import os
import threading
from collections.abc import Coroutine
from concurrent.futures import Future
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import httpx

from ._exceptions import TesseraError

if TYPE_CHECKING:
    from contextlib import AbstractAsyncContextManager

DEFAULT_PATH = "~/tessera.db"
DEFAULT_TENANT = "local"
# Requests never leave the process; the URL only gives httpx a well-formed address.
LOCAL_BASE_URL = "http://tessera.local"
# The key is never checked (the in-process app acts as its tenant); the SDK sends a header.
LOCAL_KEY = "tsk_local_in_process"

T = TypeVar("T")

INSTALL_HINT = (
    "Tessera.local() runs the memory service inside this process and needs its package: "
    "from a clone of the repository, `pip install './packages/tessera-memory[local]'` "
    "(see Getting Started)"
)


class LocalApp:
    """The service app on its own event loop thread, entered once and left on close."""

    def __init__(self, path: str | os.PathLike[str], tenant: str) -> None:
        try:
            from tessera_server.app import create_app
            from tessera_server.config import load_settings
        except ImportError as exc:  # pragma: no cover - exercised by the install test
            raise TesseraError(INSTALL_HINT) from exc
        file = Path(path).expanduser().resolve()
        file.parent.mkdir(parents=True, exist_ok=True)
        settings = load_settings(database_url=f"sqlite:///{file}")
        self.path = file
        self.app = create_app(settings, local_tenant=tenant)
        self.transport = httpx.ASGITransport(app=self.app)
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(
            target=self.loop.run_forever, name="tessera-local", daemon=True
        )
        self.thread.start()
        self.lock = threading.Lock()
        self.closed = False
        self.lifespan: AbstractAsyncContextManager[Any] = self.app.router.lifespan_context(self.app)
        try:
            self.run(self.lifespan.__aenter__())
        except BaseException:
            self._stop_loop()
            raise

    def run(self, coro: Coroutine[Any, Any, T]) -> T:
        """Run a coroutine on the app's loop and wait for it (from any thread)."""
        return self.submit(coro).result()

    def submit(self, coro: Coroutine[Any, Any, T]) -> Future[T]:
        if self.closed:
            coro.close()
            raise TesseraError("this local Tessera client is closed")
        return asyncio.run_coroutine_threadsafe(coro, self.loop)

    async def call(
        self, method: str, url: str, headers: list[tuple[bytes, bytes]], body: bytes
    ) -> httpx.Response:
        """One request through the app, its response read whole (it crosses threads)."""
        request = httpx.Request(method, url, headers=headers, content=body)
        response = await self.transport.handle_async_request(request)
        content = await response.aread()
        return httpx.Response(response.status_code, headers=response.headers, content=content)

    def close(self) -> None:
        with self.lock:
            if self.closed:
                return
            try:
                self.run(self.lifespan.__aexit__(None, None, None))
            finally:
                self.closed = True
                self._stop_loop()

    def _stop_loop(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(timeout=30)
        if not self.thread.is_alive():
            self.loop.close()


class LocalTransport(httpx.BaseTransport):
    """httpx's sync transport interface onto the in-process app."""

    def __init__(self, app: LocalApp) -> None:
        self.local = app

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        body = request.read()
        return self.local.run(
            self.local.call(request.method, str(request.url), request.headers.raw, body)
        )

    def close(self) -> None:
        self.local.close()


class AsyncLocalTransport(httpx.AsyncBaseTransport):
    """httpx's async transport interface onto the in-process app (awaited from any loop)."""

    def __init__(self, app: LocalApp) -> None:
        self.local = app

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        body = await request.aread()
        future = self.local.submit(
            self.local.call(request.method, str(request.url), request.headers.raw, body)
        )
        return await asyncio.wrap_future(future)

    async def aclose(self) -> None:
        await asyncio.get_running_loop().run_in_executor(None, self.local.close)


def sync_http(path: str | os.PathLike[str], tenant: str) -> httpx.Client:
    return httpx.Client(transport=LocalTransport(LocalApp(path, tenant)), base_url=LOCAL_BASE_URL)


def async_http(path: str | os.PathLike[str], tenant: str) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        transport=AsyncLocalTransport(LocalApp(path, tenant)), base_url=LOCAL_BASE_URL
    )
