"""``client.procedures``: learned how-to skills, recalled by similarity to a task."""

from __future__ import annotations

from collections.abc import Sequence

from .._operation import Operation, body, model, path
from .._resource import M, Raw, Resource, endpoint
from ..models import ProcedureView, RecallProceduresResponse


class Procedures(Resource[M]):
    """Procedures: a ``trigger`` (the recall key), ordered ``steps`` and a ``success`` cue."""

    @property
    def with_raw_response(self) -> Procedures[Raw[M]]:
        """The same methods, returning :class:`~tessera_memory.APIResponse` wrappers."""
        return Procedures(self._executor, raw=True)

    @endpoint
    def remember(
        *,
        trigger: str,
        steps: Sequence[str],
        success: str,
        user_id: str | None = None,
        session_id: str | None = None,
    ) -> Operation[ProcedureView]:
        """Store a procedure; it starts with ``uses=0`` and no ``last_outcome``."""
        return Operation(
            "POST",
            "/v1/procedures",
            model(ProcedureView),
            json=body(
                trigger=trigger,
                steps=steps,
                success=success,
                user_id=user_id,
                session_id=session_id,
            ),
        )

    @endpoint
    def recall(
        *,
        task: str,
        k: int | None = None,
        min_similarity: float | None = None,
        user_id: str | None = None,
        session_id: str | None = None,
    ) -> Operation[RecallProceduresResponse]:
        """The ``k`` procedures whose trigger best matches ``task`` (a read: no counter moves)."""
        return Operation(
            "POST",
            "/v1/procedures/recall",
            model(RecallProceduresResponse),
            json=body(
                task=task,
                k=k,
                min_similarity=min_similarity,
                user_id=user_id,
                session_id=session_id,
            ),
        )

    @endpoint
    def record_outcome(
        item_id: str,
        *,
        success: bool,
        user_id: str | None = None,
        session_id: str | None = None,
    ) -> Operation[ProcedureView]:
        """Record that procedure ``item_id`` (``ep_...``) was applied: bumps ``uses``."""
        return Operation(
            "POST",
            path("/v1/procedures/{}/outcome", item_id),
            model(ProcedureView),
            json=body(success=success, user_id=user_id, session_id=session_id),
        )
