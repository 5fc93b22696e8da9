"""The console's reads: a key by its prefix, scopes with their counts, recent jobs, and a
scope's fact history at a vantage."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from ...engine.records import ApiKeyRecord, FactRecord, JobRecord, Scope, ScopeSummary, TimeTravel
from ..rows import dec_label, job_record, key_record
from .base import FACT_COLUMNS, JOB_COLUMNS, KEY_COLUMNS, SUMMARY_TABLES
from .facts import Facts
from .filters import travel_sql


class ConsoleReads(Facts):
    def find_key_by_prefix(self, prefix: str) -> tuple[ApiKeyRecord, str] | None:
        row = self._one(
            f"SELECT k.key_hash, {KEY_COLUMNS} WHERE k.prefix = {self.codec.mark}", (prefix,)
        )
        return (key_record(row, self.codec), str(row["key_hash"])) if row else None

    def scope_summaries(
        self, tenant_id: int, user_id: str | None, limit: int
    ) -> list[ScopeSummary]:
        """Each (user, session) of the tenant with its counts, most recently active first."""
        m = self.codec.mark
        where = f"tenant_id = {m}" + (f" AND user_id = {m}" if user_id is not None else "")
        args: list[Any] = [tenant_id] + ([user_id] if user_id is not None else [])
        # Each arm counts its rows per scope (its own column; the others 0), then the arms'
        # counts are added up per scope.
        union = " UNION ALL ".join(
            "SELECT user_id, session_id, "
            + ", ".join(
                f"count(*) AS {c}" if t == table else f"0 AS {c}"
                for t, c in zip(SUMMARY_TABLES, "tefo", strict=True)
            )
            + f", max(created_at) AS at FROM {table} WHERE {where}"
            + (" AND t_expired IS NULL" if table == "facts" else "")
            + " GROUP BY user_id, session_id"
            for table in SUMMARY_TABLES
        )
        rows = self._rows(
            "SELECT user_id, session_id, sum(t) AS turns, sum(e) AS episodes, "
            f"sum(f) AS facts, sum(o) AS foresight, max(at) AS last FROM ({union}) x "
            f"GROUP BY user_id, session_id ORDER BY last DESC, user_id, session_id LIMIT {m}",
            [*args * len(SUMMARY_TABLES), limit],
        )
        return [
            ScopeSummary(
                dec_label(r["user_id"]),
                dec_label(r["session_id"]),
                int(r["turns"]),
                int(r["episodes"]),
                int(r["facts"]),
                int(r["foresight"]),
                self.codec.dec_time_opt(r["last"]),
            )
            for r in rows
        ]

    def recent_jobs(self, tenant_id: int, limit: int) -> list[JobRecord]:
        m = self.codec.mark
        rows = self._rows(
            f"SELECT {JOB_COLUMNS} FROM jobs WHERE tenant_id = {m} "
            f"ORDER BY created_at DESC, pk DESC LIMIT {m}",
            (tenant_id, limit),
        )
        return [job_record(r, self.codec) for r in rows]

    def fact_history(
        self, scope: Scope, travel: TimeTravel | None, now: datetime, limit: int
    ) -> list[FactRecord]:
        """The scope's facts, superseded ones too, newest first; with `travel`, only
        those valid at its `as_of` and believed at its `known_as_of` (each default: now).
        In the order they were written (the page index: no sort, nothing read past `limit`
        rows), which is the order they came to be believed."""
        where, params = self._scope(scope, "x")
        if travel is not None:
            tsql, tparams = travel_sql(travel, now, "x", self.codec)
            where += f" AND {tsql}"
            params += tparams
        columns = ", ".join(f"x.{c}" for c in FACT_COLUMNS.split(", "))
        return self._facts(
            f"SELECT {columns} FROM facts x WHERE {where} "
            f"ORDER BY x.created_at DESC, x.id DESC LIMIT {self.codec.mark}",
            [*params, limit],
        )
