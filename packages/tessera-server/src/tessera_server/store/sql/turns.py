"""Turns: stored once per scope key, claimed by consolidation, re-embedded by reindex."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from typing import Any

from ...engine.records import Scope, TurnRecord, Vector
from ..rows import dec_label, enc_label, turn_record, turn_row
from .base import TURN_COLUMNS, SqlBase

CHUNK = 500  # primary keys per statement where a list may be long


class Turns(SqlBase):
    def insert_turn(self, turn: TurnRecord) -> tuple[TurnRecord, bool]:
        """Store a turn unless its turn_id exists in the scope; returns (stored, created)."""
        scope = Scope(turn.tenant_id, turn.user_id or None, turn.session_id or None)
        values = turn_row(turn, self.codec)
        sql = self.codec.insert(
            "turns",
            values,
            " ON CONFLICT (tenant_id, user_id, session_id, turn_id) DO NOTHING RETURNING pk",
        )
        for _ in range(5):
            with self._write() as conn:
                row = conn.execute(sql, list(values.values())).fetchone()
                if row is not None:
                    turn.pk = int(row["pk"])
                    return turn, True
                existing = self.get_turn(scope, turn.turn_id, exact=True)
                if existing is not None:
                    return existing, False
            # The conflicting row was deleted in between (a concurrent forget): try again.
        raise RuntimeError("could not store the turn: its scope key keeps changing")

    def _turns(self, sql: str, params: Sequence[Any]) -> list[TurnRecord]:
        with self._read() as conn:
            rows = self._fetch(conn, sql, params)
        return [turn_record(r, self.codec) for r in rows]

    def get_turn(self, scope: Scope, turn_id: str, *, exact: bool = False) -> TurnRecord | None:
        """A turn by client id. `exact` matches absent labels too (the uniqueness scope)."""
        m = self.codec.mark
        if exact:
            found = self._turns(
                f"SELECT {TURN_COLUMNS} FROM turns WHERE tenant_id = {m} AND user_id = {m} "
                f"AND session_id = {m} AND turn_id = {m}",
                (scope.tenant_id, enc_label(scope.user_id), enc_label(scope.session_id), turn_id),
            )
        else:
            where, params = self._scope(scope)
            found = self._turns(
                f"SELECT {TURN_COLUMNS} FROM turns WHERE {where} AND turn_id = {m} "
                "ORDER BY pk LIMIT 1",
                [*params, turn_id],
            )
        return found[0] if found else None

    def turns_by_pk(self, pks: Sequence[int]) -> list[TurnRecord]:
        if not pks:
            return []
        return self._turns(
            f"SELECT {TURN_COLUMNS} FROM turns WHERE pk IN {self._in(pks)} ORDER BY event_time, pk",
            list(pks),
        )

    def _pending(self) -> str:
        f = self.codec.enc_flag
        return f"consolidated = {f(False)!r} AND infer = {f(True)!r}"

    def pending_turns(self, scope: Scope, limit: int = 10_000) -> list[TurnRecord]:
        where, params = self._scope(scope)
        # Through a pending-turns index: for a user's scope SQLite's planner would rather
        # walk the time-ordered index to skip the sort, reading every turn the user ever said
        # (70 ms at 10k turns) to find the few still pending. A whole user's (every session)
        # are found by (user, consolidated), which the session-first index cannot seek.
        whole_user = scope.user_id is not None and scope.session_id is None
        index = self._index("turns_user_pending" if whole_user else "turns_pending")
        return self._turns(
            f"SELECT {TURN_COLUMNS} FROM turns {index}"
            f"WHERE {where} AND {self._pending()} "
            f"ORDER BY user_id, session_id, event_time, pk LIMIT {self.codec.mark}",
            [*params, limit],
        )

    def count_pending(self, scope: Scope) -> int:
        where, params = self._scope(scope)
        row = self._one(
            f"SELECT count(*) AS n FROM turns WHERE {where} AND {self._pending()}", params
        )
        return int(row["n"]) if row else 0

    def claim_turns(self, pks: Sequence[int]) -> int:
        """Mark turns consolidated; returns how many were still pending. Consolidation calls
        this first in its transaction, so writers of the same owner take turns here."""
        if not pks:
            return 0
        done, not_done = self.codec.enc_flag(True), self.codec.enc_flag(False)
        claimed = 0
        with self._write() as conn:
            self._hold_turns(conn, list(pks))
            for start in range(0, len(pks), CHUNK):
                chunk = list(pks[start : start + CHUNK])
                claimed += conn.execute(
                    f"UPDATE turns SET consolidated = {self.codec.mark} "
                    f"WHERE pk IN {self._in(chunk)} AND consolidated = {self.codec.mark}",
                    [done, *chunk, not_done],
                ).rowcount
        return claimed

    def turns_missing_embeddings(self, scope: Scope) -> list[TurnRecord]:
        where, params = self._scope(scope)
        return self._turns(
            f"SELECT {TURN_COLUMNS} FROM turns WHERE {where} AND embedding IS NULL ORDER BY pk",
            params,
        )

    def set_turn_embeddings(self, items: Sequence[tuple[int, Vector]]) -> None:
        if not items:
            return
        m = self.codec.mark
        with self._write() as conn:
            self._execute_many(
                conn,
                f"UPDATE turns SET embedding = {m} WHERE pk = {m}",
                [(self.codec.enc_vec(vec), pk) for pk, vec in items],
            )

    def _missing(self, table: str, scope: Scope) -> list[tuple[str, str]]:
        where, params = self._scope(scope)
        rows = self._rows(
            f"SELECT id, text FROM {table} WHERE {where} AND embedding IS NULL ORDER BY pk",
            params,
        )
        return [(str(r["id"]), str(r["text"])) for r in rows]

    def episodes_missing_embeddings(self, scope: Scope) -> list[tuple[str, str]]:
        return self._missing("episodes", scope)

    def facts_missing_embeddings(self, scope: Scope) -> list[tuple[str, str]]:
        return self._missing("facts", scope)

    def set_item_embeddings(self, tenant_id: int, items: Sequence[tuple[str, Vector]]) -> None:
        """Replace the vectors of episodes (`ep_`) and facts (`ft_`) by id."""
        m = self.codec.mark
        with self._write() as conn:
            for item_id, vec in items:
                table = "episodes" if item_id.startswith("ep_") else "facts"
                conn.execute(
                    f"UPDATE {table} SET embedding = {m} WHERE id = {m} AND tenant_id = {m}",
                    (self.codec.enc_vec(vec), item_id, tenant_id),
                )

    def turn_vectors(self, turn_pks: Sequence[int]) -> dict[int, Vector]:
        if not turn_pks:
            return {}
        rows = self._rows(
            f"SELECT pk, embedding FROM turns WHERE pk IN {self._in(turn_pks)} "
            "AND embedding IS NOT NULL",
            list(turn_pks),
        )
        found = ((int(r["pk"]), self.codec.dec_vec(r["embedding"])) for r in rows)
        return {pk: vec for pk, vec in found if vec is not None}

    def scopes_with_pending_turns(self) -> list[Scope]:
        rows = self._rows(
            f"SELECT DISTINCT tenant_id, user_id, session_id FROM turns WHERE {self._pending()}",
            (),
        )
        return [
            Scope(int(r["tenant_id"]), dec_label(r["user_id"]), dec_label(r["session_id"]))
            for r in rows
        ]

    def turn_neighbors(self, pks: Sequence[int], max_gap: timedelta) -> dict[int, list[int]]:
        """For each turn, the turns said just before and after it in its conversation (one
        (tenant, user, session) in (event_time, pk) order), unless more than `max_gap` away."""
        if not pks:
            return {}
        same = "t.tenant_id = b.tenant_id AND t.user_id = b.user_id AND t.session_id = b.session_id"
        rows = self._rows(
            "SELECT x.pk, x.event_time AS at, p.pk AS prev, p.event_time AS prev_at, "
            "n.pk AS next, n.event_time AS next_at FROM (SELECT b.pk, b.event_time, "
            f"(SELECT t.pk FROM turns t WHERE {same} AND (t.event_time, t.pk) < (b.event_time, b.pk) "
            "ORDER BY t.event_time DESC, t.pk DESC LIMIT 1) AS before_pk, "
            f"(SELECT t.pk FROM turns t WHERE {same} AND (t.event_time, t.pk) > (b.event_time, b.pk) "
            "ORDER BY t.event_time, t.pk LIMIT 1) AS after_pk "
            f"FROM turns b WHERE b.pk IN {self._in(pks)}) x "
            "LEFT JOIN turns p ON p.pk = x.before_pk LEFT JOIN turns n ON n.pk = x.after_pk",
            list(pks),
        )
        out: dict[int, list[int]] = {}
        for r in rows:
            said = self.codec.dec_time(r["at"])
            out[int(r["pk"])] = [
                int(r[side])
                for side in ("prev", "next")
                if r[side] is not None
                and abs(self.codec.dec_time(r[f"{side}_at"]) - said) <= max_gap
            ]
        return out
