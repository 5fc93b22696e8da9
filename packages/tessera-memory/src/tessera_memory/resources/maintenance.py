"""``client.maintenance``: consolidation, index repair and digests."""

from __future__ import annotations

from .._operation import Operation, body, by_status, model, query
from .._resource import M, Raw, Resource, endpoint
from ..models import CompressResponse, ConsolidationSummary, EnqueuedResponse, ReindexResponse


class Maintenance(Resource[M]):
    """Background and repair work for one scope."""

    @property
    def with_raw_response(self) -> Maintenance[Raw[M]]:
        """The same methods, returning :class:`~tessera_memory.APIResponse` wrappers."""
        return Maintenance(self._executor, raw=True)

    @endpoint
    def consolidate(
        *, user_id: str | None = None, session_id: str | None = None, sync: bool = False
    ) -> Operation[ConsolidationSummary | EnqueuedResponse]:
        """Consolidate pending turns.

        By default a job is queued and its handle returned (``EnqueuedResponse``, HTTP 202; an
        already-queued job for the scope is returned instead of a second one). ``sync=True``
        runs inline and returns the ``ConsolidationSummary`` (HTTP 200).
        """
        return Operation(
            "POST",
            "/v1/consolidate",
            by_status((200, ConsolidationSummary), (202, EnqueuedResponse)),
            params=query(sync="true" if sync else None),
            json=body(user_id=user_id, session_id=session_id),
        )

    @endpoint
    def reindex(
        *, user_id: str | None = None, session_id: str | None = None
    ) -> Operation[ReindexResponse]:
        """Backfill missing embeddings and refresh panel centroids (deterministic, inline)."""
        return Operation(
            "POST",
            "/v1/reindex",
            model(ReindexResponse),
            json=body(user_id=user_id, session_id=session_id),
        )

    @endpoint
    def compress(
        *,
        token_budget: int | None = None,
        user_id: str | None = None,
        session_id: str | None = None,
    ) -> Operation[CompressResponse]:
        """Pack the scope's panel summaries, newest first, into one digest under a budget."""
        return Operation(
            "POST",
            "/v1/compress",
            model(CompressResponse),
            json=body(token_budget=token_budget, user_id=user_id, session_id=session_id),
        )
