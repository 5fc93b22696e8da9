"""Scale: many memories across many users, on PostgreSQL (+pgvector) or SQLite.

``python -m tessera_bench scale --backend postgres --memories 1000000 --users 10000``

1. Starts a throwaway PostgreSQL 18 with pgvector (``tessera_server.store.postgres.testserver``,
   under ``/tmp/tessera-pg-*``) or uses a SQLite file, applies the schema with ``tessera
   migrate`` and creates a key.
2. Bulk-loads N verbatim memories (``infer=false``: a turn plus its ``note`` episode, exactly
   the rows ``POST /v1/memories`` writes) spread evenly over U users. Embedding a million texts
   with the bundled MiniLM on two cores would take hours, so the loader embeds a pool of
   distinct real turns (LoCoMo, LongMemEval) once with the service's own embedder and reuses
   them across users (each user draws its memories from the pool at random). On PostgreSQL the
   rows are written with set-based ``INSERT … SELECT`` from a staged copy (the secondary
   indexes are dropped first and rebuilt afterwards from their own definitions, so the tables
   and indexes end up exactly as the migration makes them); on SQLite through the store
   protocol (``insert_turn``/``insert_episode``) in large transactions.
3. Starts a real ``tessera serve`` on the database (its in-process worker off) and measures,
   over HTTP: ``search`` p50/p95 within one random user per call, rerank off and on, at
   concurrency 1 and 4 (query embedding included), and ``query`` p50/p95.
4. Checks scoped k-NN in-process against an exact scan of the user's vectors (recall@10),
   both as configured and with the HNSW path forced, and times the store's dense and lexical
   reads alone.
5. Measures consolidation throughput: turns are added with ``infer=true`` (async) for fresh
   users through the API, then 1, 2 and 4 ``tessera worker`` processes drain the queued jobs;
   turns consolidated per second are reported per worker count.
6. Reports table and index sizes (``pg_total_relation_size``, ``pg_indexes_size``, each index;
   or the SQLite file and ``dbstat`` per table).

Results go to ``results/scale-<backend>.json``; ``results/scale.md`` shows every backend's
latest run side by side. Nothing here asserts a timing.
"""

from __future__ import annotations

import argparse
import json
import logging
import math
import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import httpx
import numpy as np

from . import paths
from .ingest import embedded_work, per_consolidated_turn, warm_up
from .latency import load_pools, post_json, process_tree_rss_mb, settle, summarise

log = logging.getLogger("tessera_bench")

DIM = 384
TENANT = "bench"
KINDS = ("episode", "note")


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--backend", choices=("postgres", "sqlite"), default="postgres")
    p.add_argument("--memories", type=int, default=20_000, help="memories in total (N)")
    p.add_argument("--users", type=int, default=200, help="users they are spread over (U)")
    p.add_argument(
        "--pool", type=int, default=10_000, help="distinct real texts embedded and reused"
    )
    p.add_argument(
        "--jitter",
        type=float,
        default=0.005,
        help="std-dev per dimension of the noise added to each memory's pool vector before "
        "renormalising, so no two memories share a vector (0: the pool vectors exactly)",
    )
    p.add_argument("--searches", type=int, default=200, help="search calls per cell")
    p.add_argument("--queries", type=int, default=60, help="query calls")
    p.add_argument("--concurrency", default="1,4", help="client counts for search, e.g. 1,4")
    p.add_argument("--top-k", type=int, default=10)
    p.add_argument("--recall-queries", type=int, default=100, help="k-NN correctness checks")
    p.add_argument("--workers", default="1,2,4", help="worker process counts for ingest")
    p.add_argument(
        "--ingest-users", type=int, default=40, help="fresh users per worker count (ingest)"
    )
    p.add_argument("--ingest-turns", type=int, default=16, help="turns per ingest user")
    p.add_argument("--chunk", type=int, default=50_000, help="memories per load transaction")
    p.add_argument("--seed", type=int, default=7)
    p.add_argument(
        "--keep",
        action="store_true",
        help="keep the database after the run (the SQLite file; on PostgreSQL the server "
        "is left running and its URL logged, for --database)",
    )
    p.add_argument(
        "--database",
        default=None,
        help="PostgreSQL: a database an earlier run loaded with the same --memories, --users, "
        "--pool and --seed (kept with --keep): migrate it and measure, without loading again",
    )
    p.add_argument(
        "--reference-src",
        type=Path,
        default=None,
        help="a source folder of tessera_server from other code (e.g. `git archive` of an "
        "older commit's packages/tessera-server/src): a second service runs it on the same "
        "database and one-client searches (rerank off) alternate between the two, same bodies",
    )
    p.add_argument(
        "--loaded-by",
        default=None,
        help="with --database: the name of the run that loaded it, whose load figures (time, "
        "index builds) the report then shows, marked as that run's",
    )
    p.add_argument(
        "--work", type=Path, default=None, help="scratch folder (default bench/.work/<name>)"
    )
    p.add_argument("--no-cache", action="store_true", help="do not use bench/.cache embeddings")
    p.add_argument(
        "--settle",
        type=float,
        default=0.0,
        help="seconds of gentle searching before measuring (caches load; past 20k memories in "
        "a scope the SQLite backend builds HNSW graphs in the background)",
    )
    p.add_argument("--no-plot", action="store_true")


# -- the synthetic population ------------------------------------------------------------


@dataclass
class Population:
    """Which pool text each user's memories are, deterministic from the seed."""

    memories: int
    users: int
    pool_size: int
    seed: int
    base_time: datetime = datetime(2024, 1, 1, tzinfo=timezone.utc)

    def user_id(self, u: int) -> str:
        return f"user-{u:06d}"

    def per_user(self, u: int) -> int:
        q, r = divmod(self.memories, self.users)
        return q + (1 if u < r else 0)

    def rows(self, start_user: int, end_user: int) -> Iterator[tuple[Any, ...]]:
        """(user_id, session_id, turn_id, role, pool index, event_time) per memory."""
        for u in range(start_user, end_user):
            rng = random.Random(self.seed * 1_000_003 + u)
            uid = self.user_id(u)
            start = self.base_time + timedelta(hours=u % 5000)
            for j in range(self.per_user(u)):
                yield (
                    uid,
                    f"s{j // 25}",
                    f"m{j:05d}",
                    "user" if j % 2 == 0 else "assistant",
                    rng.randrange(self.pool_size),
                    start + timedelta(minutes=j),
                )


def pool_vectors(texts: Sequence[str], cache_dir: Path | None) -> np.ndarray[Any, Any]:
    from .embedder import CachedEmbedder, ServiceEmbedder

    embedder = CachedEmbedder(ServiceEmbedder(), cache_dir)
    out: list[np.ndarray[Any, Any]] = []
    for i in range(0, len(texts), 512):
        out.append(embedder.embed(texts[i : i + 512]))
        if i and i % 4096 == 0:
            log.info("embedded %d/%d pool texts", i, len(texts))
    embedder.save()
    return np.concatenate(out).astype(np.float32)


NOISE_VECTORS = 997  # prime: (pool text, noise) pairs repeat only after ~pool x 997 memories


def noise_vectors(sigma: float, seed: int) -> np.ndarray[Any, Any]:
    rng = np.random.default_rng(seed)
    return (rng.standard_normal((NOISE_VECTORS, DIM)) * sigma).astype(np.float32)


def noise_index(seq: int) -> int:
    """Which noise vector memory number `seq` (from 1) gets."""
    return (seq * 7919) % NOISE_VECTORS


# -- PostgreSQL bulk load ----------------------------------------------------------------


def _vec_text(v: np.ndarray[Any, Any]) -> str:
    return "[" + ",".join(f"{x:.9g}" for x in v.tolist()) + "]"


LOADED_TABLES = ("turns", "episodes", "episode_sources")


def pg_secondary_indexes(conn: Any) -> list[tuple[str, str]]:
    """(name, definition) of the loaded tables' indexes that back no constraint."""
    rows = conn.execute(
        "SELECT i.indexname, i.indexdef FROM pg_indexes i "
        "WHERE i.schemaname = 'public' AND i.tablename = ANY(%s) AND NOT EXISTS "
        "(SELECT 1 FROM pg_constraint c WHERE c.conindid = (quote_ident(i.indexname))::regclass) "
        "ORDER BY i.tablename, i.indexname",
        [list(LOADED_TABLES)],
    ).fetchall()
    return [(str(r[0]), str(r[1])) for r in rows]


