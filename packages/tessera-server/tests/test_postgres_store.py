"""What only the PostgreSQL backend has: backend selection, migrations under concurrency, the
vector dimension guard, and the HNSW path (iterative scans keep filtered k-NN complete)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import pytest
from tessera_server.config import load_settings
from tessera_server.engine.records import EpisodePool, EpisodeRecord, FilterSpec, Scope, TurnRecord
from tessera_server.store import open_store

psycopg = pytest.importorskip("psycopg")
testserver = pytest.importorskip("tessera_server.store.postgres.testserver")
from tessera_server.store.postgres.store import PostgresStore  # noqa: E402

pytestmark = pytest.mark.postgres

T0 = datetime(2025, 1, 1, tzinfo=timezone.utc)
DIM = 16


@pytest.fixture
def pg_url() -> Iterator[str]:
    with testserver.database() as url:
        yield url


ALL_MIGRATIONS = [
    "0001_initial.sql",
    "0002_turn_order.sql",
    "0003_recent_episodes.sql",
    "0004_random_job_ids.sql",
    "0005_scope_page_indexes.sql",
]


def test_the_url_selects_the_backend(pg_url: str, tmp_path: Path) -> None:
    store = open_store(load_settings(database_url=pg_url, database_pool_size=2), DIM)
    try:
        assert store.backend == "postgres"
        assert store.migrate() == ALL_MIGRATIONS
        assert store.ping() and store.integrity_ok()
    finally:
        store.close()
    sqlite = open_store(load_settings(database_url=f"sqlite:///{tmp_path / 'x.db'}"), DIM)
    assert sqlite.backend == "sqlite"
    sqlite.close()
    with pytest.raises(ValueError, match="postgresql://"):
        open_store(load_settings(database_url="mysql://x"), DIM)


def test_processes_starting_together_migrate_once(pg_url: str) -> None:
    stores = [PostgresStore(pg_url, DIM, pool_size=1) for _ in range(4)]
    applied: list[list[str]] = []
    barrier = threading.Barrier(len(stores))

    def migrate(store: PostgresStore) -> None:
        barrier.wait()
        applied.append(store.migrate())

    threads = [threading.Thread(target=migrate, args=(s,)) for s in stores]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(applied) == [[], [], [], ALL_MIGRATIONS]
    with psycopg.connect(pg_url) as conn:
        count = conn.execute("SELECT count(*) FROM schema_migrations").fetchone()
        assert count == (len(ALL_MIGRATIONS),)
    for store in stores:
        store.close()


def test_a_database_made_for_another_embedder_is_refused(pg_url: str) -> None:
    PostgresStore(pg_url, DIM).migrate()
    other = PostgresStore(pg_url, DIM * 2)
    with pytest.raises(RuntimeError, match="16-dimensional"):
        other.migrate()
    other.close()


def test_hnsw_with_iterative_scans_keeps_scoped_knn_complete(pg_url: str) -> None:
    """Past `exact_max` rows, search walks the HNSW index; with filters that admit few rows
    (one user of many, one kind) it still returns a full, in-scope top k."""
    store = PostgresStore(pg_url, DIM, exact_max=0)
    store.migrate()
    tenant, _ = store.ensure_tenant("acme", T0)
    rng = np.random.default_rng(7)
    users, per_user = 40, 50
    vectors = rng.standard_normal((users * per_user, DIM)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    with store.transaction():
        for i, vector in enumerate(vectors):
            store.insert_episode(
                EpisodeRecord(
                    id=f"ep_{i:05d}",
                    tenant_id=tenant,
                    user_id=f"user{i % users}",
                    session_id=None,
                    kind="note" if (i // users) % 5 == 0 else "episode",
                    text=f"item {i}",
                    role="user",
                    event_time=T0,
                    importance=float((i // users) % 10) / 10,
                    metadata={},
                    created_at=T0,
                    embedding=vector,
                )
            )
    with psycopg.connect(pg_url, autocommit=True) as conn:
        conn.execute("ANALYZE episodes")
        conn.execute("SET enable_seqscan = off")
        plan = "\n".join(
            r[0]
            for r in conn.execute(
                "EXPLAIN SELECT id FROM episodes WHERE tenant_id = %s AND kind = 'episode' "
                "AND importance >= 0.9 ORDER BY embedding <#> %s::vector LIMIT 10",
                (tenant, str(vectors[0].tolist())),
            )
        )
        assert "episodes_embedding" in plan, plan  # the HNSW index serves filtered k-NN
    query = vectors[3]

    def rank(i: int) -> int:
        return (i // users) % 10

    cases = [
        # (scope, admitted rows): one user of forty, and the whole tenant with a filter
        # that admits one row in ten (the index walk must go on past its first candidates).
        (Scope(tenant, "user3", None), lambda i: i % users == 3 and rank(i) % 5 and rank(i) >= 5),
        (Scope(tenant, "user17", None), lambda i: i % users == 17 and rank(i) % 5 and rank(i) >= 5),
        (Scope(tenant, None, None), lambda i: rank(i) % 5 and rank(i) >= 9),
    ]
    threshold = {0: 0.5, 1: 0.5, 2: 0.9}
    for n, (scope, admits) in enumerate(cases):
        admitted = [i for i in range(users * per_user) if admits(i)]
        got = store.dense_episodes(
            EpisodePool(scope, ["episode"], [FilterSpec("importance", "gte", threshold[n])]),
            query,
            10,
        )
        found = [int(i.removeprefix("ep_")) for i, _ in got]
        assert len(found) == min(10, len(admitted))
        assert set(found) <= set(admitted)
        exact = sorted(admitted, key=lambda i: -float(vectors[i] @ query))[:10]
        assert len(set(found) & set(exact)) >= 8  # approximate, but close to exact
        scores = [s for _, s in got]
        assert scores == sorted(scores, reverse=True)
    assert store.exact_fallbacks == 0  # the iterative index scans were enough
    # Without iterative scans the walk stops after its first candidates, few of which pass
    # this filter; the search is then redone exactly rather than come back incomplete.
    store.iterative_scan = "off"
    scope, admits = cases[2]
    got = store.dense_episodes(
        EpisodePool(scope, ["episode"], [FilterSpec("importance", "gte", 0.9)]), query, 10
    )
    assert len(got) == 10 and store.exact_fallbacks == 1
    store.close()


def _index_scans(store: PostgresStore, index: str) -> int:
    """How often this transaction has read an index so far (the store joins it)."""
    conn = store.db.active
    assert conn is not None
    row = conn.execute("SELECT pg_stat_get_xact_numscans(%s::regclass) AS n", (index,)).fetchone()
    return int(row["n"]) if row else 0


def test_word_search_within_a_small_scope_reads_its_rows_not_the_tables_postings(
    pg_url: str,
) -> None:
    """The rule: a word search whose scope holds at most `lexical_scan_max` rows (one user)
    matches that scope's rows, read through its btree index, and never walks the table-wide
    GIN postings, however selective the words look to the planner; a larger scope (the whole
    tenant) is served by the GIN index. Both give the same hits with the same scores."""
    store = PostgresStore(pg_url, DIM)
    store.migrate()
    tenant, _ = store.ensure_tenant("acme", T0)
    rng = np.random.default_rng(3)
    words = [
        "apple",
        "river",
        "garden",
        "music",
        "travel",
        "coffee",
        "winter",
        "friend",
        "doctor",
        "movie",
    ]
    with store.transaction():
        for i in range(100):
            # A word the planner sees as rare across the table ("zebra") beside common ones.
            text = f"my {words[i % 10]} and {words[(i * 3) % 10]} today" + (
                " zebra" if i % 25 == 0 else ""
            )
            vector = rng.standard_normal(DIM).astype(np.float32)
            vector /= np.linalg.norm(vector)
            store.insert_turn(
                TurnRecord(tenant, "user3", None, f"t{i:03d}", "user", text, T0, {}, False, T0)
            )
            store.insert_episode(
                EpisodeRecord(
                    id=f"ep_{i:05d}",
                    tenant_id=tenant,
                    user_id="user3",
                    session_id=None,
                    kind="note",
                    text=text,
                    role="user",
                    event_time=T0,
                    importance=0.5,
                    metadata={},
                    created_at=T0,
                    embedding=vector,
                )
            )
    with psycopg.connect(pg_url, autocommit=True) as conn:
        # 200 other users with the same rows: the words' postings span the whole table.
        conn.execute(
            "INSERT INTO episodes (id, tenant_id, user_id, session_id, kind, text, role, "
            "event_time, importance, metadata, meta, pinned, attrs, embedding, created_at) "
            "SELECT e.id || '_' || g, tenant_id, 'other' || g, session_id, kind, text, role, "
            "event_time, importance, metadata, meta, pinned, attrs, embedding, created_at "
            "FROM episodes e, generate_series(1, 200) g"
        )
        conn.execute(
            "INSERT INTO turns (tenant_id, user_id, session_id, turn_id, role, content, "
            "event_time, metadata, infer, created_at) SELECT tenant_id, 'other' || g, "
            "session_id, turn_id, role, content, event_time, metadata, infer, created_at "
            "FROM turns t, generate_series(1, 200) g"
        )
        conn.execute("VACUUM ANALYZE episodes, turns")
    gin = PostgresStore(pg_url, DIM, lexical_scan_max=0)  # every scope asks the GIN index
    terms = ["zebra", "coffee"]
    try:
        for scope in (Scope(tenant, "user3", None), Scope(tenant, None, None)):
            small = scope.user_id is not None
            pool = EpisodePool(scope, ("note", "episode"))
            with store.transaction():
                seen = (_index_scans(store, "episodes_tsv"), _index_scans(store, "turns_tsv"))
                episodes = store.lexical_episodes(pool, terms, 10)
                turns = store.lexical_turns(scope, terms, 10)
                read = (_index_scans(store, "episodes_tsv"), _index_scans(store, "turns_tsv"))
            if small:
                assert read == seen, "a one-user word search walked the table's postings"
            else:
                assert read[0] > seen[0] and read[1] > seen[1]
            assert len(episodes) == len(turns) == 10
            assert [s for _, s in episodes] == sorted((s for _, s in episodes), reverse=True)
            assert episodes == gin.lexical_episodes(pool, terms, 10)
            assert turns == gin.lexical_turns(scope, terms, 10)
    finally:
        gin.close()
        store.close()
