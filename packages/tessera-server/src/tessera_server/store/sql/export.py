"""Reading a tenant's rows out in primary-key order, for `tessera export`."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import datetime
from typing import Any

from ...engine.records import EpisodeRecord, FactRecord, ForesightRecord, PanelRecord, TurnRecord
from ..rows import EPISODES, FACTS, FORESIGHT, dec_json, panel_record, turn_record
from .base import EPISODE_COLUMNS, FACT_COLUMNS, FORESIGHT_COLUMNS, PANEL_COLUMNS, TURN_COLUMNS
from .episodes import Episodes
from .facts import Facts

CHUNK = 1000


class Export(Episodes, Facts):
    def export_tenants(self) -> list[tuple[int, str, datetime]]:
        rows = self._rows("SELECT id, name, created_at FROM tenants ORDER BY id", ())
        return [(int(r["id"]), str(r["name"]), self.codec.dec_time(r["created_at"])) for r in rows]

    def _user(self, user_id: str | None) -> tuple[str, list[Any]]:
        if user_id is None:
            return "", []
        return f" AND user_id = {self.codec.mark}", [user_id]

    def _chunks(
        self, table: str, columns: str, tenant_id: int, user_id: str | None
    ) -> Iterator[list[Any]]:
        """A tenant's (or one user's) rows of a table in primary-key order, in chunks."""
        user_sql, user_params = self._user(user_id)
        m = self.codec.mark
        after = 0
        while True:
            rows = self._rows(
                f"SELECT {columns} FROM {table} WHERE tenant_id = {m}{user_sql} "
                f"AND pk > {m} ORDER BY pk LIMIT {m}",
                [tenant_id, *user_params, after, CHUNK],
            )
            if not rows:
                return
            yield rows
            after = int(rows[-1]["pk"])

    def export_turns(self, tenant_id: int, user_id: str | None) -> Iterator[TurnRecord]:
        for rows in self._chunks("turns", TURN_COLUMNS, tenant_id, user_id):
            yield from (turn_record(r, self.codec) for r in rows)

    def _by_pk(self, rows: Sequence[Any]) -> tuple[str, list[int]]:
        pks = [int(r["pk"]) for r in rows]
        return f"pk IN {self._in(pks)} ORDER BY pk", pks

    def export_episodes(self, tenant_id: int, user_id: str | None) -> Iterator[EpisodeRecord]:
        for rows in self._chunks("episodes", "pk", tenant_id, user_id):
            where, pks = self._by_pk(rows)
            sql = f"SELECT {EPISODE_COLUMNS} FROM episodes WHERE {where}"
            yield from self._items(EPISODES, sql, pks, held=False)

    def export_facts(self, tenant_id: int, user_id: str | None) -> Iterator[FactRecord]:
        for rows in self._chunks("facts", "pk", tenant_id, user_id):
            where, pks = self._by_pk(rows)
            sql = f"SELECT {FACT_COLUMNS} FROM facts WHERE {where}"
            yield from self._items(FACTS, sql, pks, held=False)

    def export_foresight(self, tenant_id: int, user_id: str | None) -> Iterator[ForesightRecord]:
        for rows in self._chunks("foresight", "pk", tenant_id, user_id):
            where, pks = self._by_pk(rows)
            sql = f"SELECT {FORESIGHT_COLUMNS} FROM foresight WHERE {where}"
            yield from self._items(FORESIGHT, sql, pks, held=False)

    def export_portraits(
        self, tenant_id: int, user_id: str | None
    ) -> Iterator[tuple[str, dict[str, Any], datetime]]:
        user_sql, user_params = self._user(user_id)
        rows = self._rows(
            "SELECT user_id, data, updated_at FROM portraits "
            f"WHERE tenant_id = {self.codec.mark}{user_sql} ORDER BY user_id",
            [tenant_id, *user_params],
        )
        for r in rows:
            yield str(r["user_id"]), dec_json(r["data"]), self.codec.dec_time(r["updated_at"])

    def export_panels(self, tenant_id: int, user_id: str | None) -> Iterator[PanelRecord]:
        for rows in self._chunks("panels", PANEL_COLUMNS, tenant_id, user_id):
            yield from (panel_record(r, self.codec) for r in rows)

    def item_owners(self, table: str, ids: Sequence[str]) -> dict[str, tuple[int, int]]:
        """(tenant_id, pk) of the episodes, facts or foresight items that exist, by id."""
        assert table in ("episodes", "facts", "foresight")
        if not ids:
            return {}
        rows = self._rows(
            f"SELECT id, tenant_id, pk FROM {table} WHERE id IN {self._in(ids)}", list(ids)
        )
        return {str(r["id"]): (int(r["tenant_id"]), int(r["pk"])) for r in rows}