def pg_bulk_load(
    url: str,
    tenant_id: int,
    population: Population,
    texts: Sequence[str],
    vectors: np.ndarray[Any, Any],
    chunk: int,
    noise: np.ndarray[Any, Any] | None = None,
) -> dict[str, Any]:
    import psycopg

    timings: dict[str, Any] = {}
    started = time.perf_counter()
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("SET synchronous_commit = off")
        conn.execute(
            "CREATE UNLOGGED TABLE scale_pool (idx integer PRIMARY KEY, content text NOT NULL, "
            f"embedding vector({DIM}) NOT NULL)"
        )
        with conn.cursor().copy("COPY scale_pool (idx, content, embedding) FROM STDIN") as cp:
            for i, (text, vec) in enumerate(zip(texts, vectors, strict=True)):
                cp.write_row((i, text, _vec_text(vec)))
        conn.execute(
            f"CREATE UNLOGGED TABLE scale_noise (idx integer PRIMARY KEY, v vector({DIM}) NOT NULL)"
        )
        with conn.cursor().copy("COPY scale_noise (idx, v) FROM STDIN") as cp:
            zero = np.zeros(DIM, np.float32)
            for i in range(NOISE_VECTORS):
                cp.write_row((i, _vec_text(noise[i] if noise is not None else zero)))
        # The memory's vector: its text's vector, plus its noise vector, renormalised.
        vector_sql = "l2_normalize(p.embedding + n.v)" if noise is not None else "p.embedding"
        noise_join = (
            f"JOIN scale_noise n ON n.idx = (s.seq * 7919) %% {NOISE_VECTORS}"
            if noise is not None
            else ""
        )
        indexes = pg_secondary_indexes(conn)
        for name, _ in indexes:
            conn.execute(f'DROP INDEX "{name}"'.encode())
        conn.execute(
            'CREATE UNLOGGED TABLE scale_stage (seq bigint, user_id text COLLATE "C", '
            'session_id text COLLATE "C", turn_id text COLLATE "C", role text, '
            "pool_idx integer, event_time timestamptz, created_at timestamptz, ep_id text)"
        )
        from tessera_server.engine.ids import new_episode_id

        empty = json.dumps({}, separators=(",", ":"))
        users_per_chunk = max(1, chunk * population.users // max(1, population.memories))
        seq = 0
        created = datetime.now(timezone.utc)
        loaded = 0
        for first in range(0, population.users, users_per_chunk):
            last = min(population.users, first + users_per_chunk)
            with conn.transaction():
                with conn.cursor().copy(
                    "COPY scale_stage (seq, user_id, session_id, turn_id, role, pool_idx, "
                    "event_time, created_at, ep_id) FROM STDIN"
                ) as cp:
                    for uid, sid, tid, role, idx, when in population.rows(first, last):
                        seq += 1
                        cp.write_row(
                            (
                                seq,
                                uid,
                                sid,
                                tid,
                                role,
                                idx,
                                when,
                                created + timedelta(microseconds=seq),
                                new_episode_id(),
                            )
                        )
                # What Memory._store_turn writes for an infer=false add: the turn, then its
                # note episode (same text, role, time, metadata, vector) and its source link.
                n = conn.execute(
                    "INSERT INTO turns (tenant_id, user_id, session_id, turn_id, role, content, "
                    "event_time, metadata, infer, embedding, created_at) "
                    "SELECT %s, s.user_id, s.session_id, s.turn_id, s.role, p.content, "
                    f"s.event_time, %s, false, {vector_sql}, s.created_at "
                    f"FROM scale_stage s JOIN scale_pool p ON p.idx = s.pool_idx {noise_join} "
                    "ORDER BY s.seq",
                    (tenant_id, empty),
                ).rowcount
                conn.execute(
                    "INSERT INTO episodes (id, tenant_id, user_id, session_id, kind, text, role, "
                    "event_time, importance, metadata, meta, pinned, attrs, embedding, "
                    "created_at) SELECT s.ep_id, %s, s.user_id, s.session_id, 'note', "
                    "p.content, s.role, s.event_time, 0.5, %s, %s::jsonb, false, %s, "
                    f"{vector_sql}, s.created_at "
                    f"FROM scale_stage s JOIN scale_pool p ON p.idx = s.pool_idx {noise_join} "
                    "ORDER BY s.seq",
                    (tenant_id, empty, empty, empty),
                )
                conn.execute(
                    "INSERT INTO episode_sources (episode_pk, turn_pk) SELECT e.pk, t.pk "
                    "FROM scale_stage s JOIN episodes e ON e.id = s.ep_id JOIN turns t "
                    "ON t.tenant_id = %s AND t.user_id = s.user_id "
                    "AND t.session_id = s.session_id AND t.turn_id = s.turn_id",
                    (tenant_id,),
                )
                conn.execute("TRUNCATE scale_stage")
            loaded += n
            log.info(
                "loaded %d/%d memories (%.0f/s)",
                loaded,
                population.memories,
                loaded / (time.perf_counter() - started),
            )
        timings["rows_seconds"] = round(time.perf_counter() - started, 1)
        conn.execute("DROP TABLE scale_stage")
        conn.execute("DROP TABLE scale_pool")
        conn.execute("DROP TABLE scale_noise")
        conn.execute("SET maintenance_work_mem = '3GB'")
        conn.execute("SET max_parallel_maintenance_workers = 2")
        index_seconds: dict[str, float] = {}
        for name, definition in indexes:
            t0 = time.perf_counter()
            conn.execute(definition.encode())
            index_seconds[name] = round(time.perf_counter() - t0, 1)
            log.info("rebuilt index %s in %.1f s", name, index_seconds[name])
        conn.execute("VACUUM ANALYZE turns, episodes, episode_sources")
        timings["index_build_seconds"] = index_seconds
        timings["indexes_rebuilt"] = [d for _, d in indexes]
        timings["memories_loaded"] = loaded
    timings["total_seconds"] = round(time.perf_counter() - started, 1)
    return timings


def pg_sizes(url: str) -> dict[str, Any]:
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        tables = conn.execute(
            "SELECT c.relname, pg_total_relation_size(c.oid), pg_relation_size(c.oid), "
            "pg_indexes_size(c.oid), pg_total_relation_size(c.oid) - pg_relation_size(c.oid) "
            "- pg_indexes_size(c.oid), c.reltuples::bigint FROM pg_class c "
            "JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname = 'public' AND c.relkind = 'r' ORDER BY 2 DESC"
        ).fetchall()
        indexes = conn.execute(
            "SELECT s.relname, s.indexrelname, pg_relation_size(s.indexrelid), am.amname "
            "FROM pg_stat_user_indexes s JOIN pg_class c ON c.oid = s.indexrelid "
            "JOIN pg_am am ON am.oid = c.relam ORDER BY 3 DESC"
        ).fetchall()
        db = conn.execute("SELECT pg_database_size(current_database())").fetchone()
        settings: dict[str, str] = dict(
            conn.execute(
                "SELECT name, setting || coalesce(unit, '') FROM pg_settings WHERE name = ANY(%s)",
                [["shared_buffers", "work_mem", "effective_cache_size", "max_connections"]],
            ).fetchall()
        )
        versions = conn.execute(
            "SELECT current_setting('server_version'), "
            "(SELECT extversion FROM pg_extension WHERE extname = 'vector')"
        ).fetchone()
    mb = 1024 * 1024
    return {
        "database_mb": round(int(db[0]) / mb, 1) if db else None,
        "tables": {
            str(r[0]): {
                "total_mb": round(r[1] / mb, 1),
                "heap_mb": round(r[2] / mb, 1),
                "indexes_mb": round(r[3] / mb, 1),
                "toast_mb": round(r[4] / mb, 1),
                "rows": int(r[5]),
            }
            for r in tables
        },
        "indexes": {
            str(r[1]): {"table": str(r[0]), "mb": round(r[2] / mb, 1), "method": str(r[3])}
            for r in indexes
            if r[2] > 64 * 1024
        },
        "hnsw_mb": round(sum(r[2] for r in indexes if r[3] == "hnsw") / mb, 1),
        "server": {
            "version": versions[0] if versions else None,
            "pgvector": versions[1] if versions else None,
            **settings,
        },
    }


# -- SQLite bulk load --------------------------------------------------------------------


def sqlite_bulk_load(
    path: Path,
    tenant_id: int,
    population: Population,
    texts: Sequence[str],
    vectors: np.ndarray[Any, Any],
    chunk: int,
    noise: np.ndarray[Any, Any] | None = None,
) -> dict[str, Any]:
    """Through the store protocol, exactly as `Memory._store_turn` does, in big transactions."""
    from tessera_server.engine.ids import new_episode_id
    from tessera_server.engine.records import EpisodeRecord, TurnRecord
    from tessera_server.store.sqlite.store import SQLiteStore

    store = SQLiteStore(path, DIM)
    started = time.perf_counter()
    created = datetime.now(timezone.utc)
    loaded = 0
    users_per_chunk = max(1, chunk * population.users // max(1, population.memories))
    try:
        for first in range(0, population.users, users_per_chunk):
            last = min(population.users, first + users_per_chunk)
            with store.transaction():
                for uid, sid, tid, role, idx, when in population.rows(first, last):
                    loaded += 1
                    now = created + timedelta(microseconds=loaded)
                    vec = vectors[idx]
                    if noise is not None:
                        vec = vec + noise[noise_index(loaded)]
                        vec = (vec / np.linalg.norm(vec)).astype(np.float32)
                    turn, _ = store.insert_turn(
                        TurnRecord(
                            tenant_id=tenant_id,
                            user_id=uid,
                            session_id=sid,
                            turn_id=tid,
                            role=role,
                            content=texts[idx],
                            event_time=when,
                            metadata={},
                            infer=False,
                            created_at=now,
                            embedding=vec,
                        )
                    )
                    store.insert_episode(
                        EpisodeRecord(
                            id=new_episode_id(),
                            tenant_id=tenant_id,
                            user_id=uid,
                            session_id=sid,
                            kind="note",
                            text=texts[idx],
                            role=role,
                            event_time=when,
                            importance=0.5,
                            metadata={},
                            created_at=now,
                            source_turn_pks=[turn.pk] if turn.pk is not None else [],
                            embedding=vec,
                        )
                    )
            log.info(
                "loaded %d/%d memories (%.0f/s)",
                loaded,
                population.memories,
                loaded / (time.perf_counter() - started),
            )
    finally:
        store.close()
    return {"memories_loaded": loaded, "total_seconds": round(time.perf_counter() - started, 1)}


def sqlite_sizes(path: Path) -> dict[str, Any]:
    mb = 1024 * 1024
    out: dict[str, Any] = {
        "file_mb": round(path.stat().st_size / mb, 1),
        "wal_mb": round(os.path.getsize(f"{path}-wal") / mb, 1)
        if os.path.exists(f"{path}-wal")
        else 0.0,
    }
    conn = sqlite3.connect(path)
    try:
        rows = conn.execute(
            "SELECT d.name, m.type, m.tbl_name, sum(d.pgsize) FROM dbstat d "
            "LEFT JOIN sqlite_master m ON m.name = d.name GROUP BY d.name ORDER BY 4 DESC"
        ).fetchall()
        out["objects"] = {
            str(r[0]): {"type": r[1], "table": r[2], "mb": round(r[3] / mb, 1)}
            for r in rows
            if r[3] > 64 * 1024
        }
        per_table: dict[str, float] = {}
        for name, kind, table, size in rows:
            owner = str(table or name)
            # FTS5 shadow tables (turns_fts_data, …) belong to their virtual table.
            for suffix in ("_data", "_idx", "_content", "_docsize", "_config"):
                if kind == "table" and owner.endswith(suffix) and "_fts" in owner:
                    owner = owner[: -len(suffix)]
            per_table[owner] = per_table.get(owner, 0.0) + size / mb
        out["tables_mb"] = {k: round(v, 1) for k, v in sorted(per_table.items())}
        out["rows"] = {
            t: int(conn.execute(f'SELECT count(*) FROM "{t}"').fetchone()[0])
            for t in ("turns", "episodes")
        }
    except sqlite3.OperationalError as exc:  # dbstat not compiled in
        out["dbstat_error"] = str(exc)
    finally:
        conn.close()
    return out


# -- HTTP workloads ----------------------------------------------------------------------


class Client:
    def __init__(self, base_url: str, api_key: str) -> None:
        self.base_url = base_url
        self.headers = {"Authorization": f"Bearer {api_key}"}
        self._clients: dict[int, httpx.Client] = {}

    def _client(self) -> httpx.Client:
        import threading

        key = threading.get_ident()
        c = self._clients.get(key)
        if c is None:
            c = httpx.Client(base_url=self.base_url, headers=self.headers, timeout=600.0)
            self._clients[key] = c
        return c

    def post(self, path: str, body: dict[str, Any]) -> Any:
        return post_json(self._client(), path, body, attempts=8, retry_on=(429, 503))

    def close(self) -> None:
        for c in self._clients.values():
            c.close()


def timed_calls(
    client: Client, path: str, bodies: Sequence[dict[str, Any]], concurrency: int
) -> dict[str, float]:
    def one(body: dict[str, Any]) -> float:
        t0 = time.perf_counter()
        client.post(path, body)
        return time.perf_counter() - t0

    # Two warm-up calls (connections, caches) are not counted.
    for body in bodies[:2]:
        one(body)
    started = time.perf_counter()
    if concurrency <= 1:
        latencies = [one(b) for b in bodies]
    else:
        with ThreadPoolExecutor(max_workers=concurrency) as pool:
            latencies = list(pool.map(one, bodies))
    return summarise(latencies, time.perf_counter() - started)


def interleaved_calls(
    clients: dict[str, Client], path: str, bodies: Sequence[dict[str, Any]]
) -> dict[str, Any]:
    """Each body sent to every client in turn (the order alternating per body), one at a
    time: services compared under the same load, on the same requests."""
    names = list(clients)
    for body in bodies[:2]:  # warm-up, not counted
        for name in names:
            clients[name].post(path, body)
    latencies: dict[str, list[float]] = {name: [] for name in names}
    for i, body in enumerate(bodies):
        for name in names if i % 2 == 0 else reversed(names):
            t0 = time.perf_counter()
            clients[name].post(path, body)
            latencies[name].append(time.perf_counter() - t0)
    return {name: summarise(latencies[name]) for name in names}


def search_bodies(
    rng: random.Random, population: Population, questions: Sequence[str], n: int, **extra: Any
) -> list[dict[str, Any]]:
    return [
        {
            "user_id": population.user_id(rng.randrange(population.users)),
            "query": rng.choice(questions),
            **extra,
        }
        for _ in range(n)
    ]


# -- the bulk-loaded rows are the rows the API writes ------------------------------------

TURN_SKIP = {"pk", "user_id", "created_at", "embedding"}
EPISODE_SKIP = {"pk", "id", "user_id", "created_at", "embedding"}


def _rows(backend: str, db: str, table: str, user_id: str) -> list[dict[str, Any]]:
    if backend == "postgres":
        import psycopg
        from psycopg.rows import dict_row

        with psycopg.connect(db, autocommit=True, row_factory=dict_row) as conn:
            return [
                dict(r)
                for r in conn.execute(
                    f"SELECT *, embedding::text AS embedding FROM {table} "
                    "WHERE user_id = %s ORDER BY pk LIMIT 1",
                    (user_id,),
                ).fetchall()
            ]
    lite = sqlite3.connect(db, timeout=30)
    lite.row_factory = sqlite3.Row
    try:
        return [
            dict(r)
            for r in lite.execute(
                f"SELECT * FROM {table} WHERE user_id = ? ORDER BY pk LIMIT 1",
                (user_id,),
            ).fetchall()
        ]
    finally:
        lite.close()


def _vector(value: Any) -> np.ndarray[Any, Any]:
    if isinstance(value, str):
        return np.array(value.strip("[]").split(","), dtype=np.float32)
    if isinstance(value, bytes | bytearray | memoryview):
        return np.frombuffer(bytes(value), dtype=np.float32)
    return np.asarray(value, dtype=np.float32)


def fidelity_check(
    client: Client, backend: str, db: str, population: Population, texts: Sequence[str]
) -> dict[str, Any]:
    """Add through the API the first loaded memory again, for another user, and compare
    the rows: every column but keys, owner and creation time must be equal, and the
    vectors (embedded by the service itself this time) equal within float rounding."""
    uid, sid, tid, role, idx, when = next(population.rows(0, 1))
    check_user = "fidelity-check"
    client.post(
        "/v1/memories",
        {
            "user_id": check_user,
            "session_id": sid,
            "turn_id": tid,
            "role": role,
            "content": texts[idx],
            "event_time": when.isoformat(),
            "infer": False,
        },
    )
    out: dict[str, Any] = {"differences": []}
    for table, skip in (("turns", TURN_SKIP), ("episodes", EPISODE_SKIP)):
        loaded = _rows(backend, db, table, uid)
        written = _rows(backend, db, table, check_user)
        if not loaded or not written:
            out["differences"].append(f"{table}: row missing")
            continue
        a, b = loaded[0], written[0]
        if set(a) != set(b):
            out["differences"].append(f"{table}: columns differ")
        for col in sorted(set(a) - skip):
            if a.get(col) != b.get(col):
                out["differences"].append(f"{table}.{col}")
        va, vb = _vector(a["embedding"]), _vector(b["embedding"])
        out[f"{table}_vector_max_abs_diff"] = (
            float(np.max(np.abs(va - vb))) if va.shape == vb.shape else None
        )
    out["same_rows"] = not out["differences"]
    return out


# -- correctness of scoped k-NN ----------------------------------------------------------


def knn_check(
    store: Any,
    tenant_id: int,
    population: Population,
    questions: Sequence[str],
    n: int,
    k: int,
    rng: random.Random,
) -> dict[str, Any]:
    """recall@k of the store's scoped dense search against an exact scan of the user's
    vectors (ties broken by score: a returned row counts if it scores at least the k-th)."""
    from tessera_server.engine.records import EpisodePool, Scope

    from .embedder import ServiceEmbedder

    embedder = ServiceEmbedder()
    asked = [rng.choice(questions) for _ in range(n)]
    qvecs = embedder.embed(asked)
    users = [population.user_id(rng.randrange(population.users)) for _ in range(n)]
    out: dict[str, Any] = {"queries": n, "k": k}
    exact_max = getattr(store, "exact_max", None)
    hnsw = exact_max is not None  # PostgreSQL: the index path can be forced
    plans = [("configured", exact_max, n)] + ([("hnsw_forced", 0, min(n, 40))] if hnsw else [])
    for label, limit, count in plans:
        if hnsw:
            store.exact_max = limit
            store.exact_fallbacks = 0
        recalls: list[float] = []
        latencies: list[float] = []
        for uid, q in list(zip(users, qvecs, strict=True))[:count]:
            scope = Scope(tenant_id, uid, None)
            t0 = time.perf_counter()
            got = store.dense_episodes(EpisodePool(scope, KINDS), q, k)
            latencies.append(time.perf_counter() - t0)
            eps = store.episodes_in_scope(scope, KINDS)
            scores = sorted((float(np.dot(e.embedding, q)) for e in eps), reverse=True)
            if not scores:
                continue
            kth = scores[min(k, len(scores)) - 1]
            want = min(k, len(scores))
            hits = sum(1 for _, s in got if s >= kth - 1e-5)
            recalls.append(min(hits, want) / want)
        out[label] = {
            "recall_at_k": round(float(np.mean(recalls)), 4) if recalls else None,
            "min_recall": round(float(np.min(recalls)), 4) if recalls else None,
            "exact_fallbacks": getattr(store, "exact_fallbacks", None),
            **summarise(latencies),
        }
    if hnsw:
        store.exact_max = exact_max
    return out


def tenant_knn_check(
    store: Any, tenant_id: int, questions: Sequence[str], n: int, k: int, rng: random.Random
) -> dict[str, Any]:
    """The whole tenant as scope (all users, far above the exact-search limit, so HNSW):
    recall@k against an exact scan, when the store is asked for k rows and when it is asked
    for 50 (the depth the engine asks for at top_k 10), and how much lower the k-th score is."""
    import psycopg
    from tessera_server.engine.records import EpisodePool, Scope
    from tessera_server.store.postgres.adapt import register

    from .embedder import ServiceEmbedder

    embedder = ServiceEmbedder()
    qvecs = embedder.embed([rng.choice(questions) for _ in range(n)])
    asks = (k, 50)
    recalls: dict[int, list[float]] = {a: [] for a in asks}
    gaps: dict[int, list[float]] = {a: [] for a in asks}
    approx_lat: dict[int, list[float]] = {a: [] for a in asks}
    exact_lat: list[float] = []
    with psycopg.connect(store.db.url, autocommit=True) as conn:
        register(conn)
        for q in qvecs:
            t0 = time.perf_counter()
            with conn.transaction():
                conn.execute("SET LOCAL enable_indexscan = off")
                rows = conn.execute(
                    "SELECT id, -(embedding <#> %s) FROM episodes WHERE tenant_id = %s "
                    "AND kind = ANY(%s) ORDER BY embedding <#> %s LIMIT %s",
                    (q, tenant_id, list(KINDS), q, k),
                ).fetchall()
            exact_lat.append(time.perf_counter() - t0)
            if not rows:
                continue
            exact_ids = {str(r[0]) for r in rows}
            for a in asks:
                t0 = time.perf_counter()
                got = store.dense_episodes(EpisodePool(Scope(tenant_id, None, None), KINDS), q, a)
                approx_lat[a].append(time.perf_counter() - t0)
                top = got[:k]
                recalls[a].append(len(exact_ids & {i for i, _ in top}) / len(rows))
                if len(top) >= len(rows):
                    gaps[a].append(float(rows[-1][1]) - float(top[len(rows) - 1][1]))
    out: dict[str, Any] = {"queries": n, "k": k, "exact_scan": summarise(exact_lat)}
    for a in asks:
        out[f"asked_{a}"] = {
            "recall_at_k": round(float(np.mean(recalls[a])), 4) if recalls[a] else None,
            "kth_score_gap_mean": round(float(np.mean(gaps[a])), 5) if gaps[a] else None,
            "hnsw": summarise(approx_lat[a]),
        }
    out["recall_at_k"] = out[f"asked_{k}"]["recall_at_k"]
    return out


def store_reads(
    store: Any,
    tenant_id: int,
    population: Population,
    questions: Sequence[str],
    n: int,
    rng: random.Random,
) -> dict[str, Any]:
    from tessera_server.engine.records import EpisodePool, Scope

    from .embedder import ServiceEmbedder

    embedder = ServiceEmbedder()
    asked = [rng.choice(questions) for _ in range(n)]
    qvecs = embedder.embed(asked)
    dense: list[float] = []
    lexical: list[float] = []
    for text, q in zip(asked, qvecs, strict=True):
        scope = Scope(tenant_id, population.user_id(rng.randrange(population.users)), None)
        t0 = time.perf_counter()
        store.dense_episodes(EpisodePool(scope, KINDS), q, 50)
        dense.append(time.perf_counter() - t0)
        # Every word of 3+ letters, stop words kept (the engine drops them first), so this
        # is the harder case of what a search's lexical arm asks of the store.
        terms = [w.strip("?,.!").lower() for w in text.split() if len(w) > 2]
        t0 = time.perf_counter()
        store.lexical_episodes(EpisodePool(scope, KINDS), terms, 50)
        lexical.append(time.perf_counter() - t0)
    return {"dense_episodes": summarise(dense), "lexical_episodes": summarise(lexical)}


def _plan_totals(conn: Any, sql: str, args: Sequence[Any]) -> dict[str, Any]:
    """Shared buffers (hit + read) and the indexes one statement's plan used, from EXPLAIN
    (ANALYZE, BUFFERS): robust to the machine's load, unlike its time."""
    plan = conn.execute("EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) " + sql, args).fetchone()
    top = (plan[0] if isinstance(plan, tuple) else next(iter(plan.values())))[0]["Plan"]
    indexes: set[str] = set()
    scanned = 0  # rows the scan nodes produced plus those their filters removed
    stack = [top]
    while stack:
        node = stack.pop()
        if "Index Name" in node:
            indexes.add(str(node["Index Name"]))
        if "Scan" in str(node.get("Node Type", "")) and "Subquery" not in node["Node Type"]:
            for field_name in (
                "Actual Rows",
                "Rows Removed by Filter",
                "Rows Removed by Index Recheck",
            ):
                scanned += round(
                    float(node.get(field_name, 0)) * float(node.get("Actual Loops", 1))
                )
        stack.extend(node.get("Plans", []))
    return {
        "buffers": int(top.get("Shared Hit Blocks", 0)) + int(top.get("Shared Read Blocks", 0)),
        "rows_scanned": scanned,
        "indexes": sorted(indexes),
    }


def _spread(values: Sequence[float]) -> dict[str, float]:
    from .latency import percentile

    xs = list(values)
    return {
        "n": float(len(xs)),
        "p50": round(percentile(xs, 50), 1),
        "p95": round(percentile(xs, 95), 1),
        "mean": round(sum(xs) / len(xs), 1) if xs else math.nan,
    }


def pg_lexical_compare(
    store: Any,
    tenant_id: int,
    population: Population,
    questions: Sequence[str],
    n: int,
    n_tenant: int,
    explain_n: int,
    rng: random.Random,
) -> dict[str, Any]:
    """The store's word search against the statement it ran before wave 5, same run.

    For each sampled question and scope (one random user, for turns and for episodes; and a
    few over the whole tenant), the store's call and the earlier statement (the one GIN-free-
    to-choose query, `lexical_sql(scan_scope=False)`, sent on the same connection pool) are
    timed interleaved, in alternating order, and their hits compared (ids and scores must be
    equal). The first `explain_n` of each are also run under EXPLAIN (ANALYZE, BUFFERS): the
    buffers and rows a statement touches do not move with the machine's load.
    """
    from tessera_server.engine.records import EpisodePool, Scope
    from tessera_server.store.postgres.filters import METADATA_JSON
    from tessera_server.store.postgres.store import CODEC, lexical_sql, tsquery_sql
    from tessera_server.store.sql.search import Candidates

    def terms_of(text: str) -> list[str]:
        return [w.strip("?,.!").lower() for w in text.split() if len(w) > 2]

    out: dict[str, Any] = {"lexical_scan_max": store.lexical_scan_max}
    cases = (("turns", False), ("episodes", False), ("episodes", True))
    for table, whole_tenant in cases:
        label = f"{table}_{'tenant' if whole_tenant else 'user'}"
        times: dict[str, list[float]] = {"before": [], "after": []}
        plans: dict[str, list[dict[str, Any]]] = {"before": [], "after": []}
        differing = 0
        for i in range(n_tenant if whole_tenant else n):
            user = None if whole_tenant else population.user_id(rng.randrange(population.users))
            scope = Scope(tenant_id, user, None)
            terms = terms_of(rng.choice(questions))
            found = (
                Candidates("turns", scope)
                if table == "turns"
                else Candidates.episodes(EpisodePool(scope, KINDS))
            )
            where, params = found.sql("x", CODEC, METADATA_JSON)
            query, qparams = tsquery_sql(terms)
            if not qparams:
                continue
            before_sql = lexical_sql(table, found.key, where, query, scan_scope=False)
            before_args = [*qparams, *params, 50]

            got: dict[str, list[tuple[Any, float]]] = {}
            for name in ("before", "after") if i % 2 == 0 else ("after", "before"):
                t0 = time.perf_counter()
                if name == "before":
                    with store.db.read() as conn:
                        rows = conn.execute(before_sql, before_args).fetchall()
                    got[name] = [(r["key"], float(r["rank"])) for r in rows]
                else:
                    got[name] = list(store._lexical_hits(found, terms, 50))
                times[name].append(time.perf_counter() - t0)
            differing += got["before"] != got["after"]
            if i < explain_n:
                with store.db.read() as conn:
                    plans["before"].append(_plan_totals(conn, before_sql, before_args))
                    cap = store.lexical_scan_max
                    scoped_sql = lexical_sql(table, found.key, where, query, scan_scope=True)
                    scoped_args = [*params, cap + 1, *qparams, cap, 50]
                    plan = _plan_totals(conn, scoped_sql, scoped_args)
                    first = conn.execute(scoped_sql, scoped_args).fetchone()
                    scan = first is None or int(first["n"]) <= cap
                    if not scan:  # the store then asks the GIN index: both statements count
                        wide = _plan_totals(conn, before_sql, before_args)
                        plan["buffers"] += wide["buffers"]
                        plan["rows_scanned"] += wide["rows_scanned"]
                        plan["indexes"] = sorted({*plan["indexes"], *wide["indexes"]})
                    plan["scanned_scope"] = scan
                    plans["after"].append(plan)
        cell: dict[str, Any] = {"queries": len(times["after"]), "hits_differing": differing}
        for name in ("before", "after"):
            cell[name] = {
                **summarise(times[name]),
                "buffers": _spread([p["buffers"] for p in plans[name]]),
                "rows_scanned": _spread([p["rows_scanned"] for p in plans[name]]),
                "plans_with_gin": sum(
                    any(ix.endswith("_tsv") for ix in p["indexes"]) for p in plans[name]
                ),
                "explained": len(plans[name]),
            }
        out[label] = cell
        log.info("lexical %s: %s", label, cell)
    return out


# -- ingest with worker processes ------------------------------------------------------


def jobs_state(backend: str, url: str, prefix: str) -> dict[str, int]:
    sql = "SELECT status, count(*) FROM jobs WHERE user_id LIKE '{p}%' GROUP BY status".replace(
        "{p}", prefix
    )
    if backend == "postgres":
        import psycopg

        with psycopg.connect(url, autocommit=True) as conn:
            return {str(r[0]): int(r[1]) for r in conn.execute(sql.encode()).fetchall()}
    lite = sqlite3.connect(url, timeout=30)
    try:
        return {str(r[0]): int(r[1]) for r in lite.execute(sql).fetchall()}
    finally:
        lite.close()


def consolidated_turns(backend: str, url: str, prefix: str) -> int:
    sql = f"SELECT count(*) FROM turns WHERE user_id LIKE '{prefix}%' AND consolidated"
    if backend == "postgres":
        import psycopg

        with psycopg.connect(url, autocommit=True) as conn:
            row = conn.execute(sql.encode()).fetchone()
    else:
        conn2 = sqlite3.connect(url, timeout=30)
        try:
            row = conn2.execute(sql).fetchone()
        finally:
            conn2.close()
    return int(row[0]) if row else 0


@contextmanager
def worker_processes(env: dict[str, str], n: int, log_dir: Path) -> Iterator[list[Any]]:
    procs: list[subprocess.Popen[bytes]] = []
    logs = []
    try:
        for i in range(n):
            f = (log_dir / f"worker-{n}-{i}.log").open("wb")
            logs.append(f)
            procs.append(
                subprocess.Popen(
                    [sys.executable, "-m", "tessera_server", "worker", "--threads", "1"],
                    env=env,
                    stdout=f,
                    stderr=subprocess.STDOUT,
                )
            )
        yield procs
    finally:
        for p in procs:
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
        for p in procs:
            try:
                p.wait(timeout=60)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
        for f in logs:
            f.close()


def ingest_with_workers(
    client: Client,
    backend: str,
    db: str,
    env: dict[str, str],
    counts: Sequence[int],
    users: int,
    turns: int,
    texts: Sequence[str],
    log_dir: Path,
    rng: random.Random,
) -> dict[str, Any]:
    out: dict[str, Any] = {}
    clock = datetime(2025, 1, 1, tzinfo=timezone.utc)
    for n in counts:
        prefix = f"ingest-w{n}-"
        bodies = []
        for u in range(users):
            msgs = []
            for j in range(turns):
                clock += timedelta(seconds=30)
                msgs.append(
                    {
                        "role": "user" if j % 2 == 0 else "assistant",
                        "content": rng.choice(texts),
                        "turn_id": f"t{j:03d}",
                    }
                )
            bodies.append(
                {"user_id": f"{prefix}{u:04d}", "infer": True, "mode": "async", "messages": msgs}
            )
        if n == counts[0]:
            warm_up(client)  # the service's model lanes loaded before the first ingest
        t0 = time.perf_counter()
        for body in bodies:
            client.post("/v1/memories:batch", body)
        api_seconds = time.perf_counter() - t0
        queued = jobs_state(backend, db, prefix)
        total_jobs = sum(queued.values())
        with worker_processes(env, n, log_dir):
            first_claim: float | None = None
            deadline = time.monotonic() + 3600
            while time.monotonic() < deadline:
                state = jobs_state(backend, db, prefix)
                now = time.perf_counter()
                if first_claim is None and state.get("queued", 0) < total_jobs:
                    first_claim = now
                if not state.get("queued") and not state.get("running"):
                    break
                time.sleep(0.1)
            finished = time.perf_counter()
        state = jobs_state(backend, db, prefix)
        done = consolidated_turns(backend, db, prefix)
        wall = finished - (first_claim or finished)
        # What was embedded per turn: a turns/s figure moves with the text it is made of.
        embedded = embedded_work(backend, db, prefix)
        out[str(n)] = {
            "workers": n,
            "users": users,
            "turns": users * turns,
            "jobs": total_jobs,
            "job_states": state,
            "turns_consolidated": done,
            "api_add_turns_per_second": round(users * turns / api_seconds, 1),
            "drain_seconds": round(wall, 2),
            "turns_consolidated_per_second": round(done / wall, 1) if wall else None,
            "add_tokens_per_turn": round(embedded["turns"]["tokens"] / (users * turns), 1),
            **per_consolidated_turn(embedded, done),
        }
        log.info("ingest with %d worker(s): %s", n, out[str(n)])
    return out


# -- the run -----------------------------------------------------------------------------


@dataclass
class Target:
    backend: str
    url: str  # TESSERA_DATABASE_URL
    db: str  # psycopg URL, or the SQLite path
    stop: list[Any] = field(default_factory=list)
    pg_pid: int | None = None


def tenant_id_of(target: Target) -> int:
    if target.backend == "postgres":
        import psycopg

        with psycopg.connect(target.db, autocommit=True) as conn:
            row = conn.execute("SELECT id FROM tenants WHERE name = %s", (TENANT,)).fetchone()
    else:
        conn2 = sqlite3.connect(target.db)
        try:
            row = conn2.execute("SELECT id FROM tenants WHERE name = ?", (TENANT,)).fetchone()
        finally:
            conn2.close()
    assert row is not None
    return int(row[0])


def _scale_doc(
    args: argparse.Namespace,
    name: str,
    pool_texts: int,
    concurrency: tuple[int, ...],
    counts: tuple[int, ...],
    embed_seconds: float,
) -> dict[str, Any]:
    """The result document's head: what was run, where, with which settings and method."""
    from .report import command_line, git_commit, machine_info

    return {
        "benchmark": "scale",
        "name": name,
        "backend": args.backend,
        "created_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "command": command_line(),
        "machine": machine_info(),
        "git_commit": git_commit(paths.repo_root()),
        "load_average_at_start": [round(x, 2) for x in os.getloadavg()],
        "settings": {
            "memories": args.memories,
            "users": args.users,
            "memories_per_user": args.memories // max(1, args.users),
            "pool_texts": pool_texts,
            "searches_per_cell": args.searches,
            "queries": args.queries,
            "concurrency": list(concurrency),
            "top_k": args.top_k,
            "workers": list(counts),
            "ingest_users": args.ingest_users,
            "ingest_turns_per_user": args.ingest_turns,
            "seed": args.seed,
            "vector_jitter": args.jitter,
        },
        "method": (
            "Verbatim memories (infer=false: a turn and its note episode, the rows "
            "POST /v1/memories writes) bulk-loaded outside the API: a pool of distinct real "
            "turns (LoCoMo, LongMemEval) embedded once with the service's embedder, reused "
            "across users, each user drawing its memories from the pool at random"
            + (
                f"; each memory's vector is its text's vector plus Gaussian noise (std-dev "
                f"{args.jitter} per dimension, cosine to the original about "
                f"{1 / math.sqrt(1 + DIM * args.jitter**2):.3f}), renormalised, so no two "
                "memories share a vector (pgvector's HNSW stores identical vectors once per "
                "10 rows, which would shrink the index and the graph). "
                if args.jitter > 0
                else ". "
            )
            + (
                "PostgreSQL: set-based INSERT … SELECT from a staged COPY; secondary indexes "
                "dropped before and rebuilt after from their own definitions."
                if args.backend == "postgres"
                else "SQLite: through the store protocol (insert_turn, insert_episode) in "
                "large transactions."
            )
            + " Latencies are client side over loopback HTTP against `tessera serve`; "
            "the service, the database and the client share the machine."
        ),
        "pool_embed_seconds": round(embed_seconds, 1),
    }


def _open_target(args: argparse.Namespace, work: Path) -> tuple[Target, Any]:
    """The database to fill: a new PostgreSQL database on a throwaway server (returned, to
    stop), or a fresh SQLite file in the work folder."""
    if args.backend == "postgres" and args.database:
        return Target("postgres", args.database, args.database), None
    if args.backend == "postgres":
        from tessera_server.store.postgres import testserver

        server = testserver.start()
        url = server.create_database(prefix="scale")
        target = Target("postgres", url, url)
        pid_file = server.data / "postmaster.pid" if server.data else None
        if pid_file is not None and pid_file.exists():
            target.pg_pid = int(pid_file.read_text().split()[0])
        return target, server
    db_path = work / "tessera.db"
    for suffix in ("", "-wal", "-shm"):
        Path(f"{db_path}{suffix}").unlink(missing_ok=True)
    return Target("sqlite", f"sqlite:///{db_path}", str(db_path)), None


def _sizes(args: argparse.Namespace, target: Target) -> dict[str, Any]:
    return pg_sizes(target.db) if args.backend == "postgres" else sqlite_sizes(Path(target.db))


def _store_checks(
    args: argparse.Namespace,
    target: Target,
    tenant_id: int,
    population: Population,
    questions: list[str],
    rng: random.Random,
) -> dict[str, Any]:
    """In-process checks on the store: k-NN recall within a user (and over the tenant on
    PostgreSQL), and the store's reads alone."""
    store: Any
    if args.backend == "postgres":
        from tessera_server.store.postgres.store import PostgresStore

        store = PostgresStore(target.db, DIM)
    else:
        from tessera_server.store.sqlite.store import SQLiteStore

        store = SQLiteStore(Path(target.db), DIM)
    out: dict[str, Any] = {}
    try:
        out["knn_within_user"] = knn_check(
            store, tenant_id, population, questions, args.recall_queries, 10, rng
        )
        log.info("k-NN within a user: %s", out["knn_within_user"])
        if args.backend == "postgres":
            out["knn_whole_tenant"] = tenant_knn_check(
                store, tenant_id, questions, max(5, args.recall_queries // 5), 10, rng
            )
            log.info("k-NN over the whole tenant: %s", out["knn_whole_tenant"])
        out["store_reads"] = store_reads(
            store, tenant_id, population, questions, args.searches, rng
        )
        if args.backend == "postgres" and hasattr(store, "lexical_scan_max"):
            out["lexical_compare"] = pg_lexical_compare(
                store,
                tenant_id,
                population,
                questions,
                args.searches,
                5,  # whole-tenant queries: each ranks every match (seconds at 1M)
                40,
                random.Random(args.seed + 1),  # the search cells' draws stay as before
            )
    finally:
        store.close()
    return out


def _search_cells(
    args: argparse.Namespace,
    client: Client,
    population: Population,
    questions: list[str],
    concurrency: tuple[int, ...],
    rng: random.Random,
) -> dict[str, Any]:
    """Search latency with the reranker off and on, at each concurrency."""
    search: dict[str, Any] = {}
    for rerank in (False, True):
        cells: dict[str, Any] = {}
        for c in concurrency:
            bodies = search_bodies(
                rng, population, questions, args.searches, top_k=args.top_k, rerank=rerank
            )
            cells[f"c{c}"] = timed_calls(client, "/v1/search", bodies, c)
            log.info("search rerank=%s c%d: %s", rerank, c, cells[f"c{c}"])
        search["rerank_on" if rerank else "rerank_off"] = cells
    return search


def _reference_cell(
    args: argparse.Namespace,
    work: Path,
    extra_env: dict[str, str],
    client: Client,
    population: Population,
    questions: list[str],
) -> dict[str, Any]:
    """One-client searches (rerank off) alternating between this code's service and one
    running `--reference-src`, on the same database and the same bodies."""
    from tessera_server.testing import run_service

    env = {**extra_env, "PYTHONPATH": str(Path(args.reference_src).resolve())}
    bodies = search_bodies(
        random.Random(args.seed + 2), population, questions, args.searches, top_k=args.top_k
    )
    with run_service(work / "reference", env=env, tenant=TENANT) as ref:
        other = Client(ref.base_url, ref.api_key)
        try:
            cells = interleaved_calls({"current": client, "reference": other}, "/v1/search", bodies)
        finally:
            other.close()
    out = {
        "reference_src": str(args.reference_src),
        "load_average": [round(x, 2) for x in os.getloadavg()],
        **cells,
    }
    log.info("search interleaved with the reference code: %s", out)
    return out


def run_scale(args: argparse.Namespace) -> int:
    from tessera_server.testing import run_cli, run_service, service_env

    from .report import write_json

    data_dir: Path = args.data or paths.default_data_dir()
    out_dir: Path = args.out or paths.default_results_dir()
    name: str = args.name or f"scale-{args.backend}"
    work: Path = args.work or paths.default_work_dir() / name
    work.mkdir(parents=True, exist_ok=True)
    rng = random.Random(args.seed)
    pool, questions = load_pools(data_dir)
    texts = list(dict.fromkeys(pool.take(args.pool)))
    log.info("embedding a pool of %d distinct texts", len(texts))
    t0 = time.perf_counter()
    vectors = pool_vectors(texts, None if args.no_cache else paths.default_cache_dir())
    embed_seconds = time.perf_counter() - t0
    population = Population(args.memories, args.users, len(texts), args.seed)
    noise = noise_vectors(args.jitter, args.seed) if args.jitter > 0 else None
    concurrency = tuple(int(x) for x in args.concurrency.split(",") if x.strip())
    counts = tuple(int(x) for x in args.workers.split(",") if x.strip())
    doc = _scale_doc(args, name, len(texts), concurrency, counts, embed_seconds)
    server = None

    def stop(_signum: int, _frame: Any) -> None:
        raise KeyboardInterrupt  # run the clean-up below (stop PostgreSQL, delete its folder)

    signal.signal(signal.SIGTERM, stop)
    try:
        target, server = _open_target(args, work)
        extra_env = {
            "TESSERA_DATABASE_URL": target.url,
            "TESSERA_WORKER_ENABLED": "false",
            "TESSERA_RATE_LIMIT_PER_MINUTE": "10000000",
            "TESSERA_LOG_LEVEL": "warning",
        }
        env = service_env(work, extra_env)
        run_cli(env, "migrate")
        if not args.database:
            run_cli(env, "keys", "create", "--tenant", TENANT)
        tenant_id = tenant_id_of(target)
        if args.database:
            log.info("measuring the database already loaded at %s", args.database)
            doc["load"] = {"reused_database": True}
            earlier = out_dir / f"{args.loaded_by}.json" if args.loaded_by else None
            if earlier is not None and earlier.exists():
                loaded = json.loads(earlier.read_text(encoding="utf-8")).get("load", {})
                doc["load"] = {**loaded, "reused_database": True, "loaded_by": args.loaded_by}
        elif args.backend == "postgres":
            log.info("bulk-loading %d memories for %d users", args.memories, args.users)
            doc["load"] = pg_bulk_load(
                target.db, tenant_id, population, texts, vectors, args.chunk, noise
            )
        else:
            log.info("bulk-loading %d memories for %d users", args.memories, args.users)
            doc["load"] = sqlite_bulk_load(
                Path(target.db), tenant_id, population, texts, vectors, args.chunk, noise
            )
        doc["sizes"] = _sizes(args, target)
        write_json(out_dir / f"{name}.json", doc)
        log.info("sizes: %s", json.dumps(doc["sizes"])[:2000])
        doc.update(_store_checks(args, target, tenant_id, population, questions, rng))
        write_json(out_dir / f"{name}.json", doc)

        with run_service(work, env=extra_env, tenant=TENANT) as handle:
            client = Client(handle.base_url, handle.api_key)
            try:
                doc["service_rss_mb_idle"] = process_tree_rss_mb(handle.process.pid)
                doc["fidelity"] = fidelity_check(client, args.backend, target.db, population, texts)
                log.info("bulk-loaded rows against API-written rows: %s", doc["fidelity"])
                if args.settle > 0:
                    warm = search_bodies(rng, population, questions, 10)
                    settle(lambda: [client.post("/v1/search", b) for b in warm], args.settle)
                doc["settle_seconds"] = args.settle
                doc["search"] = _search_cells(args, client, population, questions, concurrency, rng)
                if args.reference_src:
                    doc["search_interleaved"] = _reference_cell(
                        args, work, extra_env, client, population, questions
                    )
                qbodies = search_bodies(rng, population, questions, args.queries, mode="chat")
                doc["query"] = {"chat_c1": timed_calls(client, "/v1/query", qbodies, 1)}
                log.info("query: %s", doc["query"])
                doc["service_rss_mb_after_reads"] = process_tree_rss_mb(handle.process.pid)
                if target.pg_pid is not None:
                    doc["postgres_rss_mb"] = process_tree_rss_mb(target.pg_pid)
                write_json(out_dir / f"{name}.json", doc)
                if args.backend == "sqlite":
                    # One worker only: the embedded store has a single writer, and the
                    # deployment guide runs exactly one `tessera worker` beside it.
                    counts = tuple(c for c in counts if c == 1) or (1,)
                doc["ingest"] = ingest_with_workers(
                    client,
                    args.backend,
                    target.db,
                    handle.env,
                    counts,
                    args.ingest_users,
                    args.ingest_turns,
                    texts,
                    work,
                    rng,
                )
            finally:
                client.close()
        doc["sizes_after"] = _sizes(args, target)
    finally:
        if server is not None and args.keep:
            log.info("PostgreSQL left running; the database: %s", target.url)
        elif server is not None:
            server.stop()
        elif args.backend == "sqlite" and not args.keep:
            for suffix in ("", "-wal", "-shm"):
                Path(f"{work / 'tessera.db'}{suffix}").unlink(missing_ok=True)
    write_json(out_dir / f"{name}.json", doc)
    write_scale_report(out_dir, current=name, plot=not args.no_plot)
    print((out_dir / "scale.md").read_text(encoding="utf-8"))
    return 0


# -- report ------------------------------------------------------------------------------


def _pp(cell: dict[str, Any] | None) -> str:
    if not cell:
        return "-"
    return f"{cell['p50_ms']:.1f} / {cell['p95_ms']:.1f}"


def _num(x: Any, places: int = 0) -> str:
    if x is None:
        return "-"
    return f"{x:,.{places}f}"


RESULT_STEMS = ("scale-postgres", "scale-sqlite", "scale-sqlite-1m")


def load_runs(out_dir: Path, current: str | Sequence[str] | None = None) -> list[dict[str, Any]]:
    """The runs shown side by side: `scale-postgres`, `scale-sqlite` and `scale-sqlite-1m`
    (a SQLite run at PostgreSQL's scale that stopped after the load), or the run(s) named by
    `current` in place of the run of their backend."""
    runs: dict[str, dict[str, Any]] = {}
    for stem in RESULT_STEMS:
        path = out_dir / f"{stem}.json"
        if path.exists():
            runs[stem] = json.loads(path.read_text(encoding="utf-8"))
    for name in [current] if isinstance(current, str) else list(current or ()):
        if name not in RESULT_STEMS and (out_dir / f"{name}.json").exists():
            doc = json.loads((out_dir / f"{name}.json").read_text(encoding="utf-8"))
            runs[f"scale-{doc.get('backend')}"] = doc
    return [runs[s] for s in RESULT_STEMS if s in runs]


def _label(r: dict[str, Any]) -> str:
    return f"{r['backend']}, {r['settings']['memories']:,}"


def scale_markdown(runs: Sequence[dict[str, Any]]) -> str:
    lines = ["## Scale — many memories across many users (`scale`)", ""]
    if not runs:
        return "\n".join([*lines, "No runs yet.", ""])
    lines += [
        "| figure | " + " | ".join(_label(r) for r in runs) + " |",
        "|---|" + "---:|" * len(runs),
    ]

    def row(label: str, cells: Sequence[str]) -> None:
        lines.append(f"| {label} | " + " | ".join(cells) + " |")

    def get(r: dict[str, Any], *keys: str) -> Any:
        cur: Any = r
        for k in keys:
            if not isinstance(cur, dict) or k not in cur:
                return None
            cur = cur[k]
        return cur

    row(
        "memories / users",
        [f"{r['settings']['memories']:,} / {r['settings']['users']:,}" for r in runs],
    )
    row("distinct texts (pool)", [_num(r["settings"]["pool_texts"]) for r in runs])
    row("bulk load, s", [_num(get(r, "load", "total_seconds"), 1) for r in runs])
    for rerank in ("rerank_off", "rerank_on"):
        for c in (1, 4):
            row(
                f"search p50 / p95 ms, {rerank.replace('_', ' ')}, {c} client(s)",
                [_pp(get(r, "search", rerank, f"c{c}")) for r in runs],
            )
    for c in (1, 4):
        row(
            f"search calls/s, rerank off, {c} client(s)",
            [_num(get(r, "search", "rerank_off", f"c{c}", "per_second"), 1) for r in runs],
        )
    if any(get(r, "search_interleaved") for r in runs):
        row(
            "search p50 / p95 ms, rerank off, 1 client, alternating with the reference code",
            [
                f"{_pp(get(r, 'search_interleaved', 'current'))} "
                f"(reference {_pp(get(r, 'search_interleaved', 'reference'))})"
                if get(r, "search_interleaved")
                else "-"
                for r in runs
            ],
        )
    row("query (chat) p50 / p95 ms", [_pp(get(r, "query", "chat_c1")) for r in runs])
    row(
        "store dense read p50 / p95 ms (one user)",
        [_pp(get(r, "store_reads", "dense_episodes")) for r in runs],
    )
    row(
        "store lexical read p50 / p95 ms (one user; all query words, stop words kept)",
        [_pp(get(r, "store_reads", "lexical_episodes")) for r in runs],
    )
    row(
        "k-NN recall@10 within a user (as configured)",
        [_num(get(r, "knn_within_user", "configured", "recall_at_k"), 3) for r in runs],
    )
    row(
        "k-NN recall@10 within a user, HNSW path forced",
        [
            _num(get(r, "knn_within_user", "hnsw_forced", "recall_at_k"), 3)
            + (
                f" ({get(r, 'knn_within_user', 'hnsw_forced', 'exact_fallbacks')} exact fallbacks)"
                if r["backend"] == "postgres"
                else ""
            )
            for r in runs
        ],
    )
    row(
        "k-NN recall@10 over the whole tenant (HNSW), store asked for 10",
        [_num(get(r, "knn_whole_tenant", "recall_at_k"), 3) for r in runs],
    )
    row(
        "same, store asked for 50 (the engine's depth at top_k 10)",
        [_num(get(r, "knn_whole_tenant", "asked_50", "recall_at_k"), 3) for r in runs],
    )
    for n in (1, 2, 4):
        row(
            f"consolidation, {n} worker(s), turns/s",
            [_num(get(r, "ingest", str(n), "turns_consolidated_per_second"), 1) for r in runs],
        )
    row(
        "API add (infer=true, async batches), turns/s",
        [_num(get(r, "ingest", "1", "api_add_turns_per_second"), 1) for r in runs],
    )
    row(
        "database size, MB",
        [_num(get(r, "sizes", "database_mb") or get(r, "sizes", "file_mb"), 0) for r in runs],
    )
    row(
        "turns: table / indexes MB",
        [_table(r, "turns") for r in runs],
    )
    row("episodes: table / indexes MB", [_table(r, "episodes") for r in runs])
    row(
        "HNSW indexes MB (turns + episodes)",
        [_num(get(r, "sizes", "hnsw_mb"), 0) if r["backend"] == "postgres" else "-" for r in runs],
    )
    row(
        "HNSW build s, turns / episodes (1M vectors each)",
        [
            f"{_num(get(r, 'load', 'index_build_seconds', 'turns_embedding'), 0)} / "
            f"{_num(get(r, 'load', 'index_build_seconds', 'episodes_embedding'), 0)}"
            if r["backend"] == "postgres"
            else "-"
            for r in runs
        ],
    )
    row("PostgreSQL RSS MB (after reads)", [_num(r.get("postgres_rss_mb"), 0) for r in runs])
    row(
        "service RSS MB (after reads)",
        [_num(r.get("service_rss_mb_after_reads"), 0) for r in runs],
    )
    lines += [""]
    for r in runs:
        m = r["machine"]
        lines += [
            f"**{_label(r)}** ({r['created_at']}): `nice -n 19 {r['command']}`  ",
            f"machine: {m.get('cpu')}, {m.get('cores')} cores, {m.get('memory_gb')} GB RAM, "
            f"{m.get('os')}; commit {r.get('git_commit')}; load average at start "
            f"{r.get('load_average_at_start')} (the machine is shared)",
            "",
        ]
        sizes = r.get("sizes", {})
        if r["backend"] == "postgres":
            server = sizes.get("server", {})
            lines += [
                f"PostgreSQL {server.get('version')}, pgvector {server.get('pgvector')}, "
                f"shared_buffers {server.get('shared_buffers')}.",
                "",
                "| index | table | method | MB |",
                "|---|---|---|---:|",
            ]
            for name, info in sizes.get("indexes", {}).items():
                lines.append(f"| {name} | {info['table']} | {info['method']} | {info['mb']:,} |")
            lines.append("")
        else:
            lines += ["| object (dbstat) | MB |", "|---|---:|"]
            for name, mb in sorted(sizes.get("tables_mb", {}).items(), key=lambda kv: -kv[1]):
                if mb >= 0.1:
                    lines.append(f"| {name} | {mb:,} |")
            lines.append("")
        sweep = r.get("hnsw_ef_sweep", {}).get("by_ef_search")
        if sweep:
            lines += [
                "Whole-tenant HNSW walk by `hnsw.ef_search` (20 queries, recall@10 against an "
                "exact scan):",
                "",
                "| ef_search | recall@10 | p50 ms | p95 ms |",
                "|---:|---:|---:|---:|",
                *(
                    f"| {ef} | {v['recall_at_10']:.3f} | {v['p50_ms']} | {v['p95_ms']} |"
                    for ef, v in sweep.items()
                ),
                "",
            ]
        lines += _lexical_compare_lines(r.get("lexical_compare"))
        lines += [r.get("method", ""), ""]
        if r.get("note"):
            lines += [f"Note: {r['note']}", ""]
    return "\n".join(lines)


def _lexical_compare_lines(cmp: dict[str, Any] | None) -> list[str]:
    """The store's word search against the statement it ran before, from the same run."""
    if not cmp:
        return []
    lines = [
        "Word search in the store (50 hits, every query word of 3+ letters): the statement "
        "before wave 5 (the planner free to start from the GIN postings) against the store's "
        f"call (scope-first up to {cmp['lexical_scan_max']:,} rows), interleaved in one run; "
        "buffers (shared hit + read) and rows scanned from EXPLAIN (ANALYZE, BUFFERS) of the "
        "first queries (the store's scope-first statement, and the GIN one after it when the "
        "scope is larger):",
        "",
        "| scope | statement | p50 / p95 ms | buffers p50 / p95 | rows scanned p50 / p95 "
        "| plans using GIN | hits differing |",
        "|---|---|---:|---:|---:|---:|---:|",
    ]
    for label, cell in cmp.items():
        if not isinstance(cell, dict):
            continue
        for name in ("before", "after"):
            c = cell[name]
            b, rows = c["buffers"], c["rows_scanned"]
            lines.append(
                f"| {label.replace('_', ', one ').replace('one tenant', 'whole tenant')} "
                f"| {'before' if name == 'before' else 'store (after)'} "
                f"| {_pp(c)} | {_num(b['p50'])} / {_num(b['p95'])} "
                f"| {_num(rows['p50'])} / {_num(rows['p95'])} "
                f"| {c['plans_with_gin']} of {c['explained']} "
                f"| {cell['hits_differing'] if name == 'after' else ''} |"
            )
    return [*lines, ""]


def _table(r: dict[str, Any], table: str) -> str:
    sizes = r.get("sizes", {})
    if r["backend"] == "postgres":
        t = sizes.get("tables", {}).get(table)
        if not t:
            return "-"
        return f"{t['heap_mb'] + t['toast_mb']:,.0f} / {t['indexes_mb']:,.0f}"
    objects = sizes.get("objects", {})
    heap = sum(o["mb"] for n, o in objects.items() if n == table)
    idx = sum(
        o["mb"] for n, o in objects.items() if o.get("table") == table and o.get("type") == "index"
    )
    fts = sizes.get("tables_mb", {}).get(f"{table}_fts")
    extra = f" (+ FTS {fts:,.0f})" if fts else ""
    return f"{heap:,.0f} / {idx:,.0f}{extra}"


def scale_plot(runs: Sequence[dict[str, Any]], path: Path) -> None:
    from .report import _pyplot

    plt = _pyplot()
    runs = [r for r in runs if r.get("search")]  # runs that stopped after the load have none
    fig, ax = plt.subplots(figsize=(7, 3.8))
    labels = []
    for i, r in enumerate(runs):
        for j, (key, cell) in enumerate(
            (f"{rr} c{c}", r.get("search", {}).get(rr, {}).get(f"c{c}"))
            for rr in ("rerank_off", "rerank_on")
            for c in (1, 4)
        ):
            if not cell:
                continue
            x = j + i * 0.4
            ax.bar(x, cell["p50_ms"], width=0.38, color=f"C{i}", alpha=0.9)
            ax.plot([x, x], [cell["p50_ms"], cell["p95_ms"]], color="black", lw=1)
            if i == 0:
                labels.append((j + 0.2, key.replace("_", " ")))
    ax.set_xticks([x for x, _ in labels], [lbl for _, lbl in labels])
    ax.set_ylabel("search latency ms (bar p50, line to p95)")
    handles = [plt.Rectangle((0, 0), 1, 1, color=f"C{i}") for i in range(len(runs))]
    ax.legend(
        handles,
        [f"{r['backend']} {r['settings']['memories']:,} memories" for r in runs],
        fontsize=8,
    )
    ax.set_title("search within one user")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def write_scale_report(
    out_dir: Path, *, current: str | Sequence[str] | None = None, plot: bool = True
) -> list[Path]:
    runs = load_runs(out_dir, current)
    md = out_dir / "scale.md"
    md.write_text(scale_markdown(runs), encoding="utf-8")
    written = [md]
    if plot and runs:
        png = out_dir / "scale.png"
        scale_plot(runs, png)
        written.append(png)
    return written


__all__ = [
    "Population",
    "add_arguments",
    "run_scale",
    "scale_markdown",
    "write_scale_report",
]
