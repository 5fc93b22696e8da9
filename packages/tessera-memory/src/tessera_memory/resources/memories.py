"""``client.memories``: write turns, browse, correct, pin and forget memories."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import Any, Literal, Protocol, TypeVar, overload

from .._operation import Operation, PageData, body, by_status, model, page_of, path, query
from .._resource import Async, M, Raw, Resource, Sync, _Descriptor, endpoint, paginated
from .._response import APIResponse
from .._ulid import new_ulid
from ..models import (
    AsyncAddResponse,
    BatchAddResponse,
    FactItem,
    ForgetResponse,
    MemoryItem,
    PinResponse,
    SyncAddResponse,
    TurnItem,
    WipeResponse,
)
from ._types import Message, Metadata, Role, Timestamp

S_co = TypeVar("S_co", covariant=True)
A_co = TypeVar("A_co", covariant=True)


class AddMethod(Protocol[S_co, A_co]):
    """``memories.add``, typed by ``mode``: ``"sync"`` gives ``S_co``, ``"async"`` ``A_co``.

    On ``Tessera`` these are ``SyncAddResponse`` and ``AsyncAddResponse``; on ``AsyncTessera``
    awaitables of them; under ``with_raw_response``, :class:`APIResponse` wrappers of them.
    """

    @overload
    def __call__(
        self,
        *,
        content: str,
        role: Role,
        user_id: str | None = None,
        session_id: str | None = None,
        turn_id: str | None = None,
        mode: Literal["sync"],
        infer: bool = True,
        event_time: Timestamp | None = None,
        metadata: Metadata | None = None,
    ) -> S_co: ...
    @overload
    def __call__(
        self,
        *,
        content: str,
        role: Role,
        user_id: str | None = None,
        session_id: str | None = None,
        turn_id: str | None = None,
        mode: Literal["async"] = "async",
        infer: bool = True,
        event_time: Timestamp | None = None,
        metadata: Metadata | None = None,
    ) -> A_co: ...
    @overload
    def __call__(
        self,
        *,
        content: str,
        role: Role,
        user_id: str | None = None,
        session_id: str | None = None,
        turn_id: str | None = None,
        mode: Literal["async", "sync"] = "async",
        infer: bool = True,
        event_time: Timestamp | None = None,
        metadata: Metadata | None = None,
    ) -> S_co | A_co: ...


_Sync = SyncAddResponse
_Async = AsyncAddResponse


class AddEndpoint(_Descriptor):
    """The descriptor behind ``memories.add``: an endpoint whose result type follows ``mode``."""

    def __init__(self, build: Callable[..., Operation[_Sync | _Async]]) -> None:
        super().__init__(build)

    @overload
    def __get__(self, obj: None, owner: type[Any]) -> AddEndpoint: ...
    @overload
    def __get__(self, obj: Resource[Sync], owner: type[Any]) -> AddMethod[_Sync, _Async]: ...
    @overload
    def __get__(
        self, obj: Resource[Async], owner: type[Any]
    ) -> AddMethod[Awaitable[_Sync], Awaitable[_Async]]: ...
    @overload
    def __get__(
        self, obj: Resource[Raw[Sync]], owner: type[Any]
    ) -> AddMethod[APIResponse[_Sync], APIResponse[_Async]]: ...
    @overload
    def __get__(
        self, obj: Resource[Raw[Async]], owner: type[Any]
    ) -> AddMethod[Awaitable[APIResponse[_Sync]], Awaitable[APIResponse[_Async]]]: ...
    def __get__(self, obj: Resource[Any] | None, owner: type[Any]) -> Any:
        return self if obj is None else self._bind_to(obj)

    def _bind_to(self, resource: Resource[Any]) -> Any:
        return self._bind(resource._executor.call, resource._raw)


class Memories(Resource[M]):
    """Conversational turns and the episodes (``ep_``) and facts (``ft_``) derived from them.

    Every method is scoped by ``user_id`` and/or ``session_id`` (the service needs at least one).
    """

    @property
    def with_raw_response(self) -> Memories[Raw[M]]:
        """The same methods, returning :class:`~tessera_memory.APIResponse` wrappers."""
        return Memories(self._executor, raw=True)

    @AddEndpoint
    def add(
        *,
        content: str,
        role: Role,
        user_id: str | None = None,
        session_id: str | None = None,
        turn_id: str | None = None,
        mode: Literal["async", "sync"] = "async",
        infer: bool = True,
        event_time: Timestamp | None = None,
        metadata: Metadata | None = None,
    ) -> Operation[SyncAddResponse | AsyncAddResponse]:
        """Remember one conversational turn.

        ``mode="async"`` (the default) stores the turn and may queue consolidation, and returns
        an ``AsyncAddResponse`` (HTTP 201); ``mode="sync"`` consolidates inline and returns a
        ``SyncAddResponse`` reporting what it derived (HTTP 200). The return type follows
        ``mode`` for type checkers too. ``infer=False`` stores the text verbatim as one episode,
        without extraction, in either mode.

        A ULID ``turn_id`` is minted when none is given. Re-sending a turn id in the same scope
        is a no-op (``created=False``), which is why this call is retried after timeouts.
        """
        return Operation(
            "POST",
            "/v1/memories",
            by_status((200, SyncAddResponse), (201, AsyncAddResponse)),
            json=body(
                content=content,
                role=role,
                user_id=user_id,
                session_id=session_id,
                turn_id=turn_id or new_ulid(),
                mode=mode,
                infer=infer,
                event_time=event_time,
                metadata=metadata,
            ),
            replay_safe=True,
        )

    @endpoint
    def batch(
        *,
        messages: Sequence[Message],
        user_id: str | None = None,
        session_id: str | None = None,
        mode: Literal["async"] = "async",
        infer: bool = True,
        metadata: Metadata | None = None,
    ) -> Operation[BatchAddResponse]:
        """Append several turns, in order, under one scope (always asynchronous)."""
        return Operation(
            "POST",
            "/v1/memories:batch",
            model(BatchAddResponse),
            json=body(
                messages=messages,
                user_id=user_id,
                session_id=session_id,
                mode=mode,
                infer=infer,
                metadata=metadata,
            ),
        )

    @endpoint
    def get(
        item_id: str, *, user_id: str | None = None, session_id: str | None = None
    ) -> Operation[MemoryItem]:
        """Fetch one episode (``ep_...``) or fact (``ft_...``)."""
        return Operation(
            "GET",
            path("/v1/memories/{}", item_id),
            model(MemoryItem),
            params=query(user_id=user_id, session_id=session_id),
        )

    @endpoint
    def delete(
        item_id: str, *, user_id: str | None = None, session_id: str | None = None
    ) -> Operation[ForgetResponse]:
        """Forget one episode or fact, and whatever was derived only from it."""
        return Operation(
            "DELETE",
            path("/v1/memories/{}", item_id),
            model(ForgetResponse),
            json=body(user_id=user_id, session_id=session_id),
        )

    @endpoint
    def forget_turn(
        turn_id: str, *, user_id: str | None = None, session_id: str | None = None
    ) -> Operation[ForgetResponse]:
        """Forget a raw turn by the ``turn_id`` it was written with."""
        return Operation(
            "DELETE",
            path("/v1/memories/turns/{}", turn_id),
            model(ForgetResponse),
            json=body(user_id=user_id, session_id=session_id),
        )

    @endpoint
    def get_turn(
        turn_id: str, *, user_id: str | None = None, session_id: str | None = None
    ) -> Operation[TurnItem]:
        """Fetch a raw turn, whole, by the ``turn_id`` it was written with: the way back from
        a search hit on one part of a long turn (``metadata["tessera"]["part"]``)."""
        return Operation(
            "GET",
            path("/v1/memories/turns/{}", turn_id),
            model(TurnItem),
            params=query(user_id=user_id, session_id=session_id),
        )

    @endpoint
    def wipe(
        *, user_id: str | None = None, session_id: str | None = None
    ) -> Operation[WipeResponse]:
        """Erase everything stored for the scope (right to be forgotten).

        The scope is exactly what you pass: ``user_id`` alone erases that user's every
        session; ``user_id`` with ``session_id`` erases that one session; ``session_id``
        **without** ``user_id`` erases that session id for *every user of the tenant*.
        Nothing can be undone; pass both ids to erase one user's session only.
        """
        return Operation(
            "DELETE",
            "/v1/memories",
            model(WipeResponse),
            json=body(user_id=user_id, session_id=session_id),
        )

    @endpoint
    def correct(
        item_id: str,
        *,
        object: str,
        confidence: float | None = None,
        t_valid: Timestamp | None = None,
        user_id: str | None = None,
        session_id: str | None = None,
    ) -> Operation[FactItem]:
        """Correct a fact (``ft_...``): a successor fact with the new ``object`` replaces it."""
        return Operation(
            "PATCH",
            path("/v1/memories/{}", item_id),
            model(FactItem),
            json=body(
                object=object,
                confidence=confidence,
                t_valid=t_valid,
                user_id=user_id,
                session_id=session_id,
            ),
        )

    @endpoint
    def pin(
        item_id: str, *, user_id: str | None = None, session_id: str | None = None
    ) -> Operation[PinResponse]:
        """Pin an episode (``ep_...``) so maintenance never removes or merges it."""
        return Operation(
            "POST",
            path("/v1/memories/{}/pin", item_id),
            model(PinResponse),
            json=body(user_id=user_id, session_id=session_id),
        )

    @endpoint
    def unpin(
        item_id: str, *, user_id: str | None = None, session_id: str | None = None
    ) -> Operation[PinResponse]:
        """Remove an episode's pin."""
        return Operation(
            "DELETE",
            path("/v1/memories/{}/pin", item_id),
            model(PinResponse),
            json=body(user_id=user_id, session_id=session_id),
        )

    # Declared last: the name ``list`` shadows the builtin in the rest of the class body.
    @paginated
    def list(
        *,
        user_id: str | None = None,
        session_id: str | None = None,
        limit: int | None = None,
        cursor: str | None = None,
    ) -> Operation[PageData[MemoryItem]]:
        """Browse episodes and facts, newest first. Iterating the page follows the cursor."""
        return Operation(
            "GET",
            "/v1/memories",
            page_of(MemoryItem),
            params=query(user_id=user_id, session_id=session_id, limit=limit, cursor=cursor),
        )
