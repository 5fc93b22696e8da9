"""Foresight, the user's portrait and the topic panels: what consolidation keeps per user."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime
from typing import Any

from ...engine.records import ForesightRecord, PanelRecord, Scope
from ..rows import FORESIGHT, PANELS, dec_json, enc_json, panel_record
from .base import FORESIGHT_COLUMNS, PANEL_COLUMNS
from .episodes import Sources


class Profile(Sources):
    def insert_foresight(self, item: ForesightRecord) -> ForesightRecord:
        return self._insert(FORESIGHT, item)

    def live_foresight(self, scope: Scope, now: datetime) -> list[ForesightRecord]:
        """Foresight not expired at `now`, with its source turns."""
        where, params = self._scope(scope)
        return self._items(
            FORESIGHT,
            f"SELECT {FORESIGHT_COLUMNS} FROM foresight WHERE {where} "
            f"AND (expires_at IS NULL OR expires_at > {self.codec.mark}) "
            "ORDER BY COALESCE(due_at, created_at), pk",
            [*params, self.codec.enc_time(now)],
            held=False,
        )

    def put_portrait(
        self, tenant_id: int, user_id: str, data: dict[str, Any], now: datetime
    ) -> None:
        c = self.codec
        with self._write() as conn:
            if data:
                conn.execute(
                    f"INSERT INTO portraits (tenant_id, user_id, data, updated_at) "
                    f"VALUES ({c.marks(4)}) ON CONFLICT (tenant_id, user_id) DO UPDATE SET "
                    "data = excluded.data, updated_at = excluded.updated_at",
                    (tenant_id, user_id, enc_json(data), c.enc_time(now)),
                )
            else:
                conn.execute(
                    f"DELETE FROM portraits WHERE tenant_id = {c.mark} AND user_id = {c.mark}",
                    (tenant_id, user_id),
                )

    def get_portrait(self, tenant_id: int, user_id: str) -> dict[str, Any] | None:
        m = self.codec.mark
        row = self._one(
            f"SELECT data FROM portraits WHERE tenant_id = {m} AND user_id = {m}",
            (tenant_id, user_id),
        )
        return dec_json(row["data"]) if row else None

    def replace_panels(self, tenant_id: int, user_id: str, panels: Sequence[PanelRecord]) -> int:
        m = self.codec.mark
        rows = [
            PANELS.encode(replace(p, tenant_id=tenant_id, user_id=user_id), self.codec)
            for p in panels
        ]
        with self._write() as conn:
            self._hold_name(conn, "panels", tenant_id, user_id)
            conn.execute(
                f"DELETE FROM panels WHERE tenant_id = {m} AND user_id = {m}", (tenant_id, user_id)
            )
            if rows:
                self._execute_many(
                    conn, self.codec.insert("panels", rows[0]), [list(r.values()) for r in rows]
                )
        return len(panels)

    def get_panels(self, tenant_id: int, user_id: str) -> list[PanelRecord]:
        m = self.codec.mark
        rows = self._rows(
            f"SELECT {PANEL_COLUMNS} FROM panels WHERE tenant_id = {m} AND user_id = {m} "
            "ORDER BY updated_at DESC, pk",
            (tenant_id, user_id),
        )
        return [panel_record(r, self.codec) for r in rows]
