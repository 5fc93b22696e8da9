"""Episodes (and notes, procedures, resources): rows plus the turns they were drawn from."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol, TypeVar

from ...engine.records import EpisodeRecord, Scope
from ..rows import EPISODES, Table, enc_json, episode_rewrite
from .base import EPISODE_COLUMNS, FACT_COLUMNS, SqlBase

# Each table of things drawn from turns: the table naming those turns, and its key column.
SOURCES = {
    "episodes": ("episode_sources", "episode_pk"),
    "facts": ("fact_sources", "fact_pk"),
    "foresight": ("foresight_sources", "foresight_pk"),
}

COLUMNS = {"episodes": EPISODE_COLUMNS, "facts": FACT_COLUMNS}


class _Drawn(Protocol):
    """An item drawn from turns (an episode, a fact, a foresight item)."""

    id: str
    pk: int | None
    source_turn_pks: list[int]


Item = TypeVar("Item", bound=_Drawn)


class Sources(SqlBase):
    """The `*_sources` tables: which turns an episode, fact or foresight item came from."""

    def _add_sources(self, conn: Any, table: str, pk: int, turns: Sequence[int]) -> None:
        """Link a row of `table` to the turns it was drawn from."""
        if turns:
            src, key = SOURCES[table]
            self._execute_many(
                conn,
                f"INSERT INTO {src} ({key}, turn_pk) VALUES ({self.codec.marks(2)}) "
                "ON CONFLICT DO NOTHING",
                [(pk, t) for t in turns],
            )

    def _insert(self, table: Table[Item], item: Item) -> Item:
        """Insert an item and the turns it was drawn from; sets and returns it with its pk."""
        values = {**table.encode(item, self.codec)}
        if table.name != "foresight":  # episodes and facts can be filtered by metadata
            values.update(self._filter_columns(getattr(item, "metadata", {})))
        with self._write() as conn:
            row = conn.execute(
                self.codec.insert(table.name, values, " RETURNING pk"), list(values.values())
            ).fetchone()
            item.pk = int(row["pk"])
            self._add_sources(conn, table.name, item.pk, item.source_turn_pks)
        return item

    def _items(
        self, table: Table[Item], sql: str, params: Sequence[Any], *, held: bool = True
    ) -> list[Item]:
        """Rows of `table` read by `sql`, each with its source turns. Inside a transaction a
        `held` read locks its rows until it ends (`_held`): they may be rewritten."""
        with self._read() as conn:
            rows = self._fetch(conn, self._held(sql) if held else sql, params)
            sources = self._sources(conn, table.name, [int(r["pk"]) for r in rows])
        out = []
        for row in rows:
            drawn = sources[int(row["pk"])]
            pks, ids = [pk for pk, _ in drawn], [turn_id for _, turn_id in drawn]
            out.append(table.decode(row, self.codec, source_turn_pks=pks, source_turn_ids=ids))
        return out

    def _by_ids(self, table: Table[Item], scope: Scope, ids: Sequence[str]) -> list[Item]:
        """Items of `table` by id, in the order asked, silently skipping ids outside the scope;
        inside a transaction, after the owner's writers (what is read may be rewritten)."""
        if not ids:
            return []
        where, params = self._scope(scope, by_id=True)
        self._hold_owner(scope)
        columns, name = COLUMNS[table.name], table.name
        sql = f"SELECT {columns} FROM {name} WHERE {where} AND id IN {self._in(ids)} ORDER BY pk"
        found = {item.id: item for item in self._items(table, sql, [*params, *ids])}
        return [found[i] for i in ids if i in found]

    def _sources(self, conn: Any, table: str, pks: list[int]) -> dict[int, list[tuple[int, str]]]:
        """Each row's source turns as (turn pk, turn id), in conversation order."""
        out: dict[int, list[tuple[int, str]]] = {pk: [] for pk in pks}
        if not pks:
            return out
        table, key = SOURCES[table]
        for src in conn.execute(
            f"SELECT s.{key} AS owner, s.turn_pk, t.turn_id FROM {table} s "
            f"JOIN turns t ON t.pk = s.turn_pk WHERE s.{key} IN {self._in(pks)} "
            "ORDER BY t.event_time, t.pk",
            pks,
        ).fetchall():
            out[int(src["owner"])].append((int(src["turn_pk"]), str(src["turn_id"])))
        return out


