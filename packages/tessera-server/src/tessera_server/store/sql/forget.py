"""Deleting rows: one item, turns and what was drawn from them alone, or a whole scope."""

from __future__ import annotations

from collections.abc import Sequence

from ..records import EpisodeRecord, FactRecord, ForgetCounts, Scope
from .base import SqlBase


class Forget(SqlBase):
    def delete_episode(self, ep: EpisodeRecord) -> ForgetCounts:
        """Delete an episode with its foresight and the facts drawn from it alone."""
        assert ep.pk is not None
        m = self.codec.mark
        counts = ForgetCounts(episodes=1)
        with self._write() as conn:
            counts.foresight = conn.execute(
                f"DELETE FROM foresight WHERE episode_pk = {m}", (ep.pk,)
            ).rowcount
            counts.facts = conn.execute(
                f"DELETE FROM facts WHERE tenant_id = {m} AND episode_id = {m}",
                (ep.tenant_id, ep.id),
            ).rowcount
            conn.execute(f"DELETE FROM episodes WHERE pk = {m}", (ep.pk,))
        return counts

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

    def delete_orphans_of_turns(self, tenant_id: int, turn_pks: Sequence[int]) -> ForgetCounts:
        """Remove facts and foresight whose every source turn is among `turn_pks`."""
        counts = ForgetCounts()
        if not turn_pks:
            return counts
        pks, among = list(turn_pks), self._in(turn_pks)
        with self._write() as conn:
            for table, key, src in (
                ("facts", "fact_pk", "fact_sources"),
                ("foresight", "foresight_pk", "foresight_sources"),
            ):
                doomed = [
                    int(r["owner"])
                    for r in conn.execute(
                        f"SELECT s.{key} AS owner FROM {src} s WHERE s.turn_pk IN {among} "
                        f"GROUP BY s.{key} HAVING NOT EXISTS (SELECT 1 FROM {src} s2 "
                        f"WHERE s2.{key} = s.{key} AND s2.turn_pk NOT IN {among})",
                        [*pks, *pks],
                    ).fetchall()
                ]
                if doomed:
                    deleted = conn.execute(
                        f"DELETE FROM {table} WHERE pk IN {self._in(doomed)}", doomed
                    ).rowcount
                    setattr(counts, table, deleted)
                conn.execute(f"DELETE FROM {src} WHERE turn_pk IN {among}", pks)
        return counts

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
