"""SQLite connections: one per thread, WAL mode, explicit write transactions, migrations.

Following SQLite's guidance on WAL: readers never block the writer and vice versa; writes
are serialised with BEGIN IMMEDIATE so a transaction never fails half-way on a lock
upgrade. `synchronous=FULL` makes a committed turn survive power loss, not only a crash.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from ..protocol import StoreBusy
from ..sql.migrations import apply_pending, bundled

MIGRATIONS_PACKAGE = "tessera_server.store.sqlite.migrations"

# How long a statement waits for another process's write lock before giving up. Writes in
# this service hold the lock for milliseconds (a batch commits in well under a second), so a
# lock held longer belongs to another process: a CLI import, a backup, a stuck tool. An HTTP
# caller is better served by a prompt 503 with Retry-After, which every SDK call retries,
# than by a request that hangs past its own timeout; a worker's job is requeued the same way.
BUSY_TIMEOUT_SECONDS = 5.0
# SQLite's primary result codes for "another connection holds the lock".
_BUSY_CODES = (5, 6)  # SQLITE_BUSY, SQLITE_LOCKED


def is_busy(exc: sqlite3.Error) -> bool:
    code = getattr(exc, "sqlite_errorcode", None)
    if code is not None:
        return (code & 0xFF) in _BUSY_CODES
    return isinstance(exc, sqlite3.OperationalError) and "locked" in str(exc)


class ConnectionPool:
    """Hands each thread its own connection to one database file.

    A connection lives as long as its thread. The request thread pool retires threads that
    sat idle and starts new ones when load returns, so opening a connection for a new thread
    first closes those of threads that have ended; otherwise every retired thread would leak
    an open database (two file descriptors and its page cache). Dropping the reference is not
    enough: a `sqlite3.Connection` sits in a reference cycle with its statement cache, so only
    a full garbage collection, which may not come for hours, would close it.
    """

    def __init__(
        self, path: Path, before_commit: Callable[[sqlite3.Connection], None] | None = None
    ) -> None:
        self.path = path
        # Runs in every write transaction just before it commits (the index log's settle).
        self.before_commit = before_commit
        path.parent.mkdir(parents=True, exist_ok=True)
        self._local = threading.local()
        self._all: dict[threading.Thread, sqlite3.Connection] = {}
        self._lock = threading.Lock()

    def _open(self) -> sqlite3.Connection:
        with self._lock:
            for thread, old in list(self._all.items()):
                if not thread.is_alive():
                    del self._all[thread]
                    old.close()
        conn = sqlite3.connect(
            self.path,
            isolation_level=None,
            check_same_thread=False,
            timeout=BUSY_TIMEOUT_SECONDS,
        )
        conn.row_factory = sqlite3.Row
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=FULL")
        conn.execute("PRAGMA foreign_keys=ON")
        conn.execute(f"PRAGMA busy_timeout={int(BUSY_TIMEOUT_SECONDS * 1000)}")
        with self._lock:
            self._all[threading.current_thread()] = conn
        return conn

    @property
    def conn(self) -> sqlite3.Connection:
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            conn = self._open()
            self._local.conn = conn
            self._local.depth = 0
        return conn

    @contextmanager
    def write(self) -> Iterator[sqlite3.Connection]:
        """A write transaction; nested uses join the outer one.

        A lock another process held past the busy timeout rolls the transaction back and
        surfaces as StoreBusy, the same answer PostgreSQL's conflicts give (503, retry)."""
        try:
            with self._write() as conn:
                yield conn
        except sqlite3.OperationalError as exc:
            if self._local.depth == 0 and is_busy(exc):
                raise StoreBusy("the database file is locked by another process") from exc
            raise

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        conn = self.conn
        depth: int = self._local.depth
        if depth == 0:
            conn.execute("BEGIN IMMEDIATE")
        self._local.depth = depth + 1
        try:
            yield conn
        except BaseException:
            self._local.depth = depth
            if depth == 0:
                conn.execute("ROLLBACK")
            raise
        self._local.depth = depth
        if depth == 0:
            try:
                if self.before_commit is not None:
                    self.before_commit(conn)
                conn.execute("COMMIT")
            except BaseException:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                raise

    def close(self) -> None:
        with self._lock:
            for conn in self._all.values():
                conn.close()
            self._all.clear()
        self._local = threading.local()


def migrations() -> list[tuple[int, str, str]]:
    """(version, name, sql) of every bundled migration, in order."""
    return bundled(MIGRATIONS_PACKAGE)


def migrate(pool: ConnectionPool) -> list[str]:
    """Apply pending migrations, each in its own transaction; returns the names applied.

    Migrations are plain ordered SQL files. A migration library would buy little here
    and the common ones split scripts on semicolons, which breaks FTS trigger bodies.
    """
    conn = pool.conn

    # executescript commits implicitly, so the script carries its own transaction.
    def run(script: str) -> None:
        conn.executescript(f"BEGIN IMMEDIATE;\n{script}\nCOMMIT;")

    return apply_pending(conn, migrations(), run, applied_at="TEXT NOT NULL")