class Episodes(Sources):
    def insert_episode(self, ep: EpisodeRecord) -> EpisodeRecord:
        return self._insert(EPISODES, ep)

    def get_episodes(self, scope: Scope, ids: Sequence[str]) -> list[EpisodeRecord]:
        """Episodes by id, in the order asked, silently skipping ids outside the scope."""
        return self._by_ids(EPISODES, scope, ids)

    def episodes_in_scope(
        self, scope: Scope, kinds: Sequence[str], limit: int = 100_000
    ) -> list[EpisodeRecord]:
        where, params = self._scope(scope)
        # Procedures and resources are few among a scope's episodes: found by kind in an index
        # and then sorted, rather than by walking every episode in time order (SQLite's
        # choice without statistics: 70 ms at 10k episodes for a handful of rows). A whole
        # user's (every session) by (user, kind), which the session-first index cannot seek.
        rare = set(kinds) <= {"procedure", "resource"}
        whole_user = scope.user_id is not None and scope.session_id is None
        index = "episodes_user_kind" if whole_user else "episodes_scope"
        hint = self._index(index) if rare else ""
        return self._items(
            EPISODES,
            f"SELECT {EPISODE_COLUMNS} FROM episodes {hint}WHERE {where} "
            f"AND kind IN {self._in(kinds)} "
            f"ORDER BY event_time DESC, pk DESC LIMIT {self.codec.mark}",
            [*params, *kinds, limit],
        )

    def episodes_for_turns(self, turn_pks: Sequence[int]) -> list[EpisodeRecord]:
        if not turn_pks:
            return []
        with self._read() as conn:
            # Forgetting: wait for a consolidation holding these turns, so the episodes it
            # is building are seen (and forgotten) too.
            self._hold_turns(conn, list(turn_pks))
        return self._items(
            EPISODES,
            f"SELECT {EPISODE_COLUMNS} FROM episodes WHERE pk IN "
            f"(SELECT episode_pk FROM episode_sources WHERE turn_pk IN {self._in(turn_pks)}) "
            "ORDER BY pk",
            list(turn_pks),
        )

    def update_episode(self, ep: EpisodeRecord) -> None:
        """Rewrite an episode's text, attributes, pin, vector and sources."""
        assert ep.pk is not None
        m = self.codec.mark
        values = {**episode_rewrite(ep, self.codec), **self._filter_columns(ep.metadata)}
        with self._write() as conn:
            conn.execute(
                self.codec.update("episodes", values, f"pk = {m}"), [*values.values(), ep.pk]
            )
            conn.execute(f"DELETE FROM episode_sources WHERE episode_pk = {m}", (ep.pk,))
            self._add_sources(conn, "episodes", ep.pk, ep.source_turn_pks)

    def set_pinned(self, scope: Scope, episode_id: str, pinned: bool) -> bool | None:
        """Set the pin; returns whether it changed, or None when the episode is not found."""
        where, params = self._scope(scope)
        m = self.codec.mark
        with self._write() as conn:
            row = conn.execute(
                self._held(f"SELECT pk, pinned FROM episodes WHERE {where} AND id = {m}"),
                [*params, episode_id],
            ).fetchone()
            if row is None:
                return None
            if bool(row["pinned"]) == pinned:
                return False
            conn.execute(
                f"UPDATE episodes SET pinned = {m} WHERE pk = {m}",
                (self.codec.enc_flag(pinned), row["pk"]),
            )
            return True

    def update_attrs(self, scope: Scope, episode_id: str, attrs: dict[str, Any]) -> bool:
        where, params = self._scope(scope)
        with self._write() as conn:
            cur = conn.execute(
                f"UPDATE episodes SET attrs = {self.codec.mark} WHERE {where} "
                f"AND id = {self.codec.mark}",
                [enc_json(attrs), *params, episode_id],
            )
            return bool(cur.rowcount > 0)

    def episodes_of_turns(
        self, scope: Scope, turn_pks: Sequence[int], kinds: Sequence[str]
    ) -> dict[int, list[str]]:
        """For each turn, the ids of the episodes (of the given kinds) built from it."""
        if not turn_pks:
            return {}
        where, params = self._scope(scope, "e")
        # From the few given turns to their episodes: left to itself SQLite's planner walked
        # the whole scope's episodes instead (100 ms at 10k notes).
        rows = self._rows(
            f"SELECT s.turn_pk, e.id FROM episode_sources s {self._ordered_join()} episodes e "
            f"ON e.pk = s.episode_pk WHERE s.turn_pk IN {self._in(turn_pks)} AND {where} "
            f"AND e.kind IN {self._in(kinds)} ORDER BY e.pk",
            [*turn_pks, *params, *kinds],
        )
        out: dict[int, list[str]] = {}
        for row in rows:
            out.setdefault(int(row["turn_pk"]), []).append(str(row["id"]))
        return out
