"""``Tessera`` and ``AsyncTessera``: configuration, resources, lifecycle."""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping
from types import TracebackType
from typing import TypeVar

import httpx

from . import _local
from ._core import DEFAULT_MAX_RETRIES, DEFAULT_TIMEOUT, Settings, Timeout
from ._logging import configure_from_env
from ._operation import Operation, model
from ._resource import Async, Executor, M, Raw, Resource, Sync, endpoint
from ._transport import (
    AsyncSleep,
    AsyncTransport,
    SyncSleep,
    SyncTransport,
    default_async_sleep,
    default_sync_sleep,
)
from .models import HealthStatus
from .resources import Jobs, Maintenance, Memories, Procedures, Query, Resources, Search


class Surface(Resource[M]):
    """Everything a client exposes: the resources plus ``health()`` and ``ready()``."""

    memories: Memories[M]
    search: Search[M]
    query: Query[M]
    procedures: Procedures[M]
    resources: Resources[M]
    maintenance: Maintenance[M]
    jobs: Jobs[M]

    def __init__(self, executor: Executor, *, raw: bool = False) -> None:
        super().__init__(executor, raw=raw)
        self.memories = Memories(executor, raw=raw)
        self.search = Search(executor, raw=raw)
        self.query = Query(executor, raw=raw)
        self.procedures = Procedures(executor, raw=raw)
        self.resources = Resources(executor, raw=raw)
        self.maintenance = Maintenance(executor, raw=raw)
        self.jobs = Jobs(executor, raw=raw)

    @property
    def with_raw_response(self) -> Surface[Raw[M]]:
        """Every method of the client, returning :class:`~tessera_memory.APIResponse` wrappers."""
        return Surface(self._executor, raw=True)

    @endpoint
    def health() -> Operation[HealthStatus]:
        """Liveness: ``status.value == "ok"`` while the process serves requests."""
        return Operation("GET", "/health", model(HealthStatus))

    @endpoint
    def ready() -> Operation[HealthStatus]:
        """Readiness: ok once the store and models are usable (503, an error, before that)."""
        return Operation("GET", "/ready", model(HealthStatus))


_Client = TypeVar("_Client", bound="_ClientConfig")


class _ClientConfig:
    """Settings views and `with_options`, shared by both clients.

    ``timeout`` and ``max_retries`` (and the key and base URL) can also be assigned, as on the
    published 0.1.4 client: the new value applies to this client's next call, not to copies
    made earlier by ``with_options``.
    """

    _transport: SyncTransport | AsyncTransport

    @property
    def _settings(self) -> Settings:
        return self._transport.settings

    @_settings.setter
    def _settings(self, settings: Settings) -> None:
        self._transport.settings = settings

    @property
    def api_key(self) -> str:
        return self._settings.api_key

    @api_key.setter
    def api_key(self, value: str) -> None:
        if not value:
            raise ValueError("api_key must be a non-empty string")
        self._settings = dataclasses.replace(self._settings, api_key=value)

    @property
    def base_url(self) -> str:
        return self._settings.base_url

    @base_url.setter
    def base_url(self, value: str) -> None:
        self._settings = dataclasses.replace(self._settings, base_url=value.rstrip("/"))

    @property
    def timeout(self) -> Timeout:
        return self._settings.timeout

    @timeout.setter
    def timeout(self, value: Timeout) -> None:
        self._settings = self._settings.derive(
            timeout=value, max_retries=None, default_headers=None
        )

    @property
    def max_retries(self) -> int:
        return self._settings.max_retries

    @max_retries.setter
    def max_retries(self, value: int) -> None:
        self._settings = self._settings.derive(
            timeout=None, max_retries=value, default_headers=None
        )

    @property
    def default_headers(self) -> dict[str, str]:
        return dict(self._settings.default_headers)

    def with_options(
        self: _Client,
        *,
        timeout: Timeout | None = None,
        max_retries: int | None = None,
        default_headers: Mapping[str, str] | None = None,
    ) -> _Client:
        """A copy with other settings that shares this client's connection pool.

        ``default_headers`` are merged over the current ones; the key and base URL stay. The
        copy never closes the pool: close the original when done.
        """
        return self._with_settings(
            self._settings.derive(
                timeout=timeout, max_retries=max_retries, default_headers=default_headers
            )
        )

    def _with_settings(self: _Client, settings: Settings) -> _Client:
        raise NotImplementedError

    def __repr__(self) -> str:
        return f"{type(self).__name__}(base_url={self.base_url!r})"


