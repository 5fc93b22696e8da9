"""The scale-out store: PostgreSQL with pgvector (HNSW) and its own full-text search.

Same protocol and semantics as the embedded store; what differs is how concurrency is made
safe, because many API and worker processes share one database:

- a replayed turn is stored once by `INSERT ... ON CONFLICT DO NOTHING` on its scope key;
- jobs are claimed with `FOR UPDATE SKIP LOCKED` and leased; a job whose lease ran out is
  claimed again, so a killed worker's job is retried by another (running jobs are never
  requeued wholesale at start-up, since other workers may be running them);
- where SQLite relies on its single writer, locks make read-then-write sequences atomic.
  A transaction that reads episodes or facts to rewrite them (a procedure's outcome, a
  fact's correction, forgetting, consolidation, wipe) first takes a transaction-scoped
  advisory lock on their owner (the user, or the session of turns without a user), so
  writers of one user's memory queue as SQLite's writers do while other users' proceed in
  parallel; the rows it reads are locked (`FOR UPDATE`) until it ends. Wipe and forget also
  wait for a consolidation holding the turns, so nothing it adds escapes them; row locks on
  turns are taken in key order. Advisory locks also serialise enqueueing a job for a scope
  and replacing a user's panels.

Vector search is exact (like SQLite) while the rows a query may return number at most
`exact_max` — a per-user scope usually; past that it walks the HNSW index with pgvector's
iterative scans, so filters on scope, kind and validity still yield a full result (and an
index walk that comes back short is redone exactly).

Word search likewise starts from the scope while it holds at most `lexical_scan_max` rows: the
scope's btree index finds them and each one's stored `tsvector` is matched and ranked, so a
search within one user reads that user's rows, however many rows of the tenant share its
words. Past that it asks the table's GIN index (the postings of every row with the words).
Both read the same rows with the same `@@` and `ts_rank_cd`, so scores and order are the same.

A deadlock or serialization failure (SQLSTATE 40P01, 40001) rolls a transaction back. A store
call that is a transaction of its own is then run again, a few times with jittered backoff;
one inside the engine's `transaction()` cannot be replayed from here, so that block fails as a
whole with `StoreBusy` (a 503 with Retry-After at the API; a requeued job in a worker).
"""

from __future__ import annotations

import functools
import inspect
import logging
import random
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from datetime import datetime
from typing import Any, TypeVar

import psycopg

from ...engine.records import (
    Scope,
    Vector,
)
from ..protocol import StoreBusy
from ..rows import (
    Codec,
    dec_label,
    enc_label,
)
from ..sql.search import Candidates, Hit
from ..sql.store import SqlStore
from .adapt import enc_filter_doc
from .connection import Conn, Database
from .filters import METADATA_JSON

Row = dict[str, Any]
# psycopg adapts times, vectors and flags natively: only the placeholder differs.
CODEC = Codec(mark="%s")
log = logging.getLogger("tessera.store.postgres")

# Deadlock and serialization failure: the transaction was rolled back and may simply be
# run again (SQLSTATE class 40, "transaction rollback").
TRANSIENT_SQLSTATES = frozenset({"40001", "40P01"})

# Word search within a scope of at most this many rows reads the scope's rows (btree) and
# matches each one's tsvector; past it, the GIN index's postings (see the module docstring).
LEXICAL_SCAN_MAX = 2_000


def is_transient(exc: BaseException) -> bool:
    return isinstance(exc, psycopg.Error) and exc.sqlstate in TRANSIENT_SQLSTATES


def tsquery_sql(terms: Sequence[str]) -> tuple[str, list[str]]:
    """An OR of the terms, each parsed by `plainto_tsquery` so no input is query syntax."""
    kept = [t for t in terms[:64] if t.strip()]
    if not kept:
        return "''::tsquery", []
    return " || ".join("plainto_tsquery('english', %s)" for _ in kept), kept


