"""The SQLite backend's HNSW graphs for big scopes: same answers as an exact scan.

Unit tests on real SQLite files (the store's own tables where the store writes them): a
graph is built once a scope passes the threshold, proposes candidates that are scored
exactly, and never brings back removed rows, never ignores a mask, and finds rows it does
not hold yet. The threshold is lowered so a few hundred rows stand for 20k.
"""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pytest
from sqlite_items import items_database
from tessera_server.engine.records import Scope, TurnRecord, Vector
from tessera_server.store.sqlite import dense
from tessera_server.store.sqlite.dense import DenseIndex, DenseTable, Snapshot, top_k
from tessera_server.store.sqlite.search import _TURN_DENSE
from tessera_server.store.sqlite.store import SQLiteStore

DIM = 32
ROWS = 600
THRESHOLD = 200
NOW = datetime(2026, 1, 1, tzinfo=timezone.utc)
TABLE = DenseTable("items", ("grp",), lambda row: (float(row["grp"]),))
SCOPE = Scope(1, "u", None)


def unit(rng: np.random.Generator, n: int) -> Vector:
    v = rng.standard_normal((n, DIM)).astype(np.float32)
    out: Vector = v / np.linalg.norm(v, axis=1, keepdims=True)
    return out


def database(path: Path, vectors: Vector) -> sqlite3.Connection:
    conn = items_database(path, ", grp INTEGER", autocommit=True)
    conn.execute("BEGIN")
    for i, vec in enumerate(vectors):
        insert(conn, f"i{i}", vec, i % 10)
    conn.execute("COMMIT")
    return conn


def insert(conn: sqlite3.Connection, item: str, vec: Vector, grp: int = 0) -> None:
    conn.execute(
        "INSERT INTO items (id, tenant_id, user_id, session_id, embedding, grp) "
        "VALUES (?, 1, 'u', '', ?, ?)",
        (item, vec.astype(np.float32).tobytes(), grp),
    )


def bump(conn: sqlite3.Connection) -> None:
    """What the store does after removing or rewriting rows."""
    conn.execute(
        "INSERT INTO index_state (tenant_id, generation) VALUES (1, 1) "
        "ON CONFLICT(tenant_id) DO UPDATE SET generation = generation + 1"
    )


def exact(snap: Snapshot, query: Vector, mask: npt.NDArray[np.bool_] | None, k: int) -> list[str]:
    return [snap.ids[i] for i in top_k(snap.vectors @ query, mask, k)]


def ids(snap: Snapshot, found: list[tuple[int, float]]) -> list[str]:
    return [snap.ids[i] for i, _ in found]


def built(index: DenseIndex, conn: sqlite3.Connection, table: DenseTable = TABLE) -> Snapshot:
    index.snapshot(conn, table, SCOPE)
    index.wait()
    snap = index.snapshot(conn, table, SCOPE)
    assert snap.graph is not None
    return snap


def test_graph_answers_equal_exact_search_and_the_switch_is_invisible(tmp_path: Path) -> None:
    rng = np.random.default_rng(1)
    conn = database(tmp_path / "a.db", unit(rng, ROWS))
    index = DenseIndex(DIM, ann_min_rows=THRESHOLD)
    queries = unit(rng, 40)
    before = index.snapshot(conn, TABLE, SCOPE)
    assert before.graph is None  # the first search is exact; the graph comes later
    first = [before.nearest(q, None, 10) for q in queries]
    snap = built(index, conn)
    assert snap.graph is not None and len(snap.graph) == ROWS
    for q, old in zip(queries, first, strict=True):
        found = snap.nearest(q, None, 10)
        assert ids(snap, found) == exact(snap, q, None, 10) == ids(before, old)
        scores = snap.vectors @ q
        assert [s for _, s in found] == pytest.approx([float(scores[i]) for i, _ in found])


def test_small_scopes_never_get_a_graph(tmp_path: Path) -> None:
    rng = np.random.default_rng(2)
    conn = database(tmp_path / "a.db", unit(rng, THRESHOLD))
    index = DenseIndex(DIM, ann_min_rows=THRESHOLD)
    index.snapshot(conn, TABLE, SCOPE)
    index.wait()
    snap = index.snapshot(conn, TABLE, SCOPE)
    assert snap.graph is None
    q = unit(rng, 1)[0]
    assert [i for i, _ in snap.nearest(q, None, 20)] == top_k(snap.vectors @ q, None, 20)


def test_masks_are_respected_whether_broad_or_selective(tmp_path: Path) -> None:
    rng = np.random.default_rng(3)
    conn = database(tmp_path / "a.db", unit(rng, ROWS))
    index = DenseIndex(DIM, ann_min_rows=THRESHOLD)
    snap = built(index, conn)
    groups = snap.extra[:, 0]
    for q in unit(rng, 20):
        for mask in (groups < 6, groups == 3):  # graph with oversampling; a scan of 60 rows
            found = snap.nearest(q, mask, 10)
            assert all(mask[i] for i, _ in found)
            assert ids(snap, found) == exact(snap, q, mask, 10)


