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
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime, timedelta
from typing import Any, TypeVar

import psycopg

from .. import portable
from ..protocol import StoreBusy
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
    Codec,
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
from .adapt import enc_filter_doc
from .connection import Conn, Database

Row = dict[str, Any]
# psycopg adapts times, vectors and flags natively: only the placeholder differs.
CODEC = Codec(mark="%s")
log = logging.getLogger("tessera.store.postgres")

# Deadlock and serialization failure: the transaction was rolled back and may simply be
# run again (SQLSTATE class 40, "transaction rollback").
TRANSIENT_SQLSTATES = frozenset({"40001", "40P01"})


def is_transient(exc: BaseException) -> bool:
    return isinstance(exc, psycopg.Error) and exc.sqlstate in TRANSIENT_SQLSTATES


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
JOB_COLUMNS = (
    "pk, tenant_id, kind, user_id, session_id, status, attempts, error, created_at, updated_at"
)
_SQL_OPS = {"eq": "=", "ne": "<>", "gte": ">=", "lte": "<=", "gt": ">", "lt": "<"}
_EXPORT_CHUNK = 1000


def _scope_sql(scope: Scope, alias: str = "") -> tuple[str, list[Any]]:
    return CODEC.scope_sql(scope, alias)


def _user_sql(user_id: str | None, alias: str = "") -> tuple[str, list[Any]]:
    if user_id is None:
        return "", []
    prefix = f"{alias}." if alias else ""
    return f" AND {prefix}user_id = %s", [user_id]


def _cross_type(op: str, row_is_less: bool) -> str:
    """How SQLite compares values of different classes (numbers sort before text)."""
    if op == "eq":
        return "false"
    if op == "ne":
        return "true"
    less = op in ("lt", "lte")
    return "true" if less == row_is_less else "false"


def _meta_clause(alias: str, key: str, op: str, value: Any) -> tuple[str, list[Any]]:
    """One comparison on a metadata key, with the embedded store's semantics: a missing key
    or JSON null never matches; numbers and booleans (as 1/0) compare numerically, strings
    bytewise, and a number against a string compares by class (numbers first)."""
    sql_op = _SQL_OPS[op]
    doc = f"{alias}.meta -> %s"
    if isinstance(value, str):
        text_cmp = f'(({alias}.meta ->> %s) COLLATE "C") {sql_op} %s'
        nested_cmp = f'(({doc})::text COLLATE "C") {sql_op} %s'
        number = _cross_type(op, row_is_less=True)
        sql = (
            f"(CASE jsonb_typeof({doc}) WHEN 'string' THEN {text_cmp} "
            f"WHEN 'number' THEN {number} WHEN 'boolean' THEN {number} "
            f"WHEN 'object' THEN {nested_cmp} WHEN 'array' THEN {nested_cmp} END)"
        )
        return sql, [key, key, value, key, value, key, value]
    text = _cross_type(op, row_is_less=False)
    num_cmp = f"(({alias}.meta ->> %s)::numeric) {sql_op} %s::numeric"
    bool_cmp = f"(CASE WHEN ({doc}) = 'true'::jsonb THEN 1 ELSE 0 END) {sql_op} %s::numeric"
    sql = (
        f"(CASE jsonb_typeof({doc}) WHEN 'number' THEN {num_cmp} "
        f"WHEN 'boolean' THEN {bool_cmp} WHEN 'string' THEN {text} "
        f"WHEN 'object' THEN {text} WHEN 'array' THEN {text} END)"
    )
    return sql, [key, key, value, key, value]


def _filter_sql(filters: Sequence[FilterSpec], alias: str) -> tuple[str, list[Any]]:
    """SQL for validated filters. Columns come from the engine's allow-list; values are bound."""
    clauses: list[str] = []
    params: list[Any] = []
    for spec in filters:
        values = list(spec.value) if spec.op == "in" else [spec.value]
        op = "eq" if spec.op == "in" else spec.op
        parts: list[str] = []
        for value in values:
            if spec.metadata_key is not None:
                sql, extra = _meta_clause(alias, spec.metadata_key, op, value)
            else:
                sql, extra = f"{alias}.{spec.column} {_SQL_OPS[op]} %s", [value]
            parts.append(sql)
            params.extend(extra)
        clauses.append(parts[0] if len(parts) == 1 else "(" + " OR ".join(parts) + ")")
    return " AND ".join(clauses), params


def _fact_time_sql(travel: TimeTravel, now: datetime, alias: str) -> tuple[str, list[Any]]:
    as_of = travel.as_of or now
    known = travel.known_as_of or now
    sql = (
        f"{alias}.t_valid <= %s AND ({alias}.t_invalid IS NULL OR {alias}.t_invalid > %s) "
        f"AND {alias}.t_created <= %s AND ({alias}.t_expired IS NULL OR {alias}.t_expired > %s)"
    )
    return sql, [as_of, as_of, known, known]


def _tsquery(terms: Sequence[str]) -> tuple[str, list[str]]:
    """An OR of the terms, each parsed by `plainto_tsquery` so no input is query syntax."""
    kept = [t for t in terms[:64] if t.strip()]
    if not kept:
        return "''::tsquery", []
    return " || ".join("plainto_tsquery('english', %s)" for _ in kept), kept


def _lock_key(*parts: object) -> str:
    return ":".join(str(p) for p in parts)


def _owner_key(tenant_id: int, user_id: str, session_id: str) -> str:
    """Whose memory a write touches: a user, or for turns without a user, their session
    (the scope facts are deduplicated in)."""
    return _lock_key("owner", tenant_id, user_id, session_id)


