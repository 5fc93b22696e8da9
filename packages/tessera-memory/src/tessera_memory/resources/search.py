"""``client.search(...)`` and ``client.query(...)``: the two read paths."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

from .._operation import Operation, body, model
from .._resource import M, Raw, Resource, endpoint
from ..models import QueryResponse, SearchResponse
from ._types import Filter, MemoryType, Timestamp


class Search(Resource[M]):
    """Hybrid retrieval over episodes and facts: ``client.search(...)``, or
    ``client.search.search(...)`` as code written for the 0.1.4 client calls it."""

    @property
    def with_raw_response(self) -> Search[Raw[M]]:
        """The same call, returning an :class:`~tessera_memory.APIResponse` wrapper."""
        return Search(self._executor, raw=True)

    @endpoint
    def __call__(
        query: str,
        *,
        user_id: str | None = None,
        session_id: str | None = None,
        top_k: int | None = None,
        rerank: bool = True,
        as_of: Timestamp | None = None,
        known_as_of: Timestamp | None = None,
        types: Sequence[MemoryType] | None = None,
        filters: Sequence[Filter] | None = None,
    ) -> Operation[SearchResponse]:
        """Ranked hits for ``query``, best first; never calls an LLM.

        ``rerank=False`` keeps the raw fused order. ``types`` restricts the kinds returned,
        ``filters`` are ANDed clauses, ``as_of`` / ``known_as_of`` look at facts as they were
        valid / known at that time.
        """
        return Operation(
            "POST",
            "/v1/search",
            model(SearchResponse),
            json=body(
                query=query,
                user_id=user_id,
                session_id=session_id,
                top_k=top_k,
                rerank=rerank,
                as_of=as_of,
                known_as_of=known_as_of,
                types=types,
                filters=filters,
            ),
        )

    search = __call__.alias()


class Query(Resource[M]):
    """A prompt-ready memory context for a question: ``client.query(...)``, or
    ``client.query.query(...)`` as code written for the 0.1.4 client calls it."""

    @property
    def with_raw_response(self) -> Query[Raw[M]]:
        """The same call, returning an :class:`~tessera_memory.APIResponse` wrapper."""
        return Query(self._executor, raw=True)

    @endpoint
    def __call__(
        query: str,
        *,
        user_id: str | None = None,
        session_id: str | None = None,
        mode: Literal["chat", "reasoning"] = "chat",
        top_k: int | None = None,
        as_of: Timestamp | None = None,
        known_as_of: Timestamp | None = None,
        filters: Sequence[Filter] | None = None,
    ) -> Operation[QueryResponse]:
        """Compose hits, facts, episodes and foresight into one ``context`` string.

        ``mode="reasoning"`` is lean and never calls an LLM; ``mode="chat"`` adds the user's
        portrait and may use the service's LLM when one is configured.
        """
        return Operation(
            "POST",
            "/v1/query",
            model(QueryResponse),
            json=body(
                query=query,
                user_id=user_id,
                session_id=session_id,
                mode=mode,
                top_k=top_k,
                as_of=as_of,
                known_as_of=known_as_of,
                filters=filters,
            ),
        )

    query = __call__.alias()
