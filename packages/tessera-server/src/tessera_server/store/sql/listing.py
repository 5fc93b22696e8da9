"""`memories.list`: a scope's episodes and believed facts, newest first, page by page."""

from __future__ import annotations

from typing import Any

from ...engine.records import ListCursor, ListedItem, Scope
from .base import SqlBase


class Listing(SqlBase):
    def list_items(self, scope: Scope, cursor: ListCursor | None, limit: int) -> list[ListedItem]:
        """Episodes and believed facts, newest first, strictly after the cursor. Each table
        gives its first `limit` rows through its page index; the two are then merged."""
        where, params = self._scope(scope)
        m = self.codec.mark
        after, after_params = "", []
        if cursor is not None:
            after = f" AND (created_at, id) < ({m}, {m})"
            after_params = [self.codec.enc_time(cursor.created_at), cursor.item_id]
        order = f" ORDER BY created_at DESC, id DESC LIMIT {m}"
        arms = (
            f"SELECT * FROM (SELECT '{kind}' AS kind, id, created_at FROM {table} "
            f"WHERE {where}{extra}{after}{order}) {table}"
            for kind, table, extra in (
                ("episode", "episodes", ""),
                ("fact", "facts", " AND t_expired IS NULL"),
            )
        )
        arm_params: list[Any] = [*params, *after_params, limit]
        rows = self._rows(
            f"SELECT kind, id, created_at FROM ({' UNION ALL '.join(arms)}) x{order}",
            [*arm_params, *arm_params, limit],
        )
        return [
            ListedItem(r["kind"], str(r["id"]), self.codec.dec_time(r["created_at"])) for r in rows
        ]