def lexical_sql(table: str, key: str, where: str, query: str, *, scan_scope: bool) -> str:
    """The word search statement: the rows `where` admits that match `query`, best first.

    With `scan_scope` the scope's rows are read first (its btree index), at most a given
    number of them, and each one's tsvector is matched; MATERIALIZED fences them off, so the
    planner cannot start from the GIN postings of the whole table instead. Each row also
    carries `n`, how many rows were read (one row with a NULL key when none match): more than
    the cap means the scope is larger and nothing was ranked. Parameters: `where`'s, the cap
    plus one, the query's, the cap, the limit.

    Without it the planner is free to use the GIN index; parameters: the query's, `where`'s,
    the limit. Both rank by `ts_rank_cd` and break ties by pk: the same hits in the same order.
    """
    if scan_scope:
        return (
            f"WITH c AS MATERIALIZED (SELECT x.{key} AS key, x.pk, x.tsv FROM {table} x "
            f"WHERE {where} LIMIT %s), n AS (SELECT count(*) AS n FROM c) "
            "SELECT c.key, ts_rank_cd(c.tsv, q.q) AS rank, n.n FROM n LEFT JOIN "
            f"(c JOIN (SELECT {query} AS q) q ON c.tsv @@ q.q) ON n.n <= %s "
            "ORDER BY rank DESC, c.pk LIMIT %s"
        )
    return (
        f"SELECT x.{key} AS key, ts_rank_cd(x.tsv, q.q) AS rank "
        f"FROM {table} x, (SELECT {query} AS q) q "
        f"WHERE x.tsv @@ q.q AND {where} ORDER BY rank DESC, x.pk LIMIT %s"
    )


def _count_upto(conn: Conn, table: str, where: str, params: list[Any], cap: int) -> int:
    """How many rows `where` admits, counting no further than `cap` (a bounded index scan)."""
    counted = conn.execute(
        f"SELECT count(*) AS n FROM (SELECT 1 FROM {table} x WHERE {where} LIMIT %s) c",
        [*params, cap],
    ).fetchone()
    return int(counted["n"]) if counted else 0


def _lock_key(*parts: object) -> str:
    return ":".join(str(p) for p in parts)


def _owner_key(scope: Scope) -> str:
    """The advisory lock of whose memory a write touches (`Scope.owner`)."""
    owner = scope.owner()
    return _lock_key(
        "owner", owner.tenant_id, enc_label(owner.user_id), enc_label(owner.session_id)
    )