def test_removed_rows_never_come_back_and_changed_rows_move(tmp_path: Path) -> None:
    rng = np.random.default_rng(4)
    vectors = unit(rng, ROWS)
    conn = database(tmp_path / "a.db", vectors)
    index = DenseIndex(DIM, ann_min_rows=THRESHOLD)
    graph = built(index, conn).graph
    gone = [f"i{i}" for i in range(0, ROWS, 3)]
    conn.execute(f"DELETE FROM items WHERE id IN ({', '.join('?' for _ in gone)})", gone)
    target = unit(rng, 1)[0]
    conn.execute("UPDATE items SET embedding = ? WHERE id = 'i1'", (target.tobytes(),))
    bump(conn)
    snap = index.snapshot(conn, TABLE, SCOPE)
    assert graph is not None and snap.graph is graph  # kept, minus what changed
    assert len(graph) == ROWS - len(gone) - 1
    for i in range(0, ROWS, 3):  # each removed row's own vector as the query
        assert not set(ids(snap, snap.nearest(vectors[i], None, 50))) & set(gone)
    found = snap.nearest(target, None, 5)
    assert ids(snap, found)[0] == "i1" and found[0][1] == pytest.approx(1.0)
    for q in unit(rng, 20):
        assert ids(snap, snap.nearest(q, None, 10)) == exact(snap, q, None, 10)


def test_rows_the_graph_lacks_are_found_and_then_added(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    rng = np.random.default_rng(5)
    conn = database(tmp_path / "a.db", unit(rng, ROWS))
    index = DenseIndex(DIM, ann_min_rows=THRESHOLD)
    graph = built(index, conn).graph
    assert graph is not None
    fresh = unit(rng, 3)
    for n, vec in enumerate(fresh):
        insert(conn, f"new{n}", vec)
    snap = index.snapshot(conn, TABLE, SCOPE)
    assert len(graph) == ROWS  # too few new rows to wake the background thread
    for n, vec in enumerate(fresh):
        assert ids(snap, snap.nearest(vec, None, 1)) == [f"new{n}"]
    monkeypatch.setattr(dense, "CATCH_UP_AT", 1)
    insert(conn, "new3", unit(rng, 1)[0])
    index.snapshot(conn, TABLE, SCOPE)
    index.wait()
    assert len(graph) == ROWS + 4


def add_turns(store: SQLiteStore, vectors: Vector, first: int = 0, gaps: int = 0) -> list[int]:
    """Turns through the store, every `gaps`-th (if any) without a vector yet."""
    pks = []
    for n, vec in enumerate(vectors, start=first):
        turn, _ = store.insert_turn(
            TurnRecord(
                tenant_id=1,
                user_id="u",
                session_id="s",
                turn_id=f"t{n}",
                role="user",
                content=f"turn number {n}",
                event_time=NOW,
                metadata={},
                infer=False,
                embedding=None if gaps and n % gaps == 0 else vec,
                created_at=NOW,
            )
        )
        assert turn.pk is not None
        pks.append(turn.pk)
    return pks


def turn_store(path: Path) -> SQLiteStore:
    store = SQLiteStore(path, DIM)
    store.migrate()
    store.ensure_tenant("a", NOW)
    return store


def test_the_store_tables_with_turns_removed_by_the_store(tmp_path: Path) -> None:
    rng = np.random.default_rng(6)
    store = turn_store(tmp_path / "t.db")
    vectors = unit(rng, 300)
    pks = add_turns(store, vectors, gaps=7)  # some turns have no vector yet
    index = DenseIndex(DIM, ann_min_rows=100)
    snap = built(index, store.pool.conn, _TURN_DENSE)
    q = vectors[10]
    assert ids(snap, snap.nearest(q, snap.has_vector, 10)) == exact(snap, q, snap.has_vector, 10)
    assert ids(snap, snap.nearest(q, snap.has_vector, 1)) == [str(pks[10])]
    store.delete_turn_rows(1, [pks[10]])
    snap = index.snapshot(store.pool.conn, _TURN_DENSE, SCOPE)
    assert str(pks[10]) not in ids(snap, snap.nearest(q, snap.has_vector, 50))
    assert ids(snap, snap.nearest(q, snap.has_vector, 10)) == exact(snap, q, snap.has_vector, 10)
    store.close()


def test_rows_dropped_from_the_graph_do_not_hold_back_catching_up(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Deleted rows stay in the graph, masked; the rows searched beside it are counted
    without them, so new rows are added to the graph as soon as there are enough."""
    rng = np.random.default_rng(7)
    store = turn_store(tmp_path / "t.db")
    pks = add_turns(store, unit(rng, 300))
    index = DenseIndex(DIM, ann_min_rows=100)
    graph = built(index, store.pool.conn, _TURN_DENSE).graph
    assert graph is not None and len(graph) == 300
    monkeypatch.setattr(dense, "CATCH_UP_AT", 4)
    store.delete_turn_rows(1, pks[:3])
    index.snapshot(store.pool.conn, _TURN_DENSE, SCOPE)  # dropped, not rebuilt
    assert index.snapshot(store.pool.conn, _TURN_DENSE, SCOPE).graph is graph
    add_turns(store, unit(rng, 4), first=300)
    index.snapshot(store.pool.conn, _TURN_DENSE, SCOPE)
    index.wait()
    assert len(graph) == 304
    store.close()


def test_usearch_loads_before_onnxruntime() -> None:
    """usearch 2.26 crashed the interpreter when imported first; the pin keeps below it."""
    code = "import usearch.index, onnxruntime; print('ok')"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0 and done.stdout.strip() == "ok", done.stderr[-2000:]