class Tessera(_ClientConfig, Surface[Sync]):
    """Synchronous client for the Tessera memory service.

    ::

        with Tessera(api_key="tsk_live_...") as client:
            client.memories.add(content="I moved to Berlin", role="user", user_id="u1")
            hits = client.search("where do I live?", user_id="u1")
    """

    def __init__(
        self,
        *,
        api_key: str | None = None,
        base_url: str | None = None,
        timeout: Timeout = DEFAULT_TIMEOUT,
        max_retries: int = DEFAULT_MAX_RETRIES,
        default_headers: Mapping[str, str] | None = None,
        http_client: httpx.Client | None = None,
        _sleep: SyncSleep | None = None,
    ) -> None:
        configure_from_env()
        settings = Settings.resolve(
            api_key=api_key,
            base_url=base_url,
            timeout=timeout,
            max_retries=max_retries,
            default_headers=default_headers,
        )
        if http_client is not None and not isinstance(http_client, httpx.Client):
            raise TypeError(f"http_client must be an httpx.Client, not {type(http_client)!r}")
        self._init(settings, http_client, _sleep or default_sync_sleep)

    def _init(self, settings: Settings, http: httpx.Client | None, sleep: SyncSleep) -> None:
        self._owns_http = http is None
        self._transport: SyncTransport = SyncTransport(
            http or httpx.Client(timeout=settings.timeout), settings, sleep
        )
        super().__init__(self._transport)

    @classmethod
    def local(
        cls,
        path: str | os.PathLike[str] = _local.DEFAULT_PATH,
        *,
        tenant: str = _local.DEFAULT_TENANT,
        max_retries: int = DEFAULT_MAX_RETRIES,
    ) -> Tessera:
        """A client on a local SQLite file, with the service running inside this process.

        No server, no port, no key: the service's own app is called in-process (install the
        ``local`` extra). ``tessera serve`` can open the same file later; a key made with
        ``tessera keys create --tenant local`` then reaches the same memories. Close the
        client (or use ``with``) to stop its background consolidation.
        """
        client = cls(
            api_key=_local.LOCAL_KEY,
            base_url=_local.LOCAL_BASE_URL,
            max_retries=max_retries,
            http_client=_local.sync_http(path, tenant),
        )
        client._owns_http = True  # closing the client stops the in-process service
        return client

    @property
    def _http(self) -> httpx.Client:
        """The connection pool (the attribute the published 0.1.4 client exposed)."""
        return self._transport.http

    def _with_settings(self, settings: Settings) -> Tessera:
        copy = object.__new__(Tessera)
        copy._init(settings, self._transport.http, self._transport.sleep)
        return copy

    def close(self) -> None:
        """Close the connection pool, unless it was passed in as ``http_client``."""
        if self._owns_http:
            self._transport.http.close()

    def __enter__(self) -> Tessera:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


class AsyncTessera(_ClientConfig, Surface[Async]):
    """Asynchronous client for the Tessera memory service (every method is awaited).

    ::

        async with AsyncTessera(api_key="tsk_live_...") as client:
            await client.memories.add(content="I moved to Berlin", role="user", user_id="u1")
            hits = await client.search("where do I live?", user_id="u1")
    """

    def __init__(
        self,
        *,
        api_key: str | None = None,
        base_url: str | None = None,
        timeout: Timeout = DEFAULT_TIMEOUT,
        max_retries: int = DEFAULT_MAX_RETRIES,
        default_headers: Mapping[str, str] | None = None,
        http_client: httpx.AsyncClient | None = None,
        _sleep: AsyncSleep | None = None,
    ) -> None:
        configure_from_env()
        settings = Settings.resolve(
            api_key=api_key,
            base_url=base_url,
            timeout=timeout,
            max_retries=max_retries,
            default_headers=default_headers,
        )
        if http_client is not None and not isinstance(http_client, httpx.AsyncClient):
            raise TypeError(f"http_client must be an httpx.AsyncClient, not {type(http_client)!r}")
        self._init(settings, http_client, _sleep or default_async_sleep)

    def _init(self, settings: Settings, http: httpx.AsyncClient | None, sleep: AsyncSleep) -> None:
        self._owns_http = http is None
        self._transport: AsyncTransport = AsyncTransport(
            http or httpx.AsyncClient(timeout=settings.timeout), settings, sleep
        )
        super().__init__(self._transport)

    @classmethod
    def local(
        cls,
        path: str | os.PathLike[str] = _local.DEFAULT_PATH,
        *,
        tenant: str = _local.DEFAULT_TENANT,
        max_retries: int = DEFAULT_MAX_RETRIES,
    ) -> AsyncTessera:
        """The async client on a local SQLite file, the service inside this process.

        The same as :meth:`Tessera.local`; ``await client.aclose()`` (or ``async with``)
        stops the in-process service.
        """
        client = cls(
            api_key=_local.LOCAL_KEY,
            base_url=_local.LOCAL_BASE_URL,
            max_retries=max_retries,
            http_client=_local.async_http(path, tenant),
        )
        client._owns_http = True
        return client

    @property
    def _http(self) -> httpx.AsyncClient:
        """The connection pool (the attribute the published 0.1.4 client exposed)."""
        return self._transport.http

    def _with_settings(self, settings: Settings) -> AsyncTessera:
        copy = object.__new__(AsyncTessera)
        copy._init(settings, self._transport.http, self._transport.sleep)
        return copy

    async def aclose(self) -> None:
        """Close the connection pool, unless it was passed in as ``http_client``."""
        if self._owns_http:
            await self._transport.http.aclose()

    close = aclose

    async def __aenter__(self) -> AsyncTessera:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()
