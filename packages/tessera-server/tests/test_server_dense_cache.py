"""The in-memory vector cache stays bounded however many scopes are searched.

A unit test beside the end-to-end suite: the bound cannot be observed over HTTP without
measuring the process, and the suite never asserts on resources or timings.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from sqlite_items import items_database
from tessera_server.engine.records import Scope
from tessera_server.store.sqlite.dense import DenseIndex, DenseTable

TABLE = DenseTable("items", (), lambda row: ())


def test_cache_is_bounded_and_least_recently_used_goes_first() -> None:
    conn = items_database()
    vec = np.ones(4, np.float32) / 2
    conn.execute(
        "INSERT INTO items (id, tenant_id, user_id, session_id, embedding) VALUES (?, 1, ?, '', ?)",
        ("a", "keep", vec.tobytes()),
    )
    index = DenseIndex(4, max_entries=8)
    keep = Scope(1, "keep", None)
    ids, matrix, _ = index.load(conn, TABLE, keep)
    assert ids == ["a"] and matrix.shape == (1, 4)
    for i in range(100):
        ids, matrix, _ = index.load(conn, TABLE, Scope(1, f"user-{i}", None))
        assert ids == [] and matrix.shape == (0, 4)
        if i % 4 == 0:
            index.load(conn, TABLE, keep)  # recently used: never evicted
        assert len(index) <= 8
    ids, matrix, _ = index.load(conn, TABLE, keep)
    assert ids == ["a"] and np.allclose(matrix[0], vec)


def test_matrices_grow_past_their_first_block() -> None:
    conn = items_database()
    index = DenseIndex(4)
    scope = Scope(1, "u", None)
    for batch in range(3):
        for i in range(50):
            vec = np.full(4, batch * 50 + i, np.float32)
            conn.execute(
                "INSERT INTO items (id, tenant_id, user_id, session_id, embedding) "
                "VALUES (?, 1, 'u', '', ?)",
                (f"i{batch * 50 + i}", vec.tobytes()),
            )
        ids, matrix, _ = index.load(conn, TABLE, scope)
        assert len(ids) == (batch + 1) * 50
        assert [float(row[0]) for row in matrix] == [float(n) for n in range(len(ids))]


def test_the_bound_and_the_graph_threshold_are_settings(tmp_path: Path) -> None:
    from tessera_server.config import load_settings
    from tessera_server.store import open_store
    from tessera_server.store.sqlite.store import SQLiteStore

    url = f"sqlite:///{tmp_path / 'cache.db'}"
    default = open_store(load_settings(database_url=url), dim=4)
    assert isinstance(default, SQLiteStore)
    assert (default.dense.max_bytes, default.dense.ann_min_rows) == (1 << 30, 20_000)
    tuned = open_store(
        load_settings(database_url=url, sqlite_cache_mb=64, sqlite_graph_min_rows=0), dim=4
    )
    assert isinstance(tuned, SQLiteStore)
    assert (tuned.dense.max_bytes, tuned.dense.ann_min_rows) == (64 << 20, None)
