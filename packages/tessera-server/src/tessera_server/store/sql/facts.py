"""Facts: bi-temporal rows, closed (never rewritten) when superseded or retracted."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from ..records import FactRecord, Scope
from ..rows import fact_record, fact_row
from .base import FACT_COLUMNS
from .episodes import Sources


class Facts(Sources):
    def insert_fact(self, fact: FactRecord) -> FactRecord:
        values = {**fact_row(fact, self.codec), **self._filter_columns(fact.metadata)}
        fact.pk = self._insert_drawn("facts", values, "fact_pk", fact.source_turn_pks)
        return fact

    def _facts(self, sql: str, params: Sequence[Any]) -> list[FactRecord]:
        with self._read() as conn:
            rows = self._fetch(conn, self._held(sql), params)
            sources = self._sources(conn, "fact_sources", "fact_pk", [int(r["pk"]) for r in rows])
        return [fact_record(row, self.codec, sources[int(row["pk"])]) for row in rows]

    def get_facts(self, scope: Scope, ids: Sequence[str]) -> list[FactRecord]:
        if not ids:
            return []
        where, params = self._scope(scope, by_id=True)
        self._hold_owner(scope)
        found = {
            f.id: f
            for f in self._facts(
                f"SELECT {FACT_COLUMNS} FROM facts WHERE {where} AND id IN {self._in(ids)} "
                "ORDER BY pk",
                [*params, *ids],
            )
        }
        return [found[i] for i in ids if i in found]

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

    def close_fact(
        self,
        fact_id: str,
        tenant_id: int,
        *,
        t_invalid: datetime | None = None,
        t_expired: datetime | None = None,
        superseded_by: str | None = None,
    ) -> None:
        """End a fact's validity and/or its belief interval; never deletes it."""
        c = self.codec
        with self._write() as conn:
            conn.execute(
                f"UPDATE facts SET t_invalid = COALESCE({c.mark}, t_invalid), "
                f"t_expired = COALESCE({c.mark}, t_expired), "
                f"superseded_by = COALESCE({c.mark}, superseded_by) "
                f"WHERE id = {c.mark} AND tenant_id = {c.mark}",
                (
                    c.enc_time_opt(t_invalid),
                    c.enc_time_opt(t_expired),
                    superseded_by,
                    fact_id,
                    tenant_id,
                ),
            )
