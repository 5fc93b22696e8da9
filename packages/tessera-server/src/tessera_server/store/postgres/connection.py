"""PostgreSQL connections: a psycopg pool, transactions that nest, versioned migrations.

Pooled connections run in autocommit; a statement outside `write()` commits on its own,
and `write()` opens a transaction on the calling thread's connection that nested calls
join (the same contract as the embedded store). Several processes may start at once on a
new database: migrations run under an advisory lock, so exactly one applies them.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from typing import Any

import psycopg
from psycopg.rows import DictRow, dict_row
from psycopg_pool import ConnectionPool

from ..sql.migrations import apply_pending, bundled
from . import adapt

log = logging.getLogger("tessera.store.postgres")

MIGRATIONS_PACKAGE = "tessera_server.store.postgres.migrations"
MIGRATION_LOCK = 0x7E55E7A  # pg_advisory_lock key held while migrating
Conn = psycopg.Connection[DictRow]


def migrations(dim: int) -> list[tuple[int, str, str]]:
    """(version, name, sql) of every bundled migration, in order, for vectors of `dim`."""
    return bundled(MIGRATIONS_PACKAGE, {"dim": str(int(dim))})


class Database:
    """A lazily opened pool plus the thread-local transaction state."""

    def __init__(self, url: str, dim: int, *, pool_size: int = 10, timeout: float = 30.0) -> None:
        self.url = url
        self.dim = dim
        self.pool_size = max(1, pool_size)
        self.timeout = timeout
        self._pool: ConnectionPool[Conn] | None = None
        self._pool_lock = threading.Lock()
        self._local = threading.local()

    # -- pool ----------------------------------------------------------------------------

    def _configure(self, conn: Conn) -> None:
        conn.execute("SET TIME ZONE 'UTC'")
        adapt.register(conn)

    @property
    def pool(self) -> ConnectionPool[Conn]:
        pool = self._pool
        if pool is None:
            with self._pool_lock:
                pool = self._pool
                if pool is None:
                    pool = ConnectionPool(
                        self.url,
                        connection_class=Conn,
                        kwargs={"autocommit": True, "row_factory": dict_row},
                        min_size=1,
                        max_size=self.pool_size,
                        open=False,
                        configure=self._configure,
                        timeout=self.timeout,
                        name="tessera",
                    )
                    pool.open()  # connects in the background; callers wait up to `timeout`
                    self._pool = pool
        return pool

    def reset_pool(self) -> None:
        """Close the pool (new connections pick up types created since, e.g. `vector`)."""
        with self._pool_lock:
            pool, self._pool = self._pool, None
        if pool is not None:
            pool.close()

    def close(self) -> None:
        self.reset_pool()
        self._local = threading.local()

    # -- connections and transactions ------------------------------------------------------

    @property
    def active(self) -> Conn | None:
        conn: Conn | None = getattr(self._local, "conn", None)
        return conn

    def read(self) -> AbstractContextManager[Conn]:
        """The thread's transaction connection, or a pooled one in autocommit."""
        return self._connection(transaction=False)

    def write(self) -> AbstractContextManager[Conn]:
        """A transaction; nested uses join the outer one."""
        return self._connection(transaction=True)

    @contextmanager
    def _connection(self, *, transaction: bool) -> Iterator[Conn]:
        conn = self.active
        if conn is not None:  # inside the thread's transaction: join it
            yield conn
            return
        with self.pool.connection() as fresh:
            if not transaction:
                yield fresh
                return
            self._local.conn = fresh
            try:
                with fresh.transaction():
                    yield fresh
            finally:
                self._local.conn = None

    # -- migrations ------------------------------------------------------------------------

    def migrate(self) -> list[str]:
        """Apply pending migrations, each in its own transaction; returns the names applied."""
        with psycopg.connect(self.url, autocommit=True) as conn:
            conn.execute("SELECT pg_advisory_lock(%s)", (MIGRATION_LOCK,))
            try:

                def in_transaction(script: str) -> None:
                    with conn.transaction():
                        conn.execute(script.encode("utf-8"))

                done = apply_pending(
                    conn,
                    migrations(self.dim),
                    in_transaction,
                    applied_at="timestamptz NOT NULL DEFAULT now()",
                )
                self._check_dimension(conn)
            finally:
                conn.execute("SELECT pg_advisory_unlock(%s)", (MIGRATION_LOCK,))
        if done:
            self.reset_pool()
        return done

    def _check_dimension(self, conn: psycopg.Connection[Any]) -> None:
        row = conn.execute(
            "SELECT atttypmod FROM pg_attribute WHERE attrelid = 'turns'::regclass "
            "AND attname = 'embedding'"
        ).fetchone()
        if row is not None and int(row[0]) != self.dim:
            raise RuntimeError(
                f"this database holds {row[0]}-dimensional vectors but the embedder makes "
                f"{self.dim}; use a database made for this embedder"
            )

    def schema_current(self) -> bool:
        with self.read() as conn:
            row = conn.execute("SELECT max(version) AS v FROM schema_migrations").fetchone()
        latest = max(version for version, _, _ in migrations(self.dim))
        return row is not None and row["v"] == latest

    def vector_version(self) -> tuple[int, ...]:
        with self.read() as conn:
            row = conn.execute(
                "SELECT extversion FROM pg_extension WHERE extname = 'vector'"
            ).fetchone()
        if row is None:
            return (0,)
        return tuple(int(p) for p in str(row["extversion"]).split(".") if p.isdigit())
