"""Resources whose endpoints are written once and serve both clients.

A resource class is generic in a *mode* marker — :class:`Sync`, :class:`Async`, or
:class:`Raw` of either — and declares each endpoint once, as a function that takes the method's
arguments and returns an :class:`~tessera_memory._operation.Operation`::

    class Jobs(Resource[M]):
        @endpoint
        def get(job_id: str) -> Operation[JobStatusResponse]:
            return Operation("GET", path("/v1/jobs/{}", job_id), model(JobStatusResponse))

:func:`endpoint` turns that function into a descriptor. Looked up on ``Jobs[Sync]`` it is a
method returning ``JobStatusResponse``; on ``Jobs[Async]``, an ``async`` method; on the raw
variants (``resource.with_raw_response``), methods returning :class:`APIResponse`. The builder
function has no ``self``: it only describes the request, and the client's transport performs it.
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable
from typing import Any, Generic, ParamSpec, Protocol, TypeVar, overload

from ._operation import Operation, PageData
from ._response import APIResponse
from .pagination import AsyncCursorPage, SyncCursorPage

P = ParamSpec("P")
T = TypeVar("T")
M = TypeVar("M")


class Sync:
    """Mode marker: methods return results."""


class Async:
    """Mode marker: methods are coroutines."""


class Raw(Generic[M]):
    """Mode marker: like ``M``, but results are wrapped in :class:`APIResponse`."""


class Executor(Protocol):
    """What a resource needs from its client: a transport that performs operations."""

    def call(self, op: Operation[Any], raw: bool) -> Any: ...

    def call_page(self, op: Operation[PageData[Any]], raw: bool) -> Any: ...


class Resource(Generic[M]):
    """Base of every resource (and of the clients' top-level surface)."""

    def __init__(self, executor: Executor, *, raw: bool = False) -> None:
        self._executor = executor
        self._raw = raw


class _Descriptor:
    """What the endpoint descriptors share: binding a builder to a resource's transport.

    The descriptor also looks like a function to introspection: ``help(Memories)``,
    ``inspect.signature(Memories.add)`` and ``inspect.signature(client.search)`` (which reads
    ``Search.__call__``) show the builder's parameters after a ``self``; the bound method a
    resource hands out carries the same parameters without it.
    """

    def __init__(self, build: Callable[..., Operation[Any]]) -> None:
        self._build = build
        self.__name__ = build.__name__
        self.__qualname__ = build.__qualname__
        self.__module__ = build.__module__
        self.__doc__ = build.__doc__
        # What ``help()`` shows for the bound method: the builder's parameters, no return type.
        self._signature = inspect.signature(build).replace(
            return_annotation=inspect.Signature.empty
        )
        self_param = inspect.Parameter("self", inspect.Parameter.POSITIONAL_ONLY)
        self.__signature__ = self._signature.replace(
            parameters=[self_param, *self._signature.parameters.values()]
        )

    def __set_name__(self, owner: type[Any], name: str) -> None:
        self.__name__ = name
        self.__qualname__ = f"{owner.__qualname__}.{name}"

    def __call__(self, resource: Resource[Any], /, *args: Any, **kwargs: Any) -> Any:
        """Called on the class (``Memories.add(client.memories, ...)``): as a bound call."""
        return self._bind_to(resource)(*args, **kwargs)

    def _bind_to(self, resource: Resource[Any]) -> Any:
        raise NotImplementedError

    def _bind(self, perform: Callable[[Any, bool], Any], raw: bool) -> Any:
        build = self._build

        def method(*args: Any, **kwargs: Any) -> Any:
            return perform(build(*args, **kwargs), raw)

        method.__name__ = self.__name__
        method.__qualname__ = self.__qualname__
        method.__module__ = build.__module__
        method.__doc__ = build.__doc__
        method.__signature__ = self._signature  # type: ignore[attr-defined]
        return method


class Endpoint(_Descriptor, Generic[P, T]):
    """Descriptor for a method returning ``T`` (see the module docstring)."""

    def __init__(self, build: Callable[P, Operation[T]]) -> None:
        super().__init__(build)

    @overload
    def __get__(self, obj: None, owner: type[Any]) -> Endpoint[P, T]: ...
    @overload
    def __get__(self, obj: Resource[Sync], owner: type[Any]) -> Callable[P, T]: ...
    @overload
    def __get__(self, obj: Resource[Async], owner: type[Any]) -> Callable[P, Awaitable[T]]: ...
    @overload
    def __get__(
        self, obj: Resource[Raw[Sync]], owner: type[Any]
    ) -> Callable[P, APIResponse[T]]: ...
    @overload
    def __get__(
        self, obj: Resource[Raw[Async]], owner: type[Any]
    ) -> Callable[P, Awaitable[APIResponse[T]]]: ...
    def __get__(self, obj: Resource[Any] | None, owner: type[Any]) -> Any:
        return self if obj is None else self._bind_to(obj)

    def _bind_to(self, resource: Resource[Any]) -> Any:
        return self._bind(resource._executor.call, resource._raw)

    def alias(self) -> Endpoint[P, T]:
        """The same endpoint under a second name (``Search.search`` beside ``__call__``)."""
        return Endpoint(self._build)


class PageEndpoint(_Descriptor, Generic[P, T]):
    """Descriptor for a method returning a cursor page of ``T``."""

    def __init__(self, build: Callable[P, Operation[PageData[T]]]) -> None:
        super().__init__(build)

    @overload
    def __get__(self, obj: None, owner: type[Any]) -> PageEndpoint[P, T]: ...
    @overload
    def __get__(self, obj: Resource[Sync], owner: type[Any]) -> Callable[P, SyncCursorPage[T]]: ...
    @overload
    def __get__(
        self, obj: Resource[Async], owner: type[Any]
    ) -> Callable[P, Awaitable[AsyncCursorPage[T]]]: ...
    @overload
    def __get__(
        self, obj: Resource[Raw[Sync]], owner: type[Any]
    ) -> Callable[P, APIResponse[SyncCursorPage[T]]]: ...
    @overload
    def __get__(
        self, obj: Resource[Raw[Async]], owner: type[Any]
    ) -> Callable[P, Awaitable[APIResponse[AsyncCursorPage[T]]]]: ...
    def __get__(self, obj: Resource[Any] | None, owner: type[Any]) -> Any:
        return self if obj is None else self._bind_to(obj)

    def _bind_to(self, resource: Resource[Any]) -> Any:
        return self._bind(resource._executor.call_page, resource._raw)


def endpoint(build: Callable[P, Operation[T]]) -> Endpoint[P, T]:
    """Declare an endpoint from a function that builds its :class:`Operation`."""
    return Endpoint(build)


def paginated(build: Callable[P, Operation[PageData[T]]]) -> PageEndpoint[P, T]:
    """Declare a cursor-paginated endpoint (the result is a Sync/AsyncCursorPage)."""
    return PageEndpoint(build)