class PostgresStore:
    """The store protocol on a PostgreSQL database with the pgvector extension."""

    backend = "postgres"

    def __init__(self, url: str, dim: int, *, pool_size: int = 10, exact_max: int = 10_000) -> None:
        self.db = Database(url, dim, pool_size=pool_size)
        self.dim = dim
        self.exact_max = exact_max
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

    def ping(self) -> bool:
        try:
            with self.db.pool.connection(timeout=5.0) as conn:
                conn.execute("SELECT 1").fetchone()
            return True
        except Exception:
            return False

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
            "SELECT DISTINCT tenant_id, user_id, "
            "CASE WHEN user_id = '' THEN session_id ELSE '' END AS session_id "
            "FROM turns WHERE pk = ANY(%s)",
            [pks],
        ).fetchall()
        self._lock(
            conn, *(_owner_key(r["tenant_id"], r["user_id"], r["session_id"]) for r in owners)
        )
        conn.execute("SELECT 1 FROM turns WHERE pk = ANY(%s) ORDER BY pk FOR UPDATE", [pks])

    def _lock_owner(self, scope: Scope) -> None:
        """Inside a transaction, take the owner lock of a scope before reading rows to
        rewrite: writers of one user's memory queue on it, as SQLite's writers queue on its
        single write lock, instead of deadlocking over row locks taken in different orders."""
        conn = self.db.active
        if conn is None:
            return
        if scope.user_id is not None:
            self._lock(conn, _owner_key(scope.tenant_id, scope.user_id, ""))
        elif scope.session_id is not None:
            self._lock(conn, _owner_key(scope.tenant_id, "", scope.session_id))

    # -- tenants and keys ------------------------------------------------------------------

    def ensure_tenant(self, name: str, now: datetime) -> tuple[int, bool]:
        with self.db.write() as conn:
            row = conn.execute(
                "INSERT INTO tenants (name, created_at) VALUES (%s, %s) "
                "ON CONFLICT (name) DO NOTHING RETURNING id",
                (name, now),
            ).fetchone()
            if row is not None:
                return int(row["id"]), True
            found = conn.execute("SELECT id FROM tenants WHERE name = %s", (name,)).fetchone()
            assert found is not None
            return int(found["id"]), False

    def insert_key(
        self, tenant_id: int, prefix: str, key_hash: str, read_only: bool, now: datetime
    ) -> None:
        with self.db.write() as conn:
            conn.execute(
                "INSERT INTO api_keys (tenant_id, prefix, key_hash, read_only, created_at) "
                "VALUES (%s, %s, %s, %s, %s)",
                (tenant_id, prefix, key_hash, read_only, now),
            )

    def find_key(self, key_hash: str) -> ApiKeyRecord | None:
        with self.db.read() as conn:
            row = conn.execute(
                "SELECT k.id, k.tenant_id, t.name, k.prefix, k.read_only, k.created_at, "
                "k.revoked_at FROM api_keys k JOIN tenants t ON t.id = k.tenant_id "
                "WHERE k.key_hash = %s",
                (key_hash,),
            ).fetchone()
        return key_record(row, CODEC) if row else None

    def list_keys(self) -> list[ApiKeyRecord]:
        with self.db.read() as conn:
            rows = conn.execute(
                "SELECT k.id, k.tenant_id, t.name, k.prefix, k.read_only, k.created_at, "
                "k.revoked_at FROM api_keys k JOIN tenants t ON t.id = k.tenant_id ORDER BY k.id"
            ).fetchall()
        return [key_record(r, CODEC) for r in rows]

    def revoke_key(self, prefix: str, now: datetime) -> bool:
        with self.db.write() as conn:
            cur = conn.execute(
                "UPDATE api_keys SET revoked_at = %s WHERE prefix = %s AND revoked_at IS NULL",
                (now, prefix),
            )
            return cur.rowcount > 0

    # -- turns -------------------------------------------------------------------------

    def insert_turn(self, turn: TurnRecord) -> tuple[TurnRecord, bool]:
        """Store a turn unless its turn_id exists in the scope; returns (stored, created)."""
        scope = Scope(turn.tenant_id, turn.user_id or None, turn.session_id or None)
        for _ in range(5):
            with self.db.write() as conn:
                values = turn_row(turn, CODEC)
                row = conn.execute(
                    CODEC.insert(
                        "turns",
                        values,
                        " ON CONFLICT (tenant_id, user_id, session_id, turn_id) DO NOTHING "
                        "RETURNING pk",
                    ),
                    list(values.values()),
                ).fetchone()
                if row is not None:
                    turn.pk = int(row["pk"])
                    return turn, True
                existing = self.get_turn(scope, turn.turn_id, exact=True)
                if existing is not None:
                    return existing, False
            # The conflicting row was deleted in between (a concurrent forget): try again.
        raise RuntimeError("could not store the turn: its scope key keeps changing")

    def _turns(self, sql: str, params: Sequence[Any]) -> list[TurnRecord]:
        with self.db.read() as conn:
            rows = conn.execute(sql, params, binary=True).fetchall()
        return [turn_record(r, CODEC) for r in rows]

    def get_turn(self, scope: Scope, turn_id: str, *, exact: bool = False) -> TurnRecord | None:
        """A turn by client id. `exact` matches absent labels too (the uniqueness scope)."""
        if exact:
            found = self._turns(
                f"SELECT {TURN_COLUMNS} FROM turns WHERE tenant_id = %s AND user_id = %s "
                "AND session_id = %s AND turn_id = %s",
                (scope.tenant_id, enc_label(scope.user_id), enc_label(scope.session_id), turn_id),
            )
        else:
            where, params = _scope_sql(scope)
            found = self._turns(
                f"SELECT {TURN_COLUMNS} FROM turns WHERE {where} AND turn_id = %s "
                "ORDER BY pk LIMIT 1",
                [*params, turn_id],
            )
        return found[0] if found else None

    def turns_by_pk(self, pks: Sequence[int]) -> list[TurnRecord]:
        if not pks:
            return []
        return self._turns(
            f"SELECT {TURN_COLUMNS} FROM turns WHERE pk = ANY(%s) ORDER BY event_time, pk",
            [list(pks)],
        )

    def pending_turns(self, scope: Scope, limit: int = 10_000) -> list[TurnRecord]:
        where, params = _scope_sql(scope)
        return self._turns(
            f"SELECT {TURN_COLUMNS} FROM turns WHERE {where} AND NOT consolidated AND infer "
            "ORDER BY user_id, session_id, event_time, pk LIMIT %s",
            [*params, limit],
        )

    def count_pending(self, scope: Scope) -> int:
        where, params = _scope_sql(scope)
        with self.db.read() as conn:
            row = conn.execute(
                f"SELECT count(*) AS n FROM turns WHERE {where} AND NOT consolidated AND infer",
                params,
            ).fetchone()
        return int(row["n"]) if row else 0

    def claim_turns(self, pks: Sequence[int]) -> int:
        """Mark turns consolidated; returns how many were still pending.

        Consolidation calls this first in its transaction; the advisory lock per owner of
        the turns (the scope facts are deduplicated in) makes two workers consolidating
        the same user take turns, as SQLite's single writer does.
        """
        if not pks:
            return 0
        with self.db.write() as conn:
            self._lock_owners_of_turns(conn, list(pks))
            cur = conn.execute(
                "UPDATE turns SET consolidated = true WHERE pk = ANY(%s) AND NOT consolidated",
                [list(pks)],
            )
            return cur.rowcount

    def turns_missing_embeddings(self, scope: Scope) -> list[TurnRecord]:
        where, params = _scope_sql(scope)
        return self._turns(
            f"SELECT {TURN_COLUMNS} FROM turns WHERE {where} AND embedding IS NULL ORDER BY pk",
            params,
        )

    def set_turn_embeddings(self, items: Sequence[tuple[int, Vector]]) -> None:
        if not items:
            return
        with self.db.write() as conn, conn.cursor() as cur:
            cur.executemany(
                "UPDATE turns SET embedding = %s WHERE pk = %s", [(vec, pk) for pk, vec in items]
            )

    def _missing(self, table: str, scope: Scope) -> list[tuple[str, str]]:
        where, params = _scope_sql(scope)
        with self.db.read() as conn:
            rows = conn.execute(
                f"SELECT id, text FROM {table} WHERE {where} AND embedding IS NULL ORDER BY pk",
                params,
            ).fetchall()
        return [(str(r["id"]), str(r["text"])) for r in rows]

    def episodes_missing_embeddings(self, scope: Scope) -> list[tuple[str, str]]:
        return self._missing("episodes", scope)

    def facts_missing_embeddings(self, scope: Scope) -> list[tuple[str, str]]:
        return self._missing("facts", scope)

    def set_item_embeddings(self, tenant_id: int, items: Sequence[tuple[str, Vector]]) -> None:
        """Replace the vectors of episodes (`ep_`) and facts (`ft_`) by id."""
        with self.db.write() as conn:
            for item_id, vec in items:
                table = "episodes" if item_id.startswith("ep_") else "facts"
                conn.execute(
                    f"UPDATE {table} SET embedding = %s WHERE id = %s AND tenant_id = %s",
                    (vec, item_id, tenant_id),
                )

    # -- episodes ----------------------------------------------------------------------

    def _add_sources(self, conn: Conn, table: str, key: str, pk: int, turns: list[int]) -> None:
        if turns:
            conn.execute(
                f"INSERT INTO {table} ({key}, turn_pk) SELECT %s, t FROM unnest(%s::bigint[]) t "
                "ON CONFLICT DO NOTHING",
                (pk, turns),
            )

    def insert_episode(self, ep: EpisodeRecord) -> EpisodeRecord:
        with self.db.write() as conn:
            values = {**episode_row(ep, CODEC), "meta": enc_filter_doc(ep.metadata)}
            row = conn.execute(
                CODEC.insert("episodes", values, " RETURNING pk"), list(values.values())
            ).fetchone()
            assert row is not None
            ep.pk = int(row["pk"])
            self._add_sources(conn, "episode_sources", "episode_pk", ep.pk, ep.source_turn_pks)
        return ep

    def _sources(
        self, conn: Conn, table: str, key: str, pks: list[int]
    ) -> dict[int, list[tuple[int, str]]]:
        """Each owner's source turns as (turn pk, turn id), in conversation order."""
        out: dict[int, list[tuple[int, str]]] = {pk: [] for pk in pks}
        for src in conn.execute(
            f"SELECT s.{key} AS owner, s.turn_pk, t.turn_id FROM {table} s "
            f"JOIN turns t ON t.pk = s.turn_pk WHERE s.{key} = ANY(%s) "
            "ORDER BY t.event_time, t.pk",
            [pks],
        ):
            out[int(src["owner"])].append((int(src["turn_pk"]), str(src["turn_id"])))
        return out

    def _locking(self, sql: str) -> str:
        """Inside a transaction, rows read are locked until it ends (`FOR UPDATE`).

        The engine reads an episode or fact and then rewrites it in one transaction (a
        procedure's outcome, a fact's correction, forgetting); SQLite's single writer makes
        that atomic, and this makes it atomic here: a second writer waits, then reads the
        first one's result.
        """
        return sql + " FOR UPDATE" if self.db.active is not None else sql

    def _episodes(self, sql: str, params: Sequence[Any]) -> list[EpisodeRecord]:
        sql = self._locking(sql)
        with self.db.read() as conn:
            rows = conn.execute(sql, params, binary=True).fetchall()
            if not rows:
                return []
            sources = self._sources(
                conn, "episode_sources", "episode_pk", [int(r["pk"]) for r in rows]
            )
        return [episode_record(row, CODEC, sources[int(row["pk"])]) for row in rows]

    def get_episodes(self, scope: Scope, ids: Sequence[str]) -> list[EpisodeRecord]:
        """Episodes by id, in the order asked, silently skipping ids outside the scope."""
        if not ids:
            return []
        where, params = _scope_sql(scope)
        self._lock_owner(scope)
        found = {
            e.id: e
            for e in self._episodes(
                f"SELECT {EPISODE_COLUMNS} FROM episodes WHERE {where} AND id = ANY(%s) "
                "ORDER BY pk",
                [*params, list(ids)],
            )
        }
        return [found[i] for i in ids if i in found]

    def episodes_in_scope(
        self, scope: Scope, kinds: Sequence[str], limit: int = 100_000
    ) -> list[EpisodeRecord]:
        where, params = _scope_sql(scope)
        return self._episodes(
            f"SELECT {EPISODE_COLUMNS} FROM episodes WHERE {where} AND kind = ANY(%s) "
            "ORDER BY event_time DESC, pk DESC LIMIT %s",
            [*params, list(kinds), limit],
        )

    def episodes_for_turns(self, turn_pks: Sequence[int]) -> list[EpisodeRecord]:
        if not turn_pks:
            return []
        active = self.db.active
        if active is not None:
            # Forgetting: wait for a consolidation holding these turns, so the episodes it
            # is building are seen (and forgotten) too.
            self._lock_owners_of_turns(active, list(turn_pks))
        return self._episodes(
            f"SELECT {EPISODE_COLUMNS} FROM episodes WHERE pk IN "
            "(SELECT episode_pk FROM episode_sources WHERE turn_pk = ANY(%s)) ORDER BY pk",
            [list(turn_pks)],
        )

    def update_episode(self, ep: EpisodeRecord) -> None:
        """Rewrite an episode's text, attributes, pin, vector and sources."""
        assert ep.pk is not None
        with self.db.write() as conn:
            values = {**episode_rewrite(ep, CODEC), "meta": enc_filter_doc(ep.metadata)}
            conn.execute(CODEC.update("episodes", values, "pk = %s"), [*values.values(), ep.pk])
            conn.execute("DELETE FROM episode_sources WHERE episode_pk = %s", (ep.pk,))
            self._add_sources(conn, "episode_sources", "episode_pk", ep.pk, ep.source_turn_pks)

    def set_pinned(self, scope: Scope, episode_id: str, pinned: bool) -> bool | None:
        """Set the pin; returns whether it changed, or None when the episode is not found."""
        where, params = _scope_sql(scope)
        with self.db.write() as conn:
            row = conn.execute(
                f"SELECT pk, pinned FROM episodes WHERE {where} AND id = %s FOR UPDATE",
                [*params, episode_id],
            ).fetchone()
            if row is None:
                return None
            if bool(row["pinned"]) == pinned:
                return False
            conn.execute("UPDATE episodes SET pinned = %s WHERE pk = %s", (pinned, row["pk"]))
            return True

    def update_attrs(self, scope: Scope, episode_id: str, attrs: dict[str, Any]) -> bool:
        where, params = _scope_sql(scope)
        with self.db.write() as conn:
            cur = conn.execute(
                f"UPDATE episodes SET attrs = %s WHERE {where} AND id = %s",
                [enc_json(attrs), *params, episode_id],
            )
            return cur.rowcount > 0

    # -- facts -------------------------------------------------------------------------

    def insert_fact(self, fact: FactRecord) -> FactRecord:
        with self.db.write() as conn:
            values = {**fact_row(fact, CODEC), "meta": enc_filter_doc(fact.metadata)}
            row = conn.execute(
                CODEC.insert("facts", values, " RETURNING pk"), list(values.values())
            ).fetchone()
            assert row is not None
            fact.pk = int(row["pk"])
            self._add_sources(conn, "fact_sources", "fact_pk", fact.pk, fact.source_turn_pks)
        return fact

    def _facts(self, sql: str, params: Sequence[Any]) -> list[FactRecord]:
        sql = self._locking(sql)
        with self.db.read() as conn:
            rows = conn.execute(sql, params, binary=True).fetchall()
            if not rows:
                return []
            sources = self._sources(conn, "fact_sources", "fact_pk", [int(r["pk"]) for r in rows])
        return [fact_record(row, CODEC, sources[int(row["pk"])]) for row in rows]

    def get_facts(self, scope: Scope, ids: Sequence[str]) -> list[FactRecord]:
        if not ids:
            return []
        where, params = _scope_sql(scope)
        self._lock_owner(scope)
        found = {
            f.id: f
            for f in self._facts(
                f"SELECT {FACT_COLUMNS} FROM facts WHERE {where} AND id = ANY(%s) ORDER BY pk",
                [*params, list(ids)],
            )
        }
        return [found[i] for i in ids if i in found]

    def live_facts(
        self, scope: Scope, subject: str | None = None, relation: str | None = None
    ) -> list[FactRecord]:
        """Facts neither expired nor invalidated, optionally for one subject and relation."""
        where, params = _scope_sql(scope)
        self._lock_owner(scope)
        sql = (
            f"SELECT {FACT_COLUMNS} FROM facts WHERE {where} "
            "AND t_expired IS NULL AND t_invalid IS NULL"
        )
        if subject is not None:
            sql += " AND subject = %s"
            params.append(subject)
        if relation is not None:
            sql += " AND relation = %s"
            params.append(relation)
        return self._facts(sql + " ORDER BY t_valid, pk", params)

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
        with self.db.write() as conn:
            conn.execute(
                "UPDATE facts SET t_invalid = COALESCE(%s, t_invalid), "
                "t_expired = COALESCE(%s, t_expired), "
                "superseded_by = COALESCE(%s, superseded_by) WHERE id = %s AND tenant_id = %s",
                (t_invalid, t_expired, superseded_by, fact_id, tenant_id),
            )

    def restore_superseded(self, tenant_id: int) -> int:
        """Facts whose superseding fact was deleted: close them by the next live fact of
        the same subject and relation, or make them current again; returns how many."""
        with self.db.write() as conn:
            orphans = conn.execute(
                "SELECT pk, user_id, session_id, subject, relation, t_valid FROM facts a "
                "WHERE a.tenant_id = %s AND a.t_expired IS NULL AND a.superseded_by IS NOT NULL "
                "AND NOT EXISTS (SELECT 1 FROM facts s WHERE s.id = a.superseded_by) "
                "ORDER BY pk FOR UPDATE",
                (tenant_id,),
            ).fetchall()
            for row in orphans:
                successor = conn.execute(
                    "SELECT id, t_valid FROM facts WHERE tenant_id = %s AND user_id = %s "
                    "AND (user_id <> '' OR session_id = %s) AND subject = %s AND relation = %s "
                    "AND t_expired IS NULL AND pk > %s AND t_valid >= %s "
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
                    "UPDATE facts SET superseded_by = %s, t_invalid = %s WHERE pk = %s",
                    (
                        successor["id"] if successor else None,
                        successor["t_valid"] if successor else None,
                        row["pk"],
                    ),
                )
            return len(orphans)

    # -- foresight ---------------------------------------------------------------------

    def insert_foresight(self, item: ForesightRecord) -> ForesightRecord:
        with self.db.write() as conn:
            values = foresight_row(item, CODEC)
            row = conn.execute(
                CODEC.insert("foresight", values, " RETURNING pk"), list(values.values())
            ).fetchone()
            assert row is not None
            item.pk = int(row["pk"])
            self._add_sources(
                conn, "foresight_sources", "foresight_pk", item.pk, item.source_turn_pks
            )
        return item

    def live_foresight(self, scope: Scope, now: datetime) -> list[ForesightRecord]:
        where, params = _scope_sql(scope)
        with self.db.read() as conn:
            rows = conn.execute(
                f"SELECT {FORESIGHT_COLUMNS} FROM foresight WHERE {where} "
                "AND (expires_at IS NULL OR expires_at > %s) "
                "ORDER BY COALESCE(due_at, created_at), pk",
                [*params, now],
                binary=True,
            ).fetchall()
        return [foresight_record(r, CODEC) for r in rows]

    # -- portrait and panels -----------------------------------------------------------

    def put_portrait(
        self, tenant_id: int, user_id: str, data: dict[str, Any], now: datetime
    ) -> None:
        with self.db.write() as conn:
            if data:
                conn.execute(portrait_upsert(CODEC), (tenant_id, user_id, enc_json(data), now))
            else:
                conn.execute(
                    "DELETE FROM portraits WHERE tenant_id = %s AND user_id = %s",
                    (tenant_id, user_id),
                )

    def get_portrait(self, tenant_id: int, user_id: str) -> dict[str, Any] | None:
        with self.db.read() as conn:
            row = conn.execute(
                "SELECT data FROM portraits WHERE tenant_id = %s AND user_id = %s",
                (tenant_id, user_id),
            ).fetchone()
        return dec_json(row["data"]) if row else None

    def replace_panels(self, tenant_id: int, user_id: str, panels: Sequence[PanelRecord]) -> int:
        with self.db.write() as conn:
            self._lock(conn, _lock_key("panels", tenant_id, user_id))
            conn.execute(
                "DELETE FROM panels WHERE tenant_id = %s AND user_id = %s", (tenant_id, user_id)
            )
            rows = [panel_row(tenant_id, user_id, p, CODEC) for p in panels]
            if rows:
                with conn.cursor() as cur:
                    cur.executemany(
                        CODEC.insert("panels", rows[0]), [list(r.values()) for r in rows]
                    )
        return len(panels)

    def get_panels(self, tenant_id: int, user_id: str) -> list[PanelRecord]:
        with self.db.read() as conn:
            rows = conn.execute(
                "SELECT pk, tenant_id, user_id, level, summary, members, centroid, updated_at "
                "FROM panels WHERE tenant_id = %s AND user_id = %s ORDER BY updated_at DESC, pk",
                (tenant_id, user_id),
                binary=True,
            ).fetchall()
        return [panel_record(r, CODEC) for r in rows]

    # -- retrieval: words --------------------------------------------------------------

    def _lexical(
        self, table: str, key: str, where: str, params: list[Any], terms: Sequence[str], limit: int
    ) -> list[tuple[Any, float]]:
        query, qparams = _tsquery(terms)
        if not qparams:
            return []
        sql = (
            f"SELECT x.{key} AS key, ts_rank_cd(x.tsv, q.q) AS rank "
            f"FROM {table} x, (SELECT {query} AS q) q "
            f"WHERE x.tsv @@ q.q AND {where} ORDER BY rank DESC, x.pk LIMIT %s"
        )
        with self.db.read() as conn:
            rows = conn.execute(sql, [*qparams, *params, limit]).fetchall()
        return [(r["key"], float(r["rank"])) for r in rows]

    def lexical_episodes(
        self,
        scope: Scope,
        terms: Sequence[str],
        kinds: Sequence[str],
        filters: Sequence[FilterSpec],
        limit: int,
    ) -> list[tuple[str, float]]:
        where, params = _scope_sql(scope, "x")
        fsql, fparams = _filter_sql(filters, "x")
        where += " AND x.kind = ANY(%s)" + (f" AND {fsql}" if fsql else "")
        rows = self._lexical(
            "episodes", "id", where, [*params, list(kinds), *fparams], terms, limit
        )
        return [(str(k), s) for k, s in rows]

    def lexical_facts(
        self,
        scope: Scope,
        terms: Sequence[str],
        travel: TimeTravel,
        filters: Sequence[FilterSpec],
        now: datetime,
        limit: int,
    ) -> list[tuple[str, float]]:
        where, params = _scope_sql(scope, "x")
        tsql, tparams = _fact_time_sql(travel, now, "x")
        fsql, fparams = _filter_sql(filters, "x")
        where += f" AND {tsql}" + (f" AND {fsql}" if fsql else "")
        rows = self._lexical("facts", "id", where, [*params, *tparams, *fparams], terms, limit)
        return [(str(k), s) for k, s in rows]

    def lexical_turns(
        self, scope: Scope, terms: Sequence[str], limit: int
    ) -> list[tuple[int, float]]:
        """Turns matching the terms, best first, as (turn pk, score)."""
        where, params = _scope_sql(scope, "x")
        rows = self._lexical("turns", "pk", where, params, terms, limit)
        return [(int(k), s) for k, s in rows]

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
            counted = conn.execute(
                f"SELECT count(*) AS n FROM (SELECT 1 FROM {table} x WHERE {where} LIMIT %s) c",
                [*params, max(self.exact_max, limit) + 1],
            ).fetchone()
            n = int(counted["n"]) if counted else 0
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

    def dense_episodes(
        self,
        scope: Scope,
        query: Vector,
        kinds: Sequence[str],
        filters: Sequence[FilterSpec],
        limit: int,
    ) -> list[tuple[str, float]]:
        where, params = _scope_sql(scope, "x")
        fsql, fparams = _filter_sql(filters, "x")
        where += " AND x.kind = ANY(%s)" + (f" AND {fsql}" if fsql else "")
        rows = self._dense("episodes", "id", where, [*params, list(kinds), *fparams], query, limit)
        return [(str(k), s) for k, s in rows]

    def dense_facts(
        self,
        scope: Scope,
        query: Vector,
        travel: TimeTravel,
        filters: Sequence[FilterSpec],
        now: datetime,
        limit: int,
    ) -> list[tuple[str, float]]:
        where, params = _scope_sql(scope, "x")
        tsql, tparams = _fact_time_sql(travel, now, "x")
        fsql, fparams = _filter_sql(filters, "x")
        where += f" AND {tsql}" + (f" AND {fsql}" if fsql else "")
        rows = self._dense("facts", "id", where, [*params, *tparams, *fparams], query, limit)
        return [(str(k), s) for k, s in rows]

    def dense_turns(self, scope: Scope, query: Vector, limit: int) -> list[tuple[int, float]]:
        """Turns nearest the query vector, as (turn pk, cosine)."""
        where, params = _scope_sql(scope, "x")
        return [(int(k), s) for k, s in self._dense("turns", "pk", where, params, query, limit)]

    def episodes_of_turns(
        self, scope: Scope, turn_pks: Sequence[int], kinds: Sequence[str]
    ) -> dict[int, list[str]]:
        """For each turn, the ids of the episodes (of the given kinds) built from it."""
        if not turn_pks:
            return {}
        where, params = _scope_sql(scope, "e")
        out: dict[int, list[str]] = {}
        with self.db.read() as conn:
            for row in conn.execute(
                "SELECT s.turn_pk, e.id FROM episode_sources s "
                "JOIN episodes e ON e.pk = s.episode_pk "
                f"WHERE s.turn_pk = ANY(%s) AND {where} AND e.kind = ANY(%s) ORDER BY e.pk",
                [list(turn_pks), *params, list(kinds)],
            ):
                out.setdefault(int(row["turn_pk"]), []).append(str(row["id"]))
        return out

    def turn_vectors(self, turn_pks: Sequence[int]) -> dict[int, Vector]:
        if not turn_pks:
            return {}
        with self.db.read() as conn:
            rows = conn.execute(
                "SELECT pk, embedding FROM turns WHERE pk = ANY(%s) AND embedding IS NOT NULL",
                [list(turn_pks)],
                binary=True,
            ).fetchall()
        return {int(r["pk"]): r["embedding"] for r in rows}

    def turn_neighbors(self, pks: Sequence[int], max_gap: timedelta) -> dict[int, list[int]]:
        if not pks:
            return {}
        same = "t.tenant_id = b.tenant_id AND t.user_id = b.user_id AND t.session_id = b.session_id"
        with self.db.read() as conn:
            rows = conn.execute(
                "SELECT b.pk, b.event_time, p.pk AS prev_pk, p.event_time AS prev_time, "
                "n.pk AS next_pk, n.event_time AS next_time FROM turns b "
                f"LEFT JOIN LATERAL (SELECT t.pk, t.event_time FROM turns t WHERE {same} "
                "AND (t.event_time, t.pk) < (b.event_time, b.pk) "
                "ORDER BY t.event_time DESC, t.pk DESC LIMIT 1) p ON true "
                f"LEFT JOIN LATERAL (SELECT t.pk, t.event_time FROM turns t WHERE {same} "
                "AND (t.event_time, t.pk) > (b.event_time, b.pk) "
                "ORDER BY t.event_time, t.pk LIMIT 1) n ON true "
                "WHERE b.pk = ANY(%s)",
                [list(pks)],
            ).fetchall()
        out: dict[int, list[int]] = {}
        for r in rows:
            near = []
            for key in ("prev", "next"):
                other = r[f"{key}_pk"]
                if other is not None and abs(r[f"{key}_time"] - r["event_time"]) <= max_gap:
                    near.append(int(other))
            out[int(r["pk"])] = near
        return out

    # -- listing -----------------------------------------------------------------------

    def list_items(self, scope: Scope, cursor: ListCursor | None, limit: int) -> list[ListedItem]:
        """Episodes and believed facts, newest first, strictly after the cursor."""
        where, params = _scope_sql(scope)
        after = ""
        after_params: list[Any] = []
        if cursor is not None:
            after = " AND (created_at, id) < (%s, %s)"
            after_params = [cursor.created_at, cursor.item_id]
        order = " ORDER BY created_at DESC, id DESC LIMIT %s"
        sql = (
            f"(SELECT 'episode' AS kind, id, created_at FROM episodes WHERE {where}{after}"
            f"{order}) UNION ALL "
            f"(SELECT 'fact' AS kind, id, created_at FROM facts WHERE {where} "
            f"AND t_expired IS NULL{after}{order}){order}"
        )
        with self.db.read() as conn:
            rows = conn.execute(
                sql,
                [
                    *params,
                    *after_params,
                    limit,
                    *params,
                    *after_params,
                    limit,
                    limit,
                ],
            ).fetchall()
        return [ListedItem(r["kind"], str(r["id"]), r["created_at"]) for r in rows]

    # -- forgetting --------------------------------------------------------------------

    def delete_episode(self, ep: EpisodeRecord) -> ForgetCounts:
        """Delete an episode with its foresight and the facts drawn from it alone."""
        assert ep.pk is not None
        counts = ForgetCounts(episodes=1)
        with self.db.write() as conn:
            counts.foresight = conn.execute(
                "DELETE FROM foresight WHERE episode_pk = %s", (ep.pk,)
            ).rowcount
            counts.facts = conn.execute(
                "DELETE FROM facts WHERE tenant_id = %s AND episode_id = %s", (ep.tenant_id, ep.id)
            ).rowcount
            conn.execute("DELETE FROM episodes WHERE pk = %s", (ep.pk,))
        return counts

    def delete_fact(self, fact: FactRecord) -> ForgetCounts:
        with self.db.write() as conn:
            conn.execute("DELETE FROM facts WHERE pk = %s", (fact.pk,))
        return ForgetCounts(facts=1)

    def delete_turn_rows(self, tenant_id: int, turn_pks: Sequence[int]) -> int:
        """Delete turns and the facts and foresight drawn only from them."""
        if not turn_pks:
            return 0
        pks = list(turn_pks)
        with self.db.write() as conn:
            n = conn.execute("DELETE FROM turns WHERE pk = ANY(%s)", [pks]).rowcount
            conn.execute("DELETE FROM episode_sources WHERE turn_pk = ANY(%s)", [pks])
            return n

    def delete_orphans_of_turns(self, tenant_id: int, turn_pks: Sequence[int]) -> ForgetCounts:
        """Remove facts and foresight whose every source turn is among `turn_pks`."""
        counts = ForgetCounts()
        if not turn_pks:
            return counts
        pks = list(turn_pks)
        with self.db.write() as conn:
            for table, key, src in (
                ("facts", "fact_pk", "fact_sources"),
                ("foresight", "foresight_pk", "foresight_sources"),
            ):
                doomed = [
                    int(r["owner"])
                    for r in conn.execute(
                        f"SELECT s.{key} AS owner FROM {src} s WHERE s.turn_pk = ANY(%s) "
                        f"GROUP BY s.{key} HAVING NOT EXISTS (SELECT 1 FROM {src} s2 "
                        f"WHERE s2.{key} = s.{key} AND NOT (s2.turn_pk = ANY(%s)))",
                        [pks, pks],
                    )
                ]
                if doomed:
                    deleted = conn.execute(
                        f"DELETE FROM {table} WHERE pk = ANY(%s)", [doomed]
                    ).rowcount
                    setattr(counts, table, deleted)
                conn.execute(f"DELETE FROM {src} WHERE turn_pk = ANY(%s)", [pks])
        return counts

    def users_in_scope(self, scope: Scope) -> list[str]:
        where, params = _scope_sql(scope)
        with self.db.read() as conn:
            rows = conn.execute(
                f"SELECT user_id FROM episodes WHERE {where} "
                f"UNION SELECT user_id FROM facts WHERE {where}",
                [*params, *params],
            ).fetchall()
        return sorted(str(r["user_id"]) for r in rows if r["user_id"])

    def wipe(self, scope: Scope) -> int:
        """Delete every row of the scope from every table; returns the number of rows."""
        where, params = _scope_sql(scope)
        total = 0
        with self.db.write() as conn:
            # First wait for any consolidation holding the scope's turns, so what it adds
            # is wiped too; consolidations starting later find their turns gone.
            self._lock_owner(scope)
            conn.execute(f"SELECT 1 FROM turns WHERE {where} ORDER BY pk FOR UPDATE", params)
            for table in ("foresight", "facts", "episodes", "turns", "jobs"):
                total += conn.execute(f"DELETE FROM {table} WHERE {where}", params).rowcount
            if scope.session_id is None and scope.user_id is not None:
                for table in ("portraits", "panels"):
                    total += conn.execute(
                        f"DELETE FROM {table} WHERE tenant_id = %s AND user_id = %s",
                        (scope.tenant_id, scope.user_id),
                    ).rowcount
        return total

    # -- jobs --------------------------------------------------------------------------

    def enqueue_job(self, scope: Scope, kind: str, now: datetime) -> tuple[JobRecord, bool]:
        """Queue a job unless one is already queued for the same scope and kind."""
        args = (scope.tenant_id, kind, enc_label(scope.user_id), enc_label(scope.session_id))
        with self.db.write() as conn:
            self._lock(conn, _lock_key("enqueue", *args))
            row = conn.execute(
                f"SELECT {JOB_COLUMNS} FROM jobs WHERE tenant_id = %s AND kind = %s "
                "AND user_id = %s AND session_id = %s AND status = 'queued' ORDER BY pk LIMIT 1",
                args,
            ).fetchone()
            if row:
                return job_record(row, CODEC), False
            row = conn.execute(
                "INSERT INTO jobs (tenant_id, kind, user_id, session_id, status, created_at, "
                f"updated_at) VALUES (%s, %s, %s, %s, 'queued', %s, %s) RETURNING {JOB_COLUMNS}",
                (*args, now, now),
            ).fetchone()
            assert row is not None
            return job_record(row, CODEC), True

    def get_job(self, tenant_id: int, pk: int) -> JobRecord | None:
        with self.db.read() as conn:
            row = conn.execute(
                f"SELECT {JOB_COLUMNS} FROM jobs WHERE pk = %s AND tenant_id = %s",
                (pk, tenant_id),
            ).fetchone()
        return job_record(row, CODEC) if row else None

    def claim_job(self, now: datetime, lease: timedelta) -> JobRecord | None:
        """Take the oldest queued job, or one whose lease ran out, and lease it."""
        with self.db.write() as conn:
            row = conn.execute(
                "WITH c AS (SELECT pk FROM jobs WHERE status = 'queued' "
                "OR (status = 'running' AND lease_until < %s) "
                "ORDER BY pk LIMIT 1 FOR UPDATE SKIP LOCKED) "
                "UPDATE jobs j SET status = 'running', attempts = j.attempts + 1, "
                "lease_until = %s, updated_at = %s FROM c WHERE j.pk = c.pk "
                f"RETURNING {', '.join('j.' + c for c in JOB_COLUMNS.split(', '))}",
                (now, now + lease, now),
            ).fetchone()
        return job_record(row, CODEC) if row else None

    def renew_job_lease(self, pk: int, attempts: int, now: datetime, lease: timedelta) -> bool:
        """Extend the lease of a job still running in the same attempt (the heartbeat)."""
        with self.db.write() as conn:
            cur = conn.execute(
                "UPDATE jobs SET lease_until = %s "
                "WHERE pk = %s AND status = 'running' AND attempts = %s",
                (now + lease, pk, attempts),
            )
            return cur.rowcount > 0

    def finish_job(self, pk: int, status: str, error: str | None, now: datetime) -> None:
        with self.db.write() as conn:
            conn.execute(
                "UPDATE jobs SET status = %s, error = %s, lease_until = NULL, updated_at = %s "
                "WHERE pk = %s",
                (status, error, now, pk),
            )

    def recover_interrupted_jobs(self, now: datetime) -> int:
        """Nothing to do here: other processes may be running the jobs marked running.

        A job left behind by a worker that died is claimed again by any worker once its
        lease runs out (`TESSERA_JOB_LEASE_SECONDS`), so no start-up sweep is needed.
        """
        return 0

    def scopes_with_pending_turns(self) -> list[Scope]:
        with self.db.read() as conn:
            rows = conn.execute(
                "SELECT DISTINCT tenant_id, user_id, session_id FROM turns "
                "WHERE NOT consolidated AND infer"
            ).fetchall()
        return [
            Scope(int(r["tenant_id"]), dec_label(r["user_id"]), dec_label(r["session_id"]))
            for r in rows
        ]

    # -- the console's reads ------------------------------------------------------------

    def find_key_by_prefix(self, prefix: str) -> tuple[ApiKeyRecord, str] | None:
        with self.db.read() as conn:
            row = conn.execute(
                "SELECT k.id, k.tenant_id, t.name, k.prefix, k.read_only, k.created_at, "
                "k.revoked_at, k.key_hash FROM api_keys k JOIN tenants t ON t.id = k.tenant_id "
                "WHERE k.prefix = %s",
                (prefix,),
            ).fetchone()
        return (key_record(row, CODEC), str(row["key_hash"])) if row else None

    def scope_summaries(
        self, tenant_id: int, user_id: str | None, limit: int
    ) -> list[ScopeSummary]:
        """Each (user, session) of the tenant with its counts, most recently active first."""
        where = "tenant_id = %s" + (" AND user_id = %s" if user_id is not None else "")
        args: list[Any] = [tenant_id] + ([user_id] if user_id is not None else [])
        tables = ("turns", "episodes", "facts", "foresight")
        # Each arm counts its rows per scope (its own column; the others 0), then the arms'
        # counts are added up per scope.
        union = " UNION ALL ".join(
            "SELECT user_id, session_id, "
            + ", ".join(
                f"count(*) AS {c}" if t == table else f"0 AS {c}"
                for t, c in zip(tables, "tefo", strict=True)
            )
            + f", max(created_at) AS at FROM {table} WHERE {where}"
            + (" AND t_expired IS NULL" if table == "facts" else "")
            + " GROUP BY user_id, session_id"
            for table in tables
        )
        with self.db.read() as conn:
            rows = conn.execute(
                "SELECT user_id, session_id, sum(t) AS turns, sum(e) AS episodes, "
                f"sum(f) AS facts, sum(o) AS foresight, max(at) AS last FROM ({union}) x "
                "GROUP BY user_id, session_id ORDER BY last DESC, user_id, session_id LIMIT %s",
                [*args * len(tables), limit],
            ).fetchall()
        return [
            ScopeSummary(
                dec_label(r["user_id"]),
                dec_label(r["session_id"]),
                int(r["turns"]),
                int(r["episodes"]),
                int(r["facts"]),
                int(r["foresight"]),
                r["last"],
            )
            for r in rows
        ]

    def recent_jobs(self, tenant_id: int, limit: int) -> list[JobRecord]:
        with self.db.read() as conn:
            rows = conn.execute(
                f"SELECT {JOB_COLUMNS} FROM jobs WHERE tenant_id = %s ORDER BY pk DESC LIMIT %s",
                (tenant_id, limit),
            ).fetchall()
        return [job_record(r, CODEC) for r in rows]

    def fact_history(
        self, scope: Scope, travel: TimeTravel | None, now: datetime, limit: int
    ) -> list[FactRecord]:
        """The scope's facts, superseded ones too, newest belief first; with `travel`, only
        those valid at its `as_of` and believed at its `known_as_of` (each default: now)."""
        where, params = _scope_sql(scope, "x")
        if travel is not None:
            tsql, tparams = _fact_time_sql(travel, now, "x")
            where += f" AND {tsql}"
            params += tparams
        return self._facts(
            f"SELECT {FACT_COLUMNS} FROM facts x WHERE {where} "
            "ORDER BY x.t_created DESC, x.pk DESC LIMIT %s",
            [*params, limit],
        )

    # -- export and import -------------------------------------------------------------

    def export_rows(self, tenant: str | None, user_id: str | None) -> Iterator[dict[str, Any]]:
        return portable.export_rows(self, tenant, user_id)

    def import_rows(self, rows: Iterable[dict[str, Any]]) -> dict[str, int]:
        return portable.import_rows(self, rows)

    def export_tenants(self) -> list[tuple[int, str, datetime]]:
        with self.db.read() as conn:
            rows = conn.execute("SELECT id, name, created_at FROM tenants ORDER BY id").fetchall()
        return [(int(r["id"]), str(r["name"]), r["created_at"]) for r in rows]

    def _chunks(
        self, table: str, columns: str, tenant_id: int, user_id: str | None
    ) -> Iterator[list[Row]]:
        """A tenant's rows of one table in primary-key order, a chunk at a time."""
        user_sql, user_params = _user_sql(user_id)
        after = 0
        while True:
            with self.db.read() as conn:
                rows = conn.execute(
                    f"SELECT {columns} FROM {table} WHERE tenant_id = %s{user_sql} AND pk > %s "
                    "ORDER BY pk LIMIT %s",
                    [tenant_id, *user_params, after, _EXPORT_CHUNK],
                    binary=True,
                ).fetchall()
            if not rows:
                return
            yield rows
            after = int(rows[-1]["pk"])

    def export_turns(self, tenant_id: int, user_id: str | None) -> Iterator[TurnRecord]:
        for rows in self._chunks("turns", TURN_COLUMNS, tenant_id, user_id):
            yield from (turn_record(r, CODEC) for r in rows)

    def export_episodes(self, tenant_id: int, user_id: str | None) -> Iterator[EpisodeRecord]:
        for rows in self._chunks("episodes", "pk", tenant_id, user_id):
            yield from self._episodes(
                f"SELECT {EPISODE_COLUMNS} FROM episodes WHERE pk = ANY(%s) ORDER BY pk",
                [[int(r["pk"]) for r in rows]],
            )

    def export_facts(self, tenant_id: int, user_id: str | None) -> Iterator[FactRecord]:
        for rows in self._chunks("facts", "pk", tenant_id, user_id):
            yield from self._facts(
                f"SELECT {FACT_COLUMNS} FROM facts WHERE pk = ANY(%s) ORDER BY pk",
                [[int(r["pk"]) for r in rows]],
            )

    def export_foresight(self, tenant_id: int, user_id: str | None) -> Iterator[ForesightRecord]:
        for rows in self._chunks("foresight", FORESIGHT_COLUMNS, tenant_id, user_id):
            with self.db.read() as conn:
                sources = self._sources(
                    conn, "foresight_sources", "foresight_pk", [int(r["pk"]) for r in rows]
                )
            for row in rows:
                pks = [pk for pk, _ in sources[int(row["pk"])]]
                yield foresight_record(row, CODEC, pks)

    def export_portraits(
        self, tenant_id: int, user_id: str | None
    ) -> Iterator[tuple[str, dict[str, Any], datetime]]:
        user_sql, user_params = _user_sql(user_id)
        with self.db.read() as conn:
            rows = conn.execute(
                f"SELECT user_id, data, updated_at FROM portraits WHERE tenant_id = %s{user_sql} "
                "ORDER BY user_id",
                [tenant_id, *user_params],
            ).fetchall()
        for r in rows:
            yield str(r["user_id"]), dec_json(r["data"]), r["updated_at"]

    def export_panels(self, tenant_id: int, user_id: str | None) -> Iterator[PanelRecord]:
        for rows in self._chunks(
            "panels",
            "pk, tenant_id, user_id, level, summary, members, centroid, updated_at",
            tenant_id,
            user_id,
        ):
            yield from (panel_record(r, CODEC) for r in rows)

    def item_owners(self, table: str, ids: Sequence[str]) -> dict[str, tuple[int, int]]:
        """(tenant_id, pk) of the episodes, facts or foresight items that exist, by id."""
        assert table in ("episodes", "facts", "foresight")
        if not ids:
            return {}
        with self.db.read() as conn:
            rows = conn.execute(
                f"SELECT id, tenant_id, pk FROM {table} WHERE id = ANY(%s)", [list(ids)]
            ).fetchall()
        return {str(r["id"]): (int(r["tenant_id"]), int(r["pk"])) for r in rows}


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


for _name, _fn in list(vars(PostgresStore).items()):
    if (
        not _name.startswith("_")
        and _name not in _NOT_RETRIED
        and inspect.isfunction(_fn)
        and not inspect.isgeneratorfunction(_fn)
    ):
        setattr(PostgresStore, _name, _retrying(_fn))
