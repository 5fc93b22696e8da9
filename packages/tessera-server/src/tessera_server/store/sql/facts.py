"""Facts: bi-temporal rows, closed (never rewritten) when superseded or retracted."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from ...engine.records import FactEnd, FactRecord, Scope
from ..rows import FACTS
from .base import FACT_COLUMNS
from .episodes import Sources


class Facts(Sources):
    def insert_fact(self, fact: FactRecord) -> FactRecord:
        return self._insert(FACTS, fact)

    def get_facts(self, scope: Scope, ids: Sequence[str]) -> list[FactRecord]:
        return self._by_ids(FACTS, scope, ids)

    def _facts(self, sql: str, params: Sequence[Any]) -> list[FactRecord]:
        return self._items(FACTS, sql, params)

    def live_facts(
        self, scope: Scope, subject: str | None = None, relation: str | None = None
    ) -> list[FactRecord]:
        """Facts neither expired nor invalidated, optionally for one subject and relation."""
        where, params = self._scope(scope)
        self._hold_owner(scope)
        sql = (
            f"SELECT {FACT_COLUMNS} FROM facts WHERE {where} "
            "AND t_expired IS NULL AND t_invalid IS NULL"
        )
        for column, value in (("subject", subject), ("relation", relation)):
            if value is not None:
                sql += f" AND {column} = {self.codec.mark}"
                params.append(value)
        return self._facts(sql + " ORDER BY t_valid, pk", params)

    def close_fact(self, fact_id: str, tenant_id: int, end: FactEnd) -> None:
        """End a fact's validity and/or its belief interval; never deletes it."""
        c = self.codec
        with self._write() as conn:
            conn.execute(
                f"UPDATE facts SET t_invalid = COALESCE({c.mark}, t_invalid), "
                f"t_expired = COALESCE({c.mark}, t_expired), "
                f"superseded_by = COALESCE({c.mark}, superseded_by) "
                f"WHERE id = {c.mark} AND tenant_id = {c.mark}",
                (
                    c.enc_time_opt(end.t_invalid),
                    c.enc_time_opt(end.t_expired),
                    end.superseded_by,
                    fact_id,
                    tenant_id,
                ),
            )

    def believed_facts(self, scope: Scope, subject: str, relation: str) -> list[FactRecord]:
        """Facts of one subject and relation still believed (not expired), whatever their
        validity, in valid-time order (ties by insertion)."""
        where, params = self._scope(scope)
        self._hold_owner(scope)
        m = self.codec.mark
        return self._facts(
            f"SELECT {FACT_COLUMNS} FROM facts WHERE {where} AND t_expired IS NULL "
            f"AND subject = {m} AND relation = {m} ORDER BY t_valid, pk",
            [*params, subject, relation],
        )

    def all_facts(self, scope: Scope) -> list[FactRecord]:
        """Every fact of the scope, retired ones included, in valid-time order."""
        where, params = self._scope(scope)
        return self._facts(
            f"SELECT {FACT_COLUMNS} FROM facts WHERE {where} ORDER BY t_valid, pk", params
        )

    def dangling_supersessions(self, tenant_id: int) -> list[FactRecord]:
        """Believed facts whose `superseded_by` names a fact that no longer exists."""
        return self._facts(
            f"SELECT {FACT_COLUMNS} FROM facts a WHERE a.tenant_id = {self.codec.mark} "
            "AND a.t_expired IS NULL AND a.superseded_by IS NOT NULL "
            "AND NOT EXISTS (SELECT 1 FROM facts s WHERE s.id = a.superseded_by) ORDER BY pk",
            [tenant_id],
        )

    def set_fact_validity(
        self, tenant_id: int, changes: Sequence[tuple[str, datetime | None, str | None]]
    ) -> None:
        """Set (fact id, t_invalid, superseded_by) exactly, None included."""
        if not changes:
            return
        c = self.codec
        with self._write() as conn:
            for fact_id, t_invalid, superseded_by in changes:
                conn.execute(
                    f"UPDATE facts SET t_invalid = {c.mark}, superseded_by = {c.mark} "
                    f"WHERE id = {c.mark} AND tenant_id = {c.mark}",
                    (c.enc_time_opt(t_invalid), superseded_by, fact_id, tenant_id),
                )
