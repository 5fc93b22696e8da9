"""The embedded store: everything in one SQLite file (WAL), text and vectors as columns.

Search runs on per-scope in-memory indexes (`dense.py`: vectors and BM25 postings) kept in
step with the file: the shared arms (`store/sql/search.py`) name the candidates, and this
backend ranks the index's rows under a mask of them (`search.py`). The FTS5 tables and
triggers of the first migrations are dropped by migration 5, so a write touches only the rows
and their b-tree indexes.
"""

from __future__ import annotations

import sqlite3
from contextlib import AbstractContextManager, nullcontext
from datetime import datetime
from pathlib import Path
from typing import Any

from ...engine.records import Scope
from ..sql.store import SqlStore
from . import changes
from .ann import ANN_MIN_ROWS
from .codec import CODEC, enc_time
from .connection import ConnectionPool, migrate
from .dense import MAX_CACHED_BYTES, DenseIndex
from .filters import METADATA_JSON
from .search import IndexedSearch


class SQLiteStore(IndexedSearch, SqlStore):
    """The store protocol on one SQLite file: the shared statements (`store/sql/`) on a
    connection per thread, plus SQLite's own search, job claiming and migrations."""

    backend = "sqlite"
    codec = CODEC
    metadata_json = METADATA_JSON

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
        # Lookups by unique id carry SQLite's unary `+` on the scope columns, which keeps the
        # planner off the scope index: walking the scope's rows instead (its choice without
        # statistics) cost 50 ms at 100k memories.
        return CODEC.scope_sql(scope, alias, "+" if by_id else "")

    def _index(self, name: str) -> str:
        return f"INDEXED BY {name} "

    def _ordered_join(self) -> str:
        return "CROSS JOIN"

    # -- lifecycle -----------------------------------------------------------------------

    def migrate(self) -> list[str]:
        return migrate(self.pool)

    def close(self) -> None:
        self.pool.close()

    def integrity_ok(self) -> bool:
        row = self.pool.conn.execute("PRAGMA integrity_check").fetchone()
        return bool(row and row[0] == "ok")

    # -- jobs --------------------------------------------------------------------------

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
