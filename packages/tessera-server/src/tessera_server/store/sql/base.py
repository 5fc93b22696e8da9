"""What the shared statements need from a backend: connections, a codec and lock hooks."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from typing import Any

from ...engine.records import Scope
from ..rows import Codec
from .filters import MetadataJson

# Columns of each aggregate's table that every backend has (PostgreSQL adds `meta` and `tsv`
# for its filters and full-text search).
TURN_COLUMNS = (
    "pk, tenant_id, user_id, session_id, turn_id, role, content, event_time, metadata, "
    "infer, consolidated, embedding, created_at"
)
EPISODE_COLUMNS = (
    "pk, id, tenant_id, user_id, session_id, kind, text, role, event_time, importance, "
    "metadata, pinned, attrs, embedding, created_at"
)
FACT_COLUMNS = (
    "pk, id, tenant_id, user_id, session_id, subject, relation, object, text, role, "
    "confidence, importance, functional, t_valid, t_invalid, t_created, t_expired, "
    "superseded_by, episode_id, metadata, embedding, created_at"
)
FORESIGHT_COLUMNS = (
    "pk, id, tenant_id, user_id, session_id, kind, content, due_at, expires_at, episode_pk, "
    "embedding, created_at"
)
PANEL_COLUMNS = "pk, tenant_id, user_id, level, summary, members, centroid, updated_at"
SUMMARY_TABLES = ("turns", "episodes", "facts", "foresight")
KEY_COLUMNS = (
    "k.id, k.tenant_id, t.name, k.prefix, k.read_only, k.created_at, k.revoked_at "
    "FROM api_keys k JOIN tenants t ON t.id = k.tenant_id"
)
JOB_COLUMNS = (
    "pk, tenant_id, kind, user_id, session_id, status, attempts, error, created_at, updated_at"
)


class SqlBase:
    """A backend's connections and hooks. Connections are DB-API-like: `execute(sql,
    params)` returns a cursor with `fetchone`, `fetchall` and `rowcount`; rows are read by
    column name."""

    backend: str
    dim: int
    codec: Codec
    metadata_json: MetadataJson  # how filters read a metadata key

    def _read(self) -> AbstractContextManager[Any]:
        """A connection to read with (joining the caller's transaction, if any)."""
        raise NotImplementedError

    def _write(self) -> AbstractContextManager[Any]:
        """A write transaction; nested uses join the outer one."""
        raise NotImplementedError

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """The engine's transaction: store calls inside it commit together."""
        with self._write():
            yield

    def _probe(self) -> AbstractContextManager[Any]:
        """A connection for the health check (`ping`)."""
        return self._read()

    def ping(self) -> bool:
        """Whether the database answers (the readiness probe); never raises."""
        try:
            with self._probe() as conn:
                conn.execute("SELECT 1").fetchone()
            return True
        except Exception:
            return False

    def _fetch(self, conn: Any, sql: str, params: Sequence[Any]) -> list[Any]:
        """All rows of a query that may return vectors."""
        return list(conn.execute(sql, params).fetchall())

    def _rows(self, sql: str, params: Sequence[Any]) -> list[Any]:
        """All rows of a read (vectors decoded as `_fetch` does)."""
        with self._read() as conn:
            return self._fetch(conn, sql, params)

    def _one(self, sql: str, params: Sequence[Any]) -> Any | None:
        """The first row of a read, or None."""
        with self._read() as conn:
            return conn.execute(sql, params).fetchone()

    def _execute_many(self, conn: Any, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        """One statement for many parameter rows."""
        conn.executemany(sql, rows)

    def _scope(
        self, scope: Scope, alias: str = "", *, by_id: bool = False
    ) -> tuple[str, list[Any]]:
        """The scope's WHERE clause; `by_id` when the query also names unique ids."""
        return self.codec.scope_sql(scope, alias)

    def _index(self, name: str) -> str:
        """A hint to read a table through the named index (SQLite's `INDEXED BY`), where the
        planner, without statistics, would walk a whole scope; nothing elsewhere."""
        return ""

    def _held(self, sql: str) -> str:
        """A read of rows the caller's transaction is about to rewrite (PostgreSQL locks them
        until it ends; SQLite's single writer already makes that atomic)."""
        return sql

    def _hold_owner(self, scope: Scope) -> None:
        """Inside a transaction, queue behind other writers of the scope's owner."""

    def _hold_turns(self, conn: Any, pks: list[int]) -> None:
        """Queue behind writers of these turns' owners (a consolidation holding them)."""

    def _hold_rows(self, conn: Any, table: str, where: str, params: Sequence[Any]) -> None:
        """Lock the rows `where` admits until the transaction ends (PostgreSQL)."""

    def _hold_name(self, conn: Any, *parts: object) -> None:
        """Serialise writers of one named thing (a user's panels, a scope's job queue)."""

    def _filter_columns(self, metadata: dict[str, Any]) -> dict[str, Any]:
        """Extra columns a backend derives from metadata for its filters."""
        return {}

    def _ordered_join(self) -> str:
        """A join the planner must take in the written order, from the few rows named on its
        left to their partners (SQLite's `CROSS JOIN`; a plain join where planners have
        statistics)."""
        return "JOIN"

    def _in(self, values: Sequence[Any]) -> str:
        """`(placeholders)` for an IN list of `values`."""
        return f"({self.codec.marks(len(values)) or 'NULL'})"  # IN (NULL) admits nothing
