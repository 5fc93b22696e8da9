"""The embedded store: everything in one SQLite file (WAL), text and vectors as columns.

Search runs on per-scope in-memory indexes (`dense.py`: vectors and BM25 postings) kept in
step with the file. The FTS5 tables and triggers of the first migrations are dropped by
migration 5, so a write touches only the rows and their b-tree indexes.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager, nullcontext
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from .. import portable
from ..records import (
    FilterSpec,
    JobRecord,
    ListCursor,
    ListedItem,
    Scope,
    TimeTravel,
    Vector,
)
from ..rows import (
    job_record,
)
from ..sql.store import SqlStore
from . import changes
from .ann import ANN_MIN_ROWS
from .codec import CODEC, dec_time, enc_time
from .connection import ConnectionPool, migrate
from .dense import (
    MAX_CACHED_BYTES,
    DenseIndex,
    DenseTable,
    Snapshot,
    top_k,
)

NEVER = float("inf")
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


class SQLiteStore(SqlStore):
    """The store protocol on one SQLite file: the shared statements (`store/sql/`) on a
    connection per thread, plus SQLite's own search, job claiming and migrations."""

    backend = "sqlite"
    codec = CODEC

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

    # -- connections for the shared statements ------------------------------------------

    def _read(self) -> AbstractContextManager[sqlite3.Connection]:
        return nullcontext(self.pool.conn)

    def _write(self) -> AbstractContextManager[sqlite3.Connection]:
        return self.pool.write()

    def _scope(
        self, scope: Scope, alias: str = "", *, by_id: bool = False
    ) -> tuple[str, list[Any]]:
        return _scope_sql(scope, alias, by_scope=not by_id)

    def _index(self, name: str) -> str:
        return f"INDEXED BY {name} "

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
        # Time travel (`TimeTravel.windows`) over the index's fact-time columns, where an
        # absent end is stored as infinity.
        extra, columns = snap.extra, _FACT_DENSE.extra_columns
        mask = np.ones(len(extra), np.bool_)
        for w in travel.windows(now):
            at = w.at.timestamp()
            mask &= (extra[:, columns.index(w.start)] <= at) & (extra[:, columns.index(w.end)] > at)
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

    # -- jobs --------------------------------------------------------------------------

    def claim_job(
        self, now: datetime, lease: timedelta, served: Sequence[int] = ()
    ) -> JobRecord | None:
        """Lease the oldest claimable job of the tenant served least recently."""
        stamp = enc_time(now)
        turn = " ".join(f"WHEN ? THEN {n}" for n in range(1, len(served) + 1))
        with self.pool.write() as conn:
            row = conn.execute(
                "SELECT pk FROM jobs WHERE (status = 'queued' OR "
                "(status = 'running' AND lease_until < ?)) ORDER BY "
                f"{f'CASE tenant_id {turn} ELSE 0 END, ' if served else ''}created_at, pk LIMIT 1",
                (stamp, *served),
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

    # -- export and import (the format lives in store/portable.py) -----------------------

    def export_rows(self, tenant: str | None, user_id: str | None) -> Iterator[dict[str, Any]]:
        return portable.export_rows(self, tenant, user_id)

    def import_rows(self, rows: Iterable[dict[str, Any]]) -> dict[str, int]:
        return portable.import_rows(self, rows)
