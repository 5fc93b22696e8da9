"""Deleting rows: items by key, turns, or a whole scope. What else goes with a deleted
episode or turn is the engine's rule (`engine/forgetting.py`); these are its primitives."""

from __future__ import annotations

from collections.abc import Sequence

from ...engine.records import EpisodeRecord, FactRecord, ForgetCounts, Scope
from .base import SqlBase


class Forget(SqlBase):
    def derived_from_episode(self, ep: EpisodeRecord) -> tuple[list[int], list[int]]:
        """(fact pks, foresight pks) of the items drawn from the episode."""
        m = self.codec.mark
        with self._read() as conn:
            facts = conn.execute(
                f"SELECT pk FROM facts WHERE tenant_id = {m} AND episode_id = {m}",
                (ep.tenant_id, ep.id),
            ).fetchall()
            foresight = conn.execute(
                f"SELECT pk FROM foresight WHERE episode_pk = {m}", (ep.pk,)
            ).fetchall()
        return [int(r["pk"]) for r in facts], [int(r["pk"]) for r in foresight]

    def drawn_only_from(self, turn_pks: Sequence[int]) -> tuple[list[int], list[int]]:
        """(fact pks, foresight pks) of the items whose every source turn is among these."""
        if not turn_pks:
            return [], []
        pks, among = list(turn_pks), self._in(turn_pks)
        found: list[list[int]] = []
        with self._read() as conn:
            for key, src in (("fact_pk", "fact_sources"), ("foresight_pk", "foresight_sources")):
                rows = conn.execute(
                    f"SELECT s.{key} AS owner FROM {src} s WHERE s.turn_pk IN {among} "
                    f"GROUP BY s.{key} HAVING NOT EXISTS (SELECT 1 FROM {src} s2 "
                    f"WHERE s2.{key} = s.{key} AND s2.turn_pk NOT IN {among})",
                    [*pks, *pks],
                ).fetchall()
                found.append([int(r["owner"]) for r in rows])
        return found[0], found[1]

    def delete_rows(self, table: str, pks: Sequence[int]) -> int:
        """Delete episodes, facts or foresight items by primary key; returns how many."""
        assert table in ("episodes", "facts", "foresight")
        if not pks:
            return 0
        with self._write() as conn:
            return int(
                conn.execute(f"DELETE FROM {table} WHERE pk IN {self._in(pks)}", list(pks)).rowcount
            )

    def unlink_turns(self, turn_pks: Sequence[int]) -> None:
        """Drop the links from facts and foresight items to these turns."""
        if not turn_pks:
            return
        with self._write() as conn:
            for src in ("fact_sources", "foresight_sources"):
                conn.execute(
                    f"DELETE FROM {src} WHERE turn_pk IN {self._in(turn_pks)}", list(turn_pks)
                )

    def delete_fact(self, fact: FactRecord) -> ForgetCounts:
        with self._write() as conn:
            conn.execute(f"DELETE FROM facts WHERE pk = {self.codec.mark}", (fact.pk,))
        return ForgetCounts(facts=1)

    def delete_turn_rows(self, tenant_id: int, turn_pks: Sequence[int]) -> int:
        """Delete turns and their links to episodes; returns how many turns."""
        if not turn_pks:
            return 0
        pks, among = list(turn_pks), self._in(turn_pks)
        with self._write() as conn:
            gone = int(conn.execute(f"DELETE FROM turns WHERE pk IN {among}", pks).rowcount)
            conn.execute(f"DELETE FROM episode_sources WHERE turn_pk IN {among}", pks)
            return gone

    def users_in_scope(self, scope: Scope) -> list[str]:
        where, params = self._scope(scope)
        rows = self._rows(
            f"SELECT user_id FROM episodes WHERE {where} "
            f"UNION SELECT user_id FROM facts WHERE {where}",
            [*params, *params],
        )
        return sorted(str(r["user_id"]) for r in rows if r["user_id"])

    def wipe(self, scope: Scope) -> int:
        """Delete every row of the scope from every table; returns the number of rows."""
        where, params = self._scope(scope)
        m = self.codec.mark
        total = 0
        with self._write() as conn:
            # First wait for any consolidation holding the scope's turns, so what it adds
            # is wiped too; consolidations starting later find their turns gone.
            self._hold_owner(scope)
            self._hold_rows(conn, "turns", where, params)
            for table in ("foresight", "facts", "episodes", "turns", "jobs"):
                total += conn.execute(f"DELETE FROM {table} WHERE {where}", params).rowcount
            if scope.session_id is None and scope.user_id is not None:
                for table in ("portraits", "panels"):
                    total += conn.execute(
                        f"DELETE FROM {table} WHERE tenant_id = {m} AND user_id = {m}",
                        (scope.tenant_id, scope.user_id),
                    ).rowcount
        return total
