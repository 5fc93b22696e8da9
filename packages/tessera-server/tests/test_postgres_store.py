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
from tessera_server.engine.records import EpisodePool, EpisodeRecord, FilterSpec, Scope
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


def test_word_search_reads_a_small_scope_by_its_rows_with_the_same_answer(pg_url: str) -> None:
    """A scope of at most `exact_max` rows is matched on its own rows (the scope's index),
    a larger one through the tenant's word index: both give the same in-scope ranking."""
    words = ["tea", "garden", "piano", "lisbon", "rain", "dog", "chairs", "wedding"]
    small, large = PostgresStore(pg_url, DIM), PostgresStore(pg_url, DIM, exact_max=0)
    small.migrate()
    tenant, _ = small.ensure_tenant("acme", T0)
    users = 12
    with small.transaction():
        for i in range(users * 20):
            # Each user has every word, in one to three of its episodes' texts.
            text = " ".join([words[(i // users) % len(words)]] + words[: i % 3])
            small.insert_episode(
                EpisodeRecord(
                    id=f"ep_{i:05d}",
                    tenant_id=tenant,
                    user_id=f"user{i % users}",
                    session_id=None,
                    kind="episode",
                    text=f"{text} note {i}",
                    role="user",
                    event_time=T0,
                    importance=0.5,
                    metadata={},
                    created_at=T0,
                )
            )
    try:
        for user, terms in (("user3", ["tea", "piano"]), ("user7", ["rain"]), ("user0", ["x"])):
            pool = EpisodePool(Scope(tenant, user, None), ("episode",))
            got = small.lexical_episodes(pool, terms, 50)
            assert got == large.lexical_episodes(pool, terms, 50)
            found = small.get_episodes(Scope(tenant, user, None), [i for i, _ in got])
            assert len(found) == len(got)  # every hit is the user's own
            assert all(any(t in e.text.split() for t in terms) for e in found)
            assert len(got) >= (2 if terms != ["x"] else 0)
    finally:
        small.close()
        large.close()
