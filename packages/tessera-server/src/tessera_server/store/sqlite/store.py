"""The embedded store: everything in one SQLite file (WAL), text and vectors as columns.

Search runs on per-scope in-memory indexes (`dense.py`: vectors and BM25 postings) kept in
step with the file. The FTS5 tables and triggers of the first migrations are dropped by
migration 5, so a write touches only the rows and their b-tree indexes.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from .. import portable
from ..records import (
    ApiKeyRecord,
    EpisodeRecord,
    FactRecord,
    FilterSpec,
    ForesightRecord,
    ForgetCounts,
    JobRecord,
    ListCursor,
    ListedItem,
    PanelRecord,
    Scope,
    ScopeSummary,
    TimeTravel,
    TurnRecord,
    Vector,
)
from ..rows import (
    dec_json,
    dec_label,
    enc_json,
    enc_label,
    episode_record,
    episode_rewrite,
    episode_row,
    fact_record,
    fact_row,
    foresight_record,
    foresight_row,
    job_record,
    key_record,
    panel_record,
    panel_row,
    portrait_upsert,
    turn_record,
    turn_row,
)
from . import changes
from .ann import ANN_MIN_ROWS
from .codec import CODEC, dec_time, dec_vec, enc_time, enc_time_opt, enc_vec
from .connection import ConnectionPool, migrate
from .dense import (
    MAX_CACHED_BYTES,
    DenseIndex,
    DenseTable,
    Snapshot,
    top_k,
)

NEVER = float("inf")
SUMMARY_TABLES = ("turns", "episodes", "facts", "foresight")
_EPISODE_KIND_CODES = {"episode": 0.0, "note": 1.0, "procedure": 2.0, "resource": 3.0}


def _ts(value: str | None) -> float:
    return NEVER if value is None else dec_time(value).timestamp()


_EPISODE_DENSE = DenseTable(
    "episodes",
    ("kind", "pinned"),
    lambda row: (_EPISODE_KIND_CODES[row["kind"]], float(row["pinned"])),
    text_column="text",
)
_FACT_DENSE = DenseTable(
    "facts",
    ("t_valid", "t_invalid", "t_created", "t_expired"),
    lambda row: (
        _ts(row["t_valid"]),
        _ts(row["t_invalid"]),
        _ts(row["t_created"]),
        _ts(row["t_expired"]),
    ),
    text_column="text",
)
_TURN_DENSE = DenseTable("turns", (), lambda row: (), id_column="pk", text_column="content")


def _scope_sql(scope: Scope, alias: str = "", *, by_scope: bool = True) -> tuple[str, list[Any]]:
    """The scope's WHERE clause. With `by_scope=False` the columns carry SQLite's unary `+`,
    which keeps the planner off the scope index: for lookups by unique id, where walking the
    scope's rows instead (the plan it chose without statistics) cost 50 ms at 100k memories.
    """
    return CODEC.scope_sql(scope, alias, "" if by_scope else "+")


_SQL_OPS = {"eq": "=", "ne": "!=", "gte": ">=", "lte": "<=", "gt": ">", "lt": "<"}


def _filter_sql(filters: Sequence[FilterSpec], alias: str) -> tuple[str, list[Any]]:
    """SQL for validated filters. Columns come from the engine's allow-list; values are bound."""
    clauses: list[str] = []
    params: list[Any] = []
    for spec in filters:
        if spec.metadata_key is not None:
            column = f"json_extract({alias}.metadata, ?)"
            params.append(f'$."{spec.metadata_key}"')
        else:
            column = f"{alias}.{spec.column}"
        value = spec.value
        if isinstance(value, datetime):
            value = enc_time(value)
        if spec.op == "in":
            values = [enc_time(v) if isinstance(v, datetime) else v for v in value]
            clauses.append(f"{column} IN ({', '.join('?' for _ in values)})")
            params.extend(values)
        else:
            clauses.append(f"{column} {_SQL_OPS[spec.op]} ?")
            params.append(value)
    return " AND ".join(clauses), params


def fts_match(terms: Sequence[str]) -> str:
    """An FTS5 OR-query of the terms, each quoted so no input is read as query syntax.

    Search does not query FTS5 and the file has no FTS5 table any more; tests use this on
    FTS5 tables of their own to compare the in-memory BM25 with SQLite's bm25()."""
    return " OR ".join('"' + t.replace('"', "") + '"' for t in terms[:64])