class PostgresStore(SqlStore):
    """The store protocol on a PostgreSQL database with the pgvector extension: the shared
    statements (`store/sql/`) with the locks many writers need, plus pgvector and full-text
    search, and job claiming with SKIP LOCKED."""

    backend = "postgres"
    codec = CODEC
    metadata_json = METADATA_JSON

    def __init__(
        self,
        url: str,
        dim: int,
        *,
        pool_size: int = 10,
        exact_max: int = 10_000,
        lexical_scan_max: int = LEXICAL_SCAN_MAX,
    ) -> None:
        self.db = Database(url, dim, pool_size=pool_size)
        self.dim = dim
        self.exact_max = exact_max
        self.lexical_scan_max = lexical_scan_max
        self.max_scan_tuples = 200_000
        self.iterative_scan = "relaxed_order"  # pgvector's hnsw.iterative_scan
        self.exact_fallbacks = 0  # approximate searches that had to be redone exactly
        # A store call that is its own transaction is run again after a deadlock or a
        # serialization failure, up to this many attempts in all, with jittered backoff.
        self.retry_attempts = 4
        self.retry_delay = 0.05
        self.transient_retries = 0  # how often that happened
        self._iterative: bool | None = None

    # -- lifecycle -----------------------------------------------------------------------

    def migrate(self) -> list[str]:
        return self.db.migrate()

    def _probe(self) -> AbstractContextManager[Conn]:
        return self.db.pool.connection(timeout=5.0)

    def close(self) -> None:
        self.db.close()

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """The engine's transaction. A deadlock or serialization failure inside it rolls the
        whole block back; the block cannot be re-run from here, so it surfaces as StoreBusy
        (the API answers 503 with Retry-After, a worker requeues its job)."""
        outermost = self.db.active is None
        try:
            with self.db.write():
                yield
        except psycopg.Error as exc:
            if outermost and is_transient(exc):
                raise StoreBusy(
                    f"the database rolled the transaction back ({exc.sqlstate})"
                ) from exc
            raise

    def integrity_ok(self) -> bool:
        try:
            return self.db.schema_current()
        except Exception:
            return False

    def _lock(self, conn: Conn, *keys: str) -> None:
        """Transaction-scoped advisory locks, taken in a fixed order (no deadlocks)."""
        for key in sorted(set(keys)):
            conn.execute("SELECT pg_advisory_xact_lock(hashtextextended(%s, 0))", (key,))

    def _lock_owners_of_turns(self, conn: Conn, pks: list[int]) -> None:
        """The owner locks of these turns, then the turns themselves, in key order."""
        owners = conn.execute(
            "SELECT DISTINCT tenant_id, user_id, session_id FROM turns WHERE pk = ANY(%s)", [pks]
        ).fetchall()
        self._lock(
            conn,
            *(
                _owner_key(
                    Scope(r["tenant_id"], dec_label(r["user_id"]), dec_label(r["session_id"]))
                )
                for r in owners
            ),
        )
        conn.execute("SELECT 1 FROM turns WHERE pk = ANY(%s) ORDER BY pk FOR UPDATE", [pks])

    def _lock_owner(self, scope: Scope) -> None:
        """Inside a transaction, take the owner lock of a scope before reading rows to
        rewrite: writers of one user's memory queue on it, as SQLite's writers queue on its
        single write lock, instead of deadlocking over row locks taken in different orders."""
        conn = self.db.active
        if conn is None:
            return
        if scope.user_id is not None or scope.session_id is not None:
            self._lock(conn, _owner_key(scope))

    # -- locks the shared statements take (store/sql/base.py hooks) ---------------------

    def _read(self) -> AbstractContextManager[Conn]:
        return self.db.read()

    def _write(self) -> AbstractContextManager[Conn]:
        return self.db.write()

    def _fetch(self, conn: Conn, sql: str, params: Sequence[Any]) -> list[Any]:
        return list(conn.execute(sql, params, binary=True).fetchall())

    def _execute_many(self, conn: Conn, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        with conn.cursor() as cur:
            cur.executemany(sql, rows)

    def _filter_columns(self, metadata: dict[str, Any]) -> dict[str, Any]:
        return {"meta": enc_filter_doc(metadata)}

    def _skip_locked(self) -> str:
        return " FOR UPDATE SKIP LOCKED"

    def _held(self, sql: str) -> str:
        return self._locking(sql)

    def _hold_owner(self, scope: Scope) -> None:
        self._lock_owner(scope)

    def _hold_turns(self, conn: Conn, pks: list[int]) -> None:
        active = self.db.active
        if active is not None:
            self._lock_owners_of_turns(active, pks)

    def _hold_rows(self, conn: Conn, table: str, where: str, params: Sequence[Any]) -> None:
        conn.execute(f"SELECT 1 FROM {table} WHERE {where} ORDER BY pk FOR UPDATE", params)

    def _hold_name(self, conn: Conn, *parts: object) -> None:
        self._lock(conn, _lock_key(*parts))

    def _locking(self, sql: str) -> str:
        """Inside a transaction, rows read are locked until it ends (`FOR UPDATE`).

        The engine reads an episode or fact and then rewrites it in one transaction (a
        procedure's outcome, a fact's correction, forgetting); SQLite's single writer makes
        that atomic, and this makes it atomic here: a second writer waits, then reads the
        first one's result.
        """
        return sql + " FOR UPDATE" if self.db.active is not None else sql

    # -- retrieval: the two rankers of the shared arms (store/sql/search.py) -----------

    def _lexical_hits(self, found: Candidates, terms: Sequence[str], limit: int) -> list[Hit]:
        where, params = found.sql("x", CODEC, METADATA_JSON)
        return self._lexical(found.table, found.key, where, params, terms, limit)

    def _dense_hits(self, found: Candidates, query: Vector, limit: int) -> list[Hit]:
        where, params = found.sql("x", CODEC, METADATA_JSON)
        return self._dense(found.table, found.key, where, params, query, limit)

    # -- retrieval: words --------------------------------------------------------------

    def _lexical(
        self, table: str, key: str, where: str, params: list[Any], terms: Sequence[str], limit: int
    ) -> list[tuple[Any, float]]:
        query, qparams = tsquery_sql(terms)
        if not qparams or limit <= 0:
            return []
        cap = self.lexical_scan_max
        with self.db.read() as conn:
            scoped = lexical_sql(table, key, where, query, scan_scope=True)
            rows = conn.execute(scoped, [*params, cap + 1, *qparams, cap, limit]).fetchall()
            if rows and int(rows[0]["n"]) > cap:  # a larger scope: the GIN index serves it
                wide = lexical_sql(table, key, where, query, scan_scope=False)
                rows = conn.execute(wide, [*qparams, *params, limit]).fetchall()
        return [(r["key"], float(r["rank"])) for r in rows if r["key"] is not None]

    # -- retrieval: vectors ------------------------------------------------------------

    def _iterative_scans(self) -> bool:
        if self._iterative is None:
            self._iterative = self.db.vector_version() >= (0, 8)
        return self._iterative

    def _dense(
        self,
        table: str,
        key: str,
        where: str,
        params: list[Any],
        query: Vector,
        limit: int,
    ) -> list[tuple[Any, float]]:
        """The `limit` rows nearest `query` by inner product among those `where` admits."""
        if limit <= 0:
            return []
        where += " AND x.embedding IS NOT NULL"
        exact_sql = (
            f"WITH c AS MATERIALIZED (SELECT x.{key} AS key, x.pk, x.embedding "
            f"FROM {table} x WHERE {where}) "
            "SELECT key, c.embedding <#> %s AS d FROM c ORDER BY d, pk LIMIT %s"
        )
        with self.db.read() as conn:
            n = _count_upto(conn, table, where, params, max(self.exact_max, limit) + 1)
            if n == 0:
                return []
            if n <= self.exact_max or not self._iterative_scans():
                # Exact: score every admitted row (the scope's btree index finds them).
                rows = conn.execute(exact_sql, [*params, query, limit]).fetchall()
                return [(r["key"], -float(r["d"])) for r in rows]
        rows = self._hnsw(table, key, where, params, query, limit)
        if len(rows) < min(limit, n):
            # The index walk gave up early (hnsw.max_scan_tuples): be complete instead.
            self.exact_fallbacks += 1
            with self.db.read() as conn:
                rows = conn.execute(exact_sql, [*params, query, limit]).fetchall()
        return [(r["key"], -float(r["d"])) for r in rows]

    def _hnsw(
        self, table: str, key: str, where: str, params: list[Any], query: Vector, limit: int
    ) -> list[Row]:
        """Approximate: walk the HNSW index, with pgvector's iterative scan continuing until
        `limit` rows pass the filters. Settings are local to the transaction; the planner is
        told to prefer the index, since scoring every admitted row is what this avoids."""
        with self.db.write() as conn:
            conn.execute(
                "SELECT set_config('hnsw.ef_search', %s, true), "
                "set_config('hnsw.iterative_scan', %s, true), "
                "set_config('hnsw.max_scan_tuples', %s, true), "
                "set_config('enable_seqscan', 'off', true), "
                "set_config('enable_sort', 'off', true)",
                (
                    str(min(1000, max(40, 2 * limit))),
                    self.iterative_scan,
                    str(self.max_scan_tuples),
                ),
            )
            try:
                return conn.execute(
                    f"WITH c AS MATERIALIZED (SELECT x.{key} AS key, x.pk, "
                    f"x.embedding <#> %s AS d FROM {table} x WHERE {where} "
                    "ORDER BY x.embedding <#> %s LIMIT %s) SELECT key, d FROM c ORDER BY d, pk",
                    [query, *params, query, limit],
                ).fetchall()
            finally:
                # Matters only when joining a caller's transaction: leave its planner alone.
                if conn.info.transaction_status != psycopg.pq.TransactionStatus.INERROR:
                    conn.execute("RESET enable_seqscan; RESET enable_sort")

    # -- jobs --------------------------------------------------------------------------

    def recover_interrupted_jobs(self, now: datetime) -> int:
        """Nothing to do here: other processes may be running the jobs marked running.

        A job left behind by a worker that died is claimed again by any worker once its
        lease runs out (`TESSERA_JOB_LEASE_SECONDS`), so no start-up sweep is needed.
        """
        return 0


# -- retries of transient failures ---------------------------------------------------------

F = TypeVar("F", bound=Callable[..., Any])

# Not retried as a whole: lifecycle calls, the engine's own transaction (its block cannot be
# re-run), and calls whose arguments or results are consumed lazily.
_NOT_RETRIED = frozenset(
    {"migrate", "ping", "close", "transaction", "integrity_ok", "export_rows", "import_rows"}
)


def _retrying(fn: F) -> F:
    @functools.wraps(fn)
    def call(self: PostgresStore, *args: Any, **kwargs: Any) -> Any:
        if self.db.active is not None:
            # Part of a caller's transaction: only the whole of it can be run again, so the
            # failure travels up to `transaction()`.
            return fn(self, *args, **kwargs)
        attempt = 1
        while True:
            try:
                return fn(self, *args, **kwargs)
            except psycopg.Error as exc:
                if not is_transient(exc):
                    raise
                if attempt >= self.retry_attempts:
                    raise StoreBusy(
                        f"the database rolled {fn.__name__} back {attempt} times "
                        f"({exc.sqlstate}); try again shortly"
                    ) from exc
                self.transient_retries += 1
                log.info("%s: %s, attempt %d; retrying", fn.__name__, exc.sqlstate, attempt)
                time.sleep(self.retry_delay * 2 ** (attempt - 1) * (0.5 + random.random()))
                attempt += 1

    return call  # type: ignore[return-value]


# Every public call, the shared statements' included (inherited from store/sql/).
for _name, _fn in inspect.getmembers(PostgresStore, inspect.isfunction):
    if (
        not _name.startswith("_")
        and _name not in _NOT_RETRIED
        and inspect.isfunction(_fn)
        and not inspect.isgeneratorfunction(_fn)
    ):
        setattr(PostgresStore, _name, _retrying(_fn))