class SQLiteStore:
    """The store protocol on one SQLite file."""

    backend = "sqlite"

    def __init__(
        self,
        path: Path,
        dim: int,
        *,
        cache_bytes: int = MAX_CACHED_BYTES,
        graph_min_rows: int | None = ANN_MIN_ROWS,
    ) -> None:
        # Every write transaction settles the index change log its triggers wrote.
        self.pool = ConnectionPool(path, before_commit=changes.settle)
        self.dense = DenseIndex(dim, max_bytes=cache_bytes, ann_min_rows=graph_min_rows)
        self.dim = dim

    # -- lifecycle -----------------------------------------------------------------------

    def migrate(self) -> list[str]:
        return migrate(self.pool)

    def ping(self) -> bool:
        try:
            self.pool.conn.execute("SELECT 1").fetchone()
            return True
        except sqlite3.Error:
            return False

    def close(self) -> None:
        self.pool.close()

    @contextmanager
    def transaction(self) -> Iterator[None]:
        with self.pool.write():
            yield

    def integrity_ok(self) -> bool:
        row = self.pool.conn.execute("PRAGMA integrity_check").fetchone()
        return bool(row and row[0] == "ok")

    # -- tenants and keys ------------------------------------------------------------------

    def ensure_tenant(self, name: str, now: datetime) -> tuple[int, bool]:
        with self.pool.write() as conn:
            row = conn.execute("SELECT id FROM tenants WHERE name = ?", (name,)).fetchone()
            if row:
                return int(row[0]), False
            cur = conn.execute(
                "INSERT INTO tenants (name, created_at) VALUES (?, ?)", (name, enc_time(now))
            )
            return int(cur.lastrowid or 0), True

    def insert_key(
        self, tenant_id: int, prefix: str, key_hash: str, read_only: bool, now: datetime
    ) -> None:
        with self.pool.write() as conn:
            conn.execute(
                "INSERT INTO api_keys (tenant_id, prefix, key_hash, read_only, created_at) "
                "VALUES (?, ?, ?, ?, ?)",
                (tenant_id, prefix, key_hash, int(read_only), enc_time(now)),
            )

    def find_key(self, key_hash: str) -> ApiKeyRecord | None:
        row = self.pool.conn.execute(
            "SELECT k.*, t.name FROM api_keys k JOIN tenants t ON t.id = k.tenant_id "
            "WHERE k.key_hash = ?",
            (key_hash,),
        ).fetchone()
        return key_record(row, CODEC) if row else None

    def list_keys(self) -> list[ApiKeyRecord]:
        rows = self.pool.conn.execute(
            "SELECT k.*, t.name FROM api_keys k JOIN tenants t ON t.id = k.tenant_id ORDER BY k.id"
        ).fetchall()
        return [key_record(r, CODEC) for r in rows]

    def revoke_key(self, prefix: str, now: datetime) -> bool:
        with self.pool.write() as conn:
            cur = conn.execute(
                "UPDATE api_keys SET revoked_at = ? WHERE prefix = ? AND revoked_at IS NULL",
                (enc_time(now), prefix),
            )
            return cur.rowcount > 0

    # -- turns -------------------------------------------------------------------------

    def insert_turn(self, turn: TurnRecord) -> tuple[TurnRecord, bool]:
        """Store a turn unless its turn_id exists in the scope; returns (stored, created)."""
        with self.pool.write() as conn:
            row = turn_row(turn, CODEC)
            cur = conn.execute(
                CODEC.insert(
                    "turns",
                    row,
                    " ON CONFLICT (tenant_id, user_id, session_id, turn_id) DO NOTHING",
                ),
                list(row.values()),
            )
            if cur.rowcount == 1:
                turn.pk = int(cur.lastrowid or 0)
                return turn, True
            existing = self.get_turn(
                Scope(turn.tenant_id, turn.user_id or None, turn.session_id or None),
                turn.turn_id,
                exact=True,
            )
            assert existing is not None
            return existing, False

    def get_turn(self, scope: Scope, turn_id: str, *, exact: bool = False) -> TurnRecord | None:
        """A turn by client id. `exact` matches absent labels too (the uniqueness scope)."""
        if exact:
            row = self.pool.conn.execute(
                "SELECT * FROM turns WHERE tenant_id = ? AND user_id = ? AND session_id = ? "
                "AND turn_id = ?",
                (scope.tenant_id, enc_label(scope.user_id), enc_label(scope.session_id), turn_id),
            ).fetchone()
        else:
            where, params = _scope_sql(scope)
            row = self.pool.conn.execute(
                f"SELECT * FROM turns WHERE {where} AND turn_id = ? ORDER BY pk LIMIT 1",
                [*params, turn_id],
            ).fetchone()
        return turn_record(row, CODEC) if row else None

    def turns_by_pk(self, pks: Sequence[int]) -> list[TurnRecord]:
        if not pks:
            return []
        marks = ", ".join("?" for _ in pks)
        rows = self.pool.conn.execute(
            f"SELECT * FROM turns WHERE pk IN ({marks}) ORDER BY event_time, pk", list(pks)
        ).fetchall()
        return [turn_record(r, CODEC) for r in rows]

    def pending_turns(self, scope: Scope, limit: int = 10_000) -> list[TurnRecord]:
        where, params = _scope_sql(scope)
        rows = self.pool.conn.execute(
            f"SELECT * FROM turns WHERE {where} AND consolidated = 0 AND infer = 1 "
            "ORDER BY user_id, session_id, event_time, pk LIMIT ?",
            [*params, limit],
        ).fetchall()
        return [turn_record(r, CODEC) for r in rows]

    def count_pending(self, scope: Scope) -> int:
        where, params = _scope_sql(scope)
        row = self.pool.conn.execute(
            f"SELECT count(*) FROM turns WHERE {where} AND consolidated = 0 AND infer = 1", params
        ).fetchone()
        return int(row[0])

    def claim_turns(self, pks: Sequence[int]) -> int:
        """Mark turns consolidated; returns how many were still pending."""
        with self.pool.write() as conn:
            claimed = 0
            for start in range(0, len(pks), 500):
                chunk = list(pks[start : start + 500])
                marks = ", ".join("?" for _ in chunk)
                claimed += conn.execute(
                    f"UPDATE turns SET consolidated = 1 WHERE pk IN ({marks}) AND consolidated = 0",
                    chunk,
                ).rowcount
            return claimed

    def turns_missing_embeddings(self, scope: Scope) -> list[TurnRecord]:
        where, params = _scope_sql(scope)
        rows = self.pool.conn.execute(
            f"SELECT * FROM turns WHERE {where} AND embedding IS NULL ORDER BY pk", params
        ).fetchall()
        return [turn_record(r, CODEC) for r in rows]

    def set_turn_embeddings(self, items: Sequence[tuple[int, Vector]]) -> None:
        with self.pool.write() as conn:
            conn.executemany(
                "UPDATE turns SET embedding = ? WHERE pk = ?",
                [(enc_vec(vec), pk) for pk, vec in items],
            )

    def episodes_missing_embeddings(self, scope: Scope) -> list[tuple[str, str]]:
        where, params = _scope_sql(scope)
        rows = self.pool.conn.execute(
            f"SELECT id, text FROM episodes WHERE {where} AND embedding IS NULL ORDER BY pk",
            params,
        ).fetchall()
        return [(str(r[0]), str(r[1])) for r in rows]

    def facts_missing_embeddings(self, scope: Scope) -> list[tuple[str, str]]:
        where, params = _scope_sql(scope)
        rows = self.pool.conn.execute(
            f"SELECT id, text FROM facts WHERE {where} AND embedding IS NULL ORDER BY pk", params
        ).fetchall()
        return [(str(r[0]), str(r[1])) for r in rows]

    def set_item_embeddings(self, tenant_id: int, items: Sequence[tuple[str, Vector]]) -> None:
        """Replace the vectors of episodes (`ep_`) and facts (`ft_`) by id."""
        with self.pool.write() as conn:
            for item_id, vec in items:
                table = "episodes" if item_id.startswith("ep_") else "facts"
                conn.execute(
                    f"UPDATE {table} SET embedding = ? WHERE id = ? AND tenant_id = ?",
                    (enc_vec(vec), item_id, tenant_id),
                )

    # -- episodes ----------------------------------------------------------------------

    def insert_episode(self, ep: EpisodeRecord) -> EpisodeRecord:
        with self.pool.write() as conn:
            row = episode_row(ep, CODEC)
            cur = conn.execute(CODEC.insert("episodes", row), list(row.values()))
            ep.pk = int(cur.lastrowid or 0)
            conn.executemany(
                "INSERT OR IGNORE INTO episode_sources (episode_pk, turn_pk) VALUES (?, ?)",
                [(ep.pk, t) for t in ep.source_turn_pks],
            )
        return ep

    def _episodes_from_rows(self, rows: Sequence[sqlite3.Row]) -> list[EpisodeRecord]:
        if not rows:
            return []
        pks = [int(r["pk"]) for r in rows]
        marks = ", ".join("?" for _ in pks)
        sources: dict[int, list[tuple[int, str]]] = {pk: [] for pk in pks}
        for src in self.pool.conn.execute(
            "SELECT s.episode_pk, s.turn_pk, t.turn_id FROM episode_sources s "
            f"JOIN turns t ON t.pk = s.turn_pk WHERE s.episode_pk IN ({marks}) "
            "ORDER BY t.event_time, t.pk",
            pks,
        ):
            sources[int(src[0])].append((int(src[1]), str(src[2])))
        return [episode_record(row, CODEC, sources[int(row["pk"])]) for row in rows]

    def get_episodes(self, scope: Scope, ids: Sequence[str]) -> list[EpisodeRecord]:
        """Episodes by id, in the order asked, silently skipping ids outside the scope."""
        if not ids:
            return []
        where, params = _scope_sql(scope, by_scope=False)
        marks = ", ".join("?" for _ in ids)
        rows = self.pool.conn.execute(
            f"SELECT * FROM episodes WHERE {where} AND id IN ({marks})", [*params, *ids]
        ).fetchall()
        found = {e.id: e for e in self._episodes_from_rows(rows)}
        return [found[i] for i in ids if i in found]

    def episodes_in_scope(
        self, scope: Scope, kinds: Sequence[str], limit: int = 100_000
    ) -> list[EpisodeRecord]:
        where, params = _scope_sql(scope)
        marks = ", ".join("?" for _ in kinds)
        rows = self.pool.conn.execute(
            f"SELECT * FROM episodes WHERE {where} AND kind IN ({marks}) "
            "ORDER BY event_time DESC, pk DESC LIMIT ?",
            [*params, *kinds, limit],
        ).fetchall()
        return self._episodes_from_rows(rows)

    def episodes_for_turns(self, turn_pks: Sequence[int]) -> list[EpisodeRecord]:
        if not turn_pks:
            return []
        marks = ", ".join("?" for _ in turn_pks)
        rows = self.pool.conn.execute(
            "SELECT * FROM episodes WHERE pk IN (SELECT episode_pk FROM episode_sources "
            f"WHERE turn_pk IN ({marks}))",
            list(turn_pks),
        ).fetchall()
        return self._episodes_from_rows(rows)

    def update_episode(self, ep: EpisodeRecord) -> None:
        """Rewrite an episode's text, attributes, pin, vector and sources."""
        assert ep.pk is not None
        with self.pool.write() as conn:
            values = episode_rewrite(ep, CODEC)
            conn.execute(CODEC.update("episodes", values, "pk = ?"), [*values.values(), ep.pk])
            conn.execute("DELETE FROM episode_sources WHERE episode_pk = ?", (ep.pk,))
            conn.executemany(
                "INSERT OR IGNORE INTO episode_sources (episode_pk, turn_pk) VALUES (?, ?)",
                [(ep.pk, t) for t in ep.source_turn_pks],
            )

    def set_pinned(self, scope: Scope, episode_id: str, pinned: bool) -> bool | None:
        """Set the pin; returns whether it changed, or None when the episode is not found."""
        where, params = _scope_sql(scope)
        with self.pool.write() as conn:
            row = conn.execute(
                f"SELECT pk, pinned FROM episodes WHERE {where} AND id = ?", [*params, episode_id]
            ).fetchone()
            if row is None:
                return None
            if bool(row["pinned"]) == pinned:
                return False
            conn.execute("UPDATE episodes SET pinned = ? WHERE pk = ?", (int(pinned), row["pk"]))
            return True

    def update_attrs(self, scope: Scope, episode_id: str, attrs: dict[str, Any]) -> bool:
        where, params = _scope_sql(scope)
        with self.pool.write() as conn:
            cur = conn.execute(
                f"UPDATE episodes SET attrs = ? WHERE {where} AND id = ?",
                [enc_json(attrs), *params, episode_id],
            )
            return cur.rowcount > 0

    # -- facts -------------------------------------------------------------------------

    def insert_fact(self, fact: FactRecord) -> FactRecord:
        with self.pool.write() as conn:
            row = fact_row(fact, CODEC)
            cur = conn.execute(CODEC.insert("facts", row), list(row.values()))
            fact.pk = int(cur.lastrowid or 0)
            conn.executemany(
                "INSERT OR IGNORE INTO fact_sources (fact_pk, turn_pk) VALUES (?, ?)",
                [(fact.pk, t) for t in fact.source_turn_pks],
            )
        return fact

    def _facts_from_rows(self, rows: Sequence[sqlite3.Row]) -> list[FactRecord]:
        if not rows:
            return []
        pks = [int(r["pk"]) for r in rows]
        marks = ", ".join("?" for _ in pks)
        sources: dict[int, list[tuple[int, str]]] = {pk: [] for pk in pks}
        for src in self.pool.conn.execute(
            "SELECT s.fact_pk, s.turn_pk, t.turn_id FROM fact_sources s "
            f"JOIN turns t ON t.pk = s.turn_pk WHERE s.fact_pk IN ({marks}) "
            "ORDER BY t.event_time, t.pk",
            pks,
        ):
            sources[int(src[0])].append((int(src[1]), str(src[2])))
        return [fact_record(row, CODEC, sources[int(row["pk"])]) for row in rows]

    def get_facts(self, scope: Scope, ids: Sequence[str]) -> list[FactRecord]:
        if not ids:
            return []
        where, params = _scope_sql(scope, by_scope=False)
        marks = ", ".join("?" for _ in ids)
        rows = self.pool.conn.execute(
            f"SELECT * FROM facts WHERE {where} AND id IN ({marks})", [*params, *ids]
        ).fetchall()
        found = {f.id: f for f in self._facts_from_rows(rows)}
        return [found[i] for i in ids if i in found]

    def live_facts(
        self, scope: Scope, subject: str | None = None, relation: str | None = None
    ) -> list[FactRecord]:
        """Facts neither expired nor invalidated, optionally for one subject and relation."""
        where, params = _scope_sql(scope)
        sql = f"SELECT * FROM facts WHERE {where} AND t_expired IS NULL AND t_invalid IS NULL"
        if subject is not None:
            sql += " AND subject = ?"
            params.append(subject)
        if relation is not None:
            sql += " AND relation = ?"
            params.append(relation)
        rows = self.pool.conn.execute(sql + " ORDER BY t_valid, pk", params).fetchall()
        return self._facts_from_rows(rows)

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
        with self.pool.write() as conn:
            conn.execute(
                "UPDATE facts SET t_invalid = COALESCE(?, t_invalid), "
                "t_expired = COALESCE(?, t_expired), "
                "superseded_by = COALESCE(?, superseded_by) WHERE id = ? AND tenant_id = ?",
                (
                    enc_time_opt(t_invalid),
                    enc_time_opt(t_expired),
                    superseded_by,
                    fact_id,
                    tenant_id,
                ),
            )

    def restore_superseded(self, tenant_id: int) -> int:
        """Facts whose superseding fact was deleted: close them by the next live fact of
        the same subject and relation, or make them current again; returns how many."""
        with self.pool.write() as conn:
            orphans = conn.execute(
                "SELECT pk, user_id, session_id, subject, relation, t_valid FROM facts a "
                "WHERE a.tenant_id = ? AND a.t_expired IS NULL AND a.superseded_by IS NOT NULL "
                "AND NOT EXISTS (SELECT 1 FROM facts s WHERE s.id = a.superseded_by)",
                (tenant_id,),
            ).fetchall()
            for row in orphans:
                successor = conn.execute(
                    "SELECT id, t_valid FROM facts WHERE tenant_id = ? AND user_id = ? "
                    "AND (user_id != '' OR session_id = ?) AND subject = ? AND relation = ? "
                    "AND t_expired IS NULL AND pk > ? AND t_valid >= ? "
                    "ORDER BY t_valid, pk LIMIT 1",
                    (
                        tenant_id,
                        row["user_id"],
                        row["session_id"],
                        row["subject"],
                        row["relation"],
                        row["pk"],
                        row["t_valid"],
                    ),
                ).fetchone()
                conn.execute(
                    "UPDATE facts SET superseded_by = ?, t_invalid = ? WHERE pk = ?",
                    (
                        successor["id"] if successor else None,
                        successor["t_valid"] if successor else None,
                        row["pk"],
                    ),
                )
            return len(orphans)

    # -- foresight ---------------------------------------------------------------------

    def insert_foresight(self, item: ForesightRecord) -> ForesightRecord:
        with self.pool.write() as conn:
            row = foresight_row(item, CODEC)
            cur = conn.execute(CODEC.insert("foresight", row), list(row.values()))
            item.pk = int(cur.lastrowid or 0)
            conn.executemany(
                "INSERT OR IGNORE INTO foresight_sources (foresight_pk, turn_pk) VALUES (?, ?)",
                [(item.pk, t) for t in item.source_turn_pks],
            )
        return item

    def live_foresight(self, scope: Scope, now: datetime) -> list[ForesightRecord]:
        where, params = _scope_sql(scope)
        rows = self.pool.conn.execute(
            f"SELECT * FROM foresight WHERE {where} AND (expires_at IS NULL OR expires_at > ?) "
            "ORDER BY COALESCE(due_at, created_at), pk",
            [*params, enc_time(now)],
        ).fetchall()
        return [foresight_record(r, CODEC) for r in rows]

    # -- portrait and panels -----------------------------------------------------------

    def put_portrait(
        self, tenant_id: int, user_id: str, data: dict[str, Any], now: datetime
    ) -> None:
        with self.pool.write() as conn:
            if data:
                conn.execute(
                    portrait_upsert(CODEC), (tenant_id, user_id, enc_json(data), enc_time(now))
                )
            else:
                conn.execute(
                    "DELETE FROM portraits WHERE tenant_id = ? AND user_id = ?",
                    (tenant_id, user_id),
                )

    def get_portrait(self, tenant_id: int, user_id: str) -> dict[str, Any] | None:
        row = self.pool.conn.execute(
            "SELECT data FROM portraits WHERE tenant_id = ? AND user_id = ?", (tenant_id, user_id)
        ).fetchone()
        return dec_json(row[0]) if row else None

    def replace_panels(self, tenant_id: int, user_id: str, panels: Sequence[PanelRecord]) -> int:
        with self.pool.write() as conn:
            conn.execute(
                "DELETE FROM panels WHERE tenant_id = ? AND user_id = ?", (tenant_id, user_id)
            )
            rows = [panel_row(tenant_id, user_id, p, CODEC) for p in panels]
            if rows:
                conn.executemany(CODEC.insert("panels", rows[0]), [list(r.values()) for r in rows])
        return len(panels)

    def get_panels(self, tenant_id: int, user_id: str) -> list[PanelRecord]:
        rows = self.pool.conn.execute(
            "SELECT * FROM panels WHERE tenant_id = ? AND user_id = ? ORDER BY updated_at DESC, pk",
            (tenant_id, user_id),
        ).fetchall()
        return [panel_record(r, CODEC) for r in rows]

    # -- retrieval ---------------------------------------------------------------------

    def _ranked(
        self,
        snap: Snapshot,
        found: tuple[npt.NDArray[np.int32], npt.NDArray[np.float64]],
        mask: npt.NDArray[np.bool_] | None,
        limit: int,
    ) -> list[tuple[str, float]]:
        """The best `limit` of the found rows (indexes, scores) that the mask allows."""
        rows, scores = found
        if mask is not None and len(rows):
            keep = mask[rows]
            rows, scores = rows[keep], scores[keep]
        return [(snap.ids[rows[i]], float(scores[i])) for i in top_k(scores, None, limit)]

    def _allowed_mask(
        self, table: str, snap: Snapshot, scope: Scope, filters: Sequence[FilterSpec]
    ) -> npt.NDArray[np.bool_] | None:
        allowed = self._allowed(table, scope, filters)
        if allowed is None:
            return None
        ids = snap.ids
        return np.fromiter((ids[i] in allowed for i in range(snap.size)), bool, snap.size)

    def _episode_mask(
        self, snap: Snapshot, scope: Scope, kinds: Sequence[str], filters: Sequence[FilterSpec]
    ) -> npt.NDArray[np.bool_]:
        mask = np.isin(snap.extra[:, 0], [_EPISODE_KIND_CODES[k] for k in kinds])
        allowed = self._allowed_mask("episodes", snap, scope, filters)
        return mask if allowed is None else mask & allowed

    def _fact_mask(
        self,
        snap: Snapshot,
        scope: Scope,
        travel: TimeTravel,
        filters: Sequence[FilterSpec],
        now: datetime,
    ) -> npt.NDArray[np.bool_]:
        extra = snap.extra
        as_of = (travel.as_of or now).timestamp()
        known = (travel.known_as_of or now).timestamp()
        mask = (
            (extra[:, 0] <= as_of)
            & (extra[:, 1] > as_of)
            & (extra[:, 2] <= known)
            & (extra[:, 3] > known)
        )
        allowed = self._allowed_mask("facts", snap, scope, filters)
        return mask if allowed is None else mask & allowed

    def _lexical(
        self, snap: Snapshot, terms: Sequence[str]
    ) -> tuple[npt.NDArray[np.int32], npt.NDArray[np.float64]]:
        assert snap.lexical is not None
        return snap.lexical.score(terms)

    def lexical_episodes(
        self,
        scope: Scope,
        terms: Sequence[str],
        kinds: Sequence[str],
        filters: Sequence[FilterSpec],
        limit: int,
    ) -> list[tuple[str, float]]:
        """Episodes of the kinds matching any term, best BM25 (over the scope) first."""
        snap = self.dense.snapshot(self.pool.conn, _EPISODE_DENSE, scope)
        found = self._lexical(snap, terms)
        if not len(found[0]):
            return []
        return self._ranked(snap, found, self._episode_mask(snap, scope, kinds, filters), limit)

    def lexical_facts(
        self,
        scope: Scope,
        terms: Sequence[str],
        travel: TimeTravel,
        filters: Sequence[FilterSpec],
        now: datetime,
        limit: int,
    ) -> list[tuple[str, float]]:
        """Facts believed and valid at the travel times matching any term, best first."""
        snap = self.dense.snapshot(self.pool.conn, _FACT_DENSE, scope)
        found = self._lexical(snap, terms)
        if not len(found[0]):
            return []
        mask = self._fact_mask(snap, scope, travel, filters, now)
        return self._ranked(snap, found, mask, limit)

    def lexical_turns(
        self, scope: Scope, terms: Sequence[str], limit: int
    ) -> list[tuple[int, float]]:
        """Turns matching the terms, best first, as (turn pk, score)."""
        snap = self.dense.snapshot(self.pool.conn, _TURN_DENSE, scope)
        return [
            (int(i), score)
            for i, score in self._ranked(snap, self._lexical(snap, terms), None, limit)
        ]

    def dense_turns(self, scope: Scope, query: Vector, limit: int) -> list[tuple[int, float]]:
        """Turns nearest the query vector, as (turn pk, cosine)."""
        snap = self.dense.snapshot(self.pool.conn, _TURN_DENSE, scope)
        return [
            (int(snap.ids[i]), score) for i, score in snap.nearest(query, snap.has_vector, limit)
        ]

    def episodes_of_turns(
        self, scope: Scope, turn_pks: Sequence[int], kinds: Sequence[str]
    ) -> dict[int, list[str]]:
        """For each turn, the ids of the episodes (of the given kinds) built from it."""
        if not turn_pks:
            return {}
        where, params = _scope_sql(scope, "e")
        tmarks = ", ".join("?" for _ in turn_pks)
        kmarks = ", ".join("?" for _ in kinds)
        out: dict[int, list[str]] = {}
        for row in self.pool.conn.execute(
            # CROSS JOIN pins the order: from the few given turns to their episodes. Left to
            # itself the planner walked the whole scope's episodes (100 ms at 10k notes).
            "SELECT s.turn_pk, e.id FROM episode_sources s CROSS JOIN episodes e "
            "ON e.pk = s.episode_pk "
            f"WHERE s.turn_pk IN ({tmarks}) AND {where} AND e.kind IN ({kmarks})",
            [*turn_pks, *params, *kinds],
        ):
            out.setdefault(int(row[0]), []).append(str(row[1]))
        return out

    def turn_vectors(self, turn_pks: Sequence[int]) -> dict[int, Vector]:
        if not turn_pks:
            return {}
        marks = ", ".join("?" for _ in turn_pks)
        out: dict[int, Vector] = {}
        for row in self.pool.conn.execute(
            f"SELECT pk, embedding FROM turns WHERE pk IN ({marks}) AND embedding IS NOT NULL",
            list(turn_pks),
        ):
            vec = dec_vec(row[1])
            if vec is not None:
                out[int(row[0])] = vec
        return out

    def turn_neighbors(self, pks: Sequence[int], max_gap: timedelta) -> dict[int, list[int]]:
        if not pks:
            return {}
        marks = ", ".join("?" for _ in pks)
        same = "t.tenant_id = b.tenant_id AND t.user_id = b.user_id AND t.session_id = b.session_id"
        rows = self.pool.conn.execute(
            "SELECT x.pk, x.event_time, p.pk, p.event_time, n.pk, n.event_time FROM ("
            "SELECT b.pk, b.event_time, "
            f"(SELECT t.pk FROM turns t WHERE {same} AND (t.event_time, t.pk) < (b.event_time, b.pk) "
            "ORDER BY t.event_time DESC, t.pk DESC LIMIT 1) AS prev, "
            f"(SELECT t.pk FROM turns t WHERE {same} AND (t.event_time, t.pk) > (b.event_time, b.pk) "
            "ORDER BY t.event_time, t.pk LIMIT 1) AS next "
            f"FROM turns b WHERE b.pk IN ({marks})) x "
            "LEFT JOIN turns p ON p.pk = x.prev LEFT JOIN turns n ON n.pk = x.next",
            list(pks),
        ).fetchall()
        out: dict[int, list[int]] = {}
        for pk, when, *around in rows:
            said = dec_time(when)
            out[int(pk)] = [
                int(other)
                for other, other_time in zip(around[::2], around[1::2], strict=True)
                if other is not None and abs(dec_time(other_time) - said) <= max_gap
            ]
        return out

    def _allowed(self, table: str, scope: Scope, filters: Sequence[FilterSpec]) -> set[str] | None:
        if not filters:
            return None
        where, params = _scope_sql(scope, "x")
        fsql, fparams = _filter_sql(filters, "x")
        rows = self.pool.conn.execute(
            f"SELECT x.id FROM {table} x WHERE {where} AND {fsql}", [*params, *fparams]
        ).fetchall()
        return {str(r[0]) for r in rows}

    def dense_episodes(
        self,
        scope: Scope,
        query: Vector,
        kinds: Sequence[str],
        filters: Sequence[FilterSpec],
        limit: int,
    ) -> list[tuple[str, float]]:
        snap = self.dense.snapshot(self.pool.conn, _EPISODE_DENSE, scope)
        if not snap.size:
            return []
        mask = self._episode_mask(snap, scope, kinds, filters)
        if snap.has_vector is not None:
            mask &= snap.has_vector
        return [(snap.ids[i], score) for i, score in snap.nearest(query, mask, limit)]

    def dense_facts(
        self,
        scope: Scope,
        query: Vector,
        travel: TimeTravel,
        filters: Sequence[FilterSpec],
        now: datetime,
        limit: int,
    ) -> list[tuple[str, float]]:
        snap = self.dense.snapshot(self.pool.conn, _FACT_DENSE, scope)
        if not snap.size:
            return []
        mask = self._fact_mask(snap, scope, travel, filters, now)
        if snap.has_vector is not None:
            mask &= snap.has_vector
        return [(snap.ids[i], score) for i, score in snap.nearest(query, mask, limit)]

    # -- listing -----------------------------------------------------------------------

    def list_items(self, scope: Scope, cursor: ListCursor | None, limit: int) -> list[ListedItem]:
        """Episodes and believed facts, newest first, strictly after the cursor."""
        ewhere, eparams = _scope_sql(scope)
        fwhere, fparams = _scope_sql(scope)
        sql = (
            "SELECT * FROM ("
            f"SELECT 'episode' AS kind, id, created_at FROM episodes WHERE {ewhere} "
            "UNION ALL "
            f"SELECT 'fact' AS kind, id, created_at FROM facts WHERE {fwhere} "
            "AND t_expired IS NULL)"
        )
        params: list[Any] = [*eparams, *fparams]
        if cursor is not None:
            sql += " WHERE (created_at, id) < (?, ?)"
            params.extend([enc_time(cursor.created_at), cursor.item_id])
        sql += " ORDER BY created_at DESC, id DESC LIMIT ?"
        params.append(limit)
        rows = self.pool.conn.execute(sql, params).fetchall()
        return [ListedItem(r["kind"], str(r["id"]), dec_time(r["created_at"])) for r in rows]

    # -- forgetting --------------------------------------------------------------------

    def delete_episode(self, ep: EpisodeRecord) -> ForgetCounts:
        """Delete an episode with its foresight and the facts drawn from it alone."""
        assert ep.pk is not None
        counts = ForgetCounts(episodes=1)
        with self.pool.write() as conn:
            counts.foresight = conn.execute(
                "DELETE FROM foresight WHERE episode_pk = ?", (ep.pk,)
            ).rowcount
            counts.facts = conn.execute(
                "DELETE FROM facts WHERE tenant_id = ? AND episode_id = ?", (ep.tenant_id, ep.id)
            ).rowcount
            conn.execute("DELETE FROM episodes WHERE pk = ?", (ep.pk,))
        return counts

    def delete_fact(self, fact: FactRecord) -> ForgetCounts:
        with self.pool.write() as conn:
            conn.execute("DELETE FROM facts WHERE pk = ?", (fact.pk,))
        return ForgetCounts(facts=1)

    def delete_turn_rows(self, tenant_id: int, turn_pks: Sequence[int]) -> int:
        """Delete turns and the facts and foresight drawn only from them."""
        if not turn_pks:
            return 0
        marks = ", ".join("?" for _ in turn_pks)
        with self.pool.write() as conn:
            gone = conn.execute(f"DELETE FROM turns WHERE pk IN ({marks})", list(turn_pks)).rowcount
            conn.execute(f"DELETE FROM episode_sources WHERE turn_pk IN ({marks})", list(turn_pks))
            return gone

    def delete_orphans_of_turns(self, tenant_id: int, turn_pks: Sequence[int]) -> ForgetCounts:
        """Remove facts and foresight whose every source turn is among `turn_pks`."""
        counts = ForgetCounts()
        if not turn_pks:
            return counts
        marks = ", ".join("?" for _ in turn_pks)
        with self.pool.write() as conn:
            for table, key, src, field_name in (
                ("facts", "fact_pk", "fact_sources", "facts"),
                ("foresight", "foresight_pk", "foresight_sources", "foresight"),
            ):
                doomed = [
                    int(r[0])
                    for r in conn.execute(
                        f"SELECT {key} FROM {src} WHERE turn_pk IN ({marks}) GROUP BY {key} "
                        f"HAVING (SELECT count(*) FROM {src} s2 WHERE s2.{key} = {src}.{key} "
                        f"AND s2.turn_pk NOT IN ({marks})) = 0",
                        [*turn_pks, *turn_pks],
                    )
                ]
                if doomed:
                    dmarks = ", ".join("?" for _ in doomed)
                    deleted = conn.execute(
                        f"DELETE FROM {table} WHERE pk IN ({dmarks})", doomed
                    ).rowcount
                    setattr(counts, field_name, deleted)
                conn.execute(f"DELETE FROM {src} WHERE turn_pk IN ({marks})", list(turn_pks))
        return counts

    def users_in_scope(self, scope: Scope) -> list[str]:
        where, params = _scope_sql(scope)
        rows = self.pool.conn.execute(
            f"SELECT user_id FROM episodes WHERE {where} "
            f"UNION SELECT user_id FROM facts WHERE {where}",
            [*params, *params],
        ).fetchall()
        return sorted(str(r[0]) for r in rows if r[0])

    def wipe(self, scope: Scope) -> int:
        """Delete every row of the scope from every table; returns the number of rows."""
        where, params = _scope_sql(scope)
        total = 0
        with self.pool.write() as conn:
            for table in ("foresight", "facts", "episodes", "turns", "jobs"):
                total += conn.execute(f"DELETE FROM {table} WHERE {where}", params).rowcount
            if scope.session_id is None and scope.user_id is not None:
                for table in ("portraits", "panels"):
                    total += conn.execute(
                        f"DELETE FROM {table} WHERE tenant_id = ? AND user_id = ?",
                        (scope.tenant_id, scope.user_id),
                    ).rowcount
        return total

    # -- jobs --------------------------------------------------------------------------

    def enqueue_job(self, scope: Scope, kind: str, now: datetime) -> tuple[JobRecord, bool]:
        """Queue a job unless one is already queued for the same scope and kind."""
        args = (scope.tenant_id, kind, enc_label(scope.user_id), enc_label(scope.session_id))
        with self.pool.write() as conn:
            row = conn.execute(
                "SELECT * FROM jobs WHERE tenant_id = ? AND kind = ? AND user_id = ? "
                "AND session_id = ? AND status = 'queued' ORDER BY pk LIMIT 1",
                args,
            ).fetchone()
            if row:
                return job_record(row, CODEC), False
            stamp = enc_time(now)
            cur = conn.execute(
                "INSERT INTO jobs (tenant_id, kind, user_id, session_id, status, created_at, "
                "updated_at) VALUES (?, ?, ?, ?, 'queued', ?, ?)",
                (*args, stamp, stamp),
            )
            row = conn.execute("SELECT * FROM jobs WHERE pk = ?", (cur.lastrowid,)).fetchone()
            return job_record(row, CODEC), True

    def get_job(self, tenant_id: int, pk: int) -> JobRecord | None:
        row = self.pool.conn.execute(
            "SELECT * FROM jobs WHERE pk = ? AND tenant_id = ?", (pk, tenant_id)
        ).fetchone()
        return job_record(row, CODEC) if row else None

    def claim_job(self, now: datetime, lease: timedelta) -> JobRecord | None:
        """Take the oldest queued job, or one whose lease ran out, and lease it."""
        stamp = enc_time(now)
        with self.pool.write() as conn:
            row = conn.execute(
                "SELECT pk FROM jobs WHERE status = 'queued' OR "
                "(status = 'running' AND lease_until < ?) ORDER BY pk LIMIT 1",
                (stamp,),
            ).fetchone()
            if row is None:
                return None
            conn.execute(
                "UPDATE jobs SET status = 'running', attempts = attempts + 1, lease_until = ?, "
                "updated_at = ? WHERE pk = ?",
                (enc_time(now + lease), stamp, row[0]),
            )
            claimed = conn.execute("SELECT * FROM jobs WHERE pk = ?", (row[0],)).fetchone()
            return job_record(claimed, CODEC)

    def renew_job_lease(self, pk: int, attempts: int, now: datetime, lease: timedelta) -> bool:
        """Extend the lease of a job still running in the same attempt (the heartbeat)."""
        with self.pool.write() as conn:
            return (
                conn.execute(
                    "UPDATE jobs SET lease_until = ? "
                    "WHERE pk = ? AND status = 'running' AND attempts = ?",
                    (enc_time(now + lease), pk, attempts),
                ).rowcount
                > 0
            )

    def finish_job(self, pk: int, status: str, error: str | None, now: datetime) -> None:
        with self.pool.write() as conn:
            conn.execute(
                "UPDATE jobs SET status = ?, error = ?, lease_until = NULL, updated_at = ? "
                "WHERE pk = ?",
                (status, error, enc_time(now), pk),
            )

    def recover_interrupted_jobs(self, now: datetime) -> int:
        """Requeue jobs left running by a process that died.

        The embedded store has exactly one worker (inside the one service process), so at
        start-up every running job is an orphan of a previous process.
        """
        with self.pool.write() as conn:
            return conn.execute(
                "UPDATE jobs SET status = 'queued', lease_until = NULL, updated_at = ? "
                "WHERE status = 'running'",
                (enc_time(now),),
            ).rowcount

    def scopes_with_pending_turns(self) -> list[Scope]:
        rows = self.pool.conn.execute(
            "SELECT DISTINCT tenant_id, user_id, session_id FROM turns "
            "WHERE consolidated = 0 AND infer = 1"
        ).fetchall()
        return [Scope(int(r[0]), dec_label(r[1]), dec_label(r[2])) for r in rows]

    # -- the console's reads ------------------------------------------------------------

    def find_key_by_prefix(self, prefix: str) -> tuple[ApiKeyRecord, str] | None:
        row = self.pool.conn.execute(
            "SELECT k.*, t.name FROM api_keys k JOIN tenants t ON t.id = k.tenant_id "
            "WHERE k.prefix = ?",
            (prefix,),
        ).fetchone()
        return (key_record(row, CODEC), str(row["key_hash"])) if row else None

    def scope_summaries(
        self, tenant_id: int, user_id: str | None, limit: int
    ) -> list[ScopeSummary]:
        """Each (user, session) of the tenant with its counts, most recently active first."""
        where = "tenant_id = ?" + (" AND user_id = ?" if user_id is not None else "")
        args: list[Any] = [tenant_id] + ([user_id] if user_id is not None else [])
        union = " UNION ALL ".join(
            f"SELECT user_id, session_id, {table == 'turns':d} AS t, {table == 'episodes':d} AS e, "
            f"{table == 'facts':d} AS f, {table == 'foresight':d} AS o, created_at FROM {table} "
            f"WHERE {where}" + (" AND t_expired IS NULL" if table == "facts" else "")
            for table in SUMMARY_TABLES
        )
        rows = self.pool.conn.execute(
            "SELECT user_id, session_id, sum(t) AS turns, sum(e) AS episodes, sum(f) AS facts, "
            f"sum(o) AS foresight, max(created_at) AS last FROM ({union}) "
            "GROUP BY user_id, session_id ORDER BY last DESC, user_id, session_id LIMIT ?",
            [*args * len(SUMMARY_TABLES), limit],
        ).fetchall()
        return [
            ScopeSummary(
                dec_label(r["user_id"]),
                dec_label(r["session_id"]),
                int(r["turns"]),
                int(r["episodes"]),
                int(r["facts"]),
                int(r["foresight"]),
                CODEC.dec_time_opt(r["last"]),
            )
            for r in rows
        ]

    def recent_jobs(self, tenant_id: int, limit: int) -> list[JobRecord]:
        rows = self.pool.conn.execute(
            "SELECT * FROM jobs WHERE tenant_id = ? ORDER BY pk DESC LIMIT ?", (tenant_id, limit)
        ).fetchall()
        return [job_record(r, CODEC) for r in rows]

    def fact_history(
        self, scope: Scope, travel: TimeTravel | None, now: datetime, limit: int
    ) -> list[FactRecord]:
        """The scope's facts, superseded ones too, newest belief first; with `travel`, only
        those valid at its `as_of` and believed at its `known_as_of` (each default: now)."""
        where, params = _scope_sql(scope)
        if travel is not None:
            as_of, known = enc_time(travel.as_of or now), enc_time(travel.known_as_of or now)
            where += (
                " AND t_valid <= ? AND (t_invalid IS NULL OR t_invalid > ?)"
                " AND t_created <= ? AND (t_expired IS NULL OR t_expired > ?)"
            )
            params += [as_of, as_of, known, known]
        rows = self.pool.conn.execute(
            f"SELECT * FROM facts WHERE {where} ORDER BY t_created DESC, pk DESC LIMIT ?",
            [*params, limit],
        ).fetchall()
        return self._facts_from_rows(rows)

    # -- export and import (the format lives in store/portable.py) -----------------------

    def export_rows(self, tenant: str | None, user_id: str | None) -> Iterator[dict[str, Any]]:
        return portable.export_rows(self, tenant, user_id)

    def import_rows(self, rows: Iterable[dict[str, Any]]) -> dict[str, int]:
        return portable.import_rows(self, rows)

    def export_tenants(self) -> list[tuple[int, str, datetime]]:
        rows = self.pool.conn.execute(
            "SELECT id, name, created_at FROM tenants ORDER BY id"
        ).fetchall()
        return [(int(r["id"]), str(r["name"]), dec_time(r["created_at"])) for r in rows]

    def _export_chunks(
        self, table: str, tenant_id: int, user_id: str | None
    ) -> Iterator[list[sqlite3.Row]]:
        """A tenant's (or one user's) rows of a table in primary-key order, in chunks."""
        after = 0
        user_sql = " AND user_id = ?" if user_id is not None else ""
        while True:
            rows = self.pool.conn.execute(
                f"SELECT * FROM {table} WHERE tenant_id = ?{user_sql} AND pk > ? ORDER BY pk LIMIT 1000",
                [tenant_id, *([user_id] if user_id is not None else []), after],
            ).fetchall()
            if not rows:
                return
            yield rows
            after = int(rows[-1]["pk"])

    def export_turns(self, tenant_id: int, user_id: str | None) -> Iterator[TurnRecord]:
        for rows in self._export_chunks("turns", tenant_id, user_id):
            yield from (turn_record(r, CODEC) for r in rows)

    def export_episodes(self, tenant_id: int, user_id: str | None) -> Iterator[EpisodeRecord]:
        for rows in self._export_chunks("episodes", tenant_id, user_id):
            yield from self._episodes_from_rows(rows)

    def export_facts(self, tenant_id: int, user_id: str | None) -> Iterator[FactRecord]:
        for rows in self._export_chunks("facts", tenant_id, user_id):
            yield from self._facts_from_rows(rows)

    def export_foresight(self, tenant_id: int, user_id: str | None) -> Iterator[ForesightRecord]:
        for rows in self._export_chunks("foresight", tenant_id, user_id):
            marks = ", ".join("?" for _ in rows)
            sources: dict[int, list[int]] = {int(r["pk"]): [] for r in rows}
            for src in self.pool.conn.execute(
                "SELECT s.foresight_pk, s.turn_pk FROM foresight_sources s JOIN turns t "
                f"ON t.pk = s.turn_pk WHERE s.foresight_pk IN ({marks}) ORDER BY t.event_time, t.pk",
                [int(r["pk"]) for r in rows],
            ):
                sources[int(src[0])].append(int(src[1]))
            yield from (foresight_record(r, CODEC, sources[int(r["pk"])]) for r in rows)

    def export_portraits(
        self, tenant_id: int, user_id: str | None
    ) -> Iterator[tuple[str, dict[str, Any], datetime]]:
        user_sql = " AND user_id = ?" if user_id is not None else ""
        rows = self.pool.conn.execute(
            f"SELECT user_id, data, updated_at FROM portraits WHERE tenant_id = ?{user_sql} "
            "ORDER BY user_id",
            [tenant_id, *([user_id] if user_id is not None else [])],
        ).fetchall()
        for r in rows:
            yield str(r["user_id"]), dec_json(r["data"]), dec_time(r["updated_at"])

    def export_panels(self, tenant_id: int, user_id: str | None) -> Iterator[PanelRecord]:
        for rows in self._export_chunks("panels", tenant_id, user_id):
            yield from (panel_record(r, CODEC) for r in rows)

    def item_owners(self, table: str, ids: Sequence[str]) -> dict[str, tuple[int, int]]:
        """(tenant_id, pk) of the episodes, facts or foresight items that exist, by id."""
        assert table in ("episodes", "facts", "foresight")
        if not ids:
            return {}
        marks = ", ".join("?" for _ in ids)
        rows = self.pool.conn.execute(
            f"SELECT id, tenant_id, pk FROM {table} WHERE id IN ({marks})", list(ids)
        ).fetchall()
        return {str(r[0]): (int(r[1]), int(r[2])) for r in rows}
