"""The SQLite index holds int8 codes and still answers as a float32 scan does.

Unit tests on real SQLite files: vectors are kept in memory as one byte per dimension, the
codes only choose candidates, and the rows and scores a search returns are those of a full
float32 scan of the database's vectors, including among near-duplicates (clusters of rows
at a cosine of about 0.995, the hardest case for a coarse score).
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

import numpy as np
import pytest
from sqlite_items import items_database
from tessera_server.engine.records import Scope, Vector
from tessera_server.store.sqlite.dense import DenseIndex, DenseTable, top_k
from tessera_server.store.sqlite.int8 import approximate, candidates, quantize

DIM = 384
TABLE = DenseTable("items", ("grp",), lambda row: (float(row["grp"]),))
SCOPE = Scope(1, "u", None)


def clustered(rng: np.random.Generator, centres: int, copies: int) -> Vector:
    """`copies` noisy copies of each of `centres` unit vectors (cosine to the centre
    about 0.995), normalised: many near-ties, as in a scope that says similar things."""
    base = rng.standard_normal((centres, DIM)).astype(np.float32)
    rows = np.repeat(base / np.linalg.norm(base, axis=1, keepdims=True), copies, axis=0)
    rows += rng.standard_normal(rows.shape).astype(np.float32) * 0.005
    out: Vector = rows / np.linalg.norm(rows, axis=1, keepdims=True)
    return out


def database(path: Path, vectors: Vector) -> sqlite3.Connection:
    conn = items_database(path, ", grp INTEGER", autocommit=True)
    conn.execute("BEGIN")
    for i, vec in enumerate(vectors):
        conn.execute(
            "INSERT INTO items (id, tenant_id, user_id, session_id, embedding, grp) "
            "VALUES (?, 1, 'u', '', ?, ?)",
            (f"i{i}", vec.astype(np.float32).tobytes(), i % 4),
        )
    conn.execute("COMMIT")
    return conn


def test_codes_reconstruct_vectors_within_half_a_step() -> None:
    rng = np.random.default_rng(1)
    vectors = clustered(rng, 20, 5)
    vectors[3] = 0.0  # a row of zeros stays zeros
    codes, scales = quantize(vectors)
    assert codes.dtype == np.int8 and scales.dtype == np.float32
    assert np.abs(codes).max() == 127
    error = np.abs(codes * scales[:, None] - vectors)
    assert np.all(error <= scales[:, None] / 2 + 1e-7)
    assert not codes[3].any()


def test_approximate_scores_are_close_to_float32_ones() -> None:
    rng = np.random.default_rng(2)
    vectors = clustered(rng, 50, 4)
    codes, scales = quantize(vectors)
    for query in clustered(rng, 10, 1):
        approx = approximate(codes, scales, query)
        assert approx.shape == (len(vectors),)
        assert np.abs(approx - vectors @ query).max() < 5e-3


def test_a_large_entry_holds_one_byte_per_dimension(tmp_path: Path) -> None:
    rng = np.random.default_rng(3)
    conn = database(tmp_path / "a.db", clustered(rng, 100, 10))
    index = DenseIndex(DIM, ann_min_rows=None, exact_rows_in_memory=999)
    snap = index.snapshot(conn, TABLE, SCOPE)
    assert snap.codes.dtype == np.int8 and snap.codes.shape == (1000, DIM)
    assert snap.exact is None
    # Codes, per-row scales, the mask columns and keys: far below float32's 4 bytes a dimension.
    assert index.nbytes < 1000 * (DIM + 96)


def test_a_small_entry_keeps_float32_until_it_grows_past_the_limit(tmp_path: Path) -> None:
    rng = np.random.default_rng(5)
    vectors = clustered(rng, 100, 10)
    conn = database(tmp_path / "a.db", vectors[:600])
    index = DenseIndex(DIM, ann_min_rows=None, exact_rows_in_memory=800)
    snap = index.snapshot(conn, TABLE, SCOPE)
    assert snap.exact is not None and np.array_equal(snap.exact, vectors[:600])
    assert index.nbytes >= 600 * DIM * 4  # counted against the cache's byte bound
    conn.execute("BEGIN")
    for i, vec in enumerate(vectors[600:], start=600):
        conn.execute(
            "INSERT INTO items (id, tenant_id, user_id, session_id, embedding, grp) "
            "VALUES (?, 1, 'u', '', ?, 0)",
            (f"i{i}", vec.tobytes()),
        )
    conn.execute("COMMIT")
    grown = index.snapshot(conn, TABLE, SCOPE)
    assert grown.size == 1000 and grown.exact is None
    assert index.nbytes < 1000 * (DIM + 96)
    # The snapshot taken before still answers from the vectors it holds.
    assert snap.nearest(vectors[5], None, 1) == [(5, pytest.approx(1.0, abs=1e-6))]


@pytest.mark.parametrize("in_memory", [True, False], ids=["float32-in-memory", "float32-read"])
@pytest.mark.parametrize("limit", [1, 10, 50])
def test_search_returns_the_float32_top_k_and_scores(
    tmp_path: Path, limit: int, in_memory: bool
) -> None:
    rng = np.random.default_rng(4)
    vectors = clustered(rng, 150, 20)  # 3,000 rows in clusters of 20 near-duplicates
    conn = database(tmp_path / "a.db", vectors)
    index = DenseIndex(DIM, ann_min_rows=None, exact_rows_in_memory=5000 if in_memory else 0)
    snap = index.snapshot(conn, TABLE, SCOPE)
    assert (snap.exact is not None) == in_memory
    groups = snap.extra[:, 0]
    # Queries near stored rows: their clusters hold the near-ties that must be ordered right.
    queries = vectors[rng.choice(len(vectors), 30)] + rng.standard_normal((30, DIM)) * 0.02
    for query in (queries / np.linalg.norm(queries, axis=1, keepdims=True)).astype(np.float32):
        exact_scores = vectors @ query
        for mask in (None, groups != 1):
            found = snap.nearest(query, mask, limit)
            assert [i for i, _ in found] == top_k(exact_scores, mask, limit)
            # Float32 scores, up to the order a product sums in.
            assert [s for _, s in found] == pytest.approx(
                [float(exact_scores[i]) for i, _ in found], abs=1e-6
            )


def test_candidates_leave_a_margin_beyond_the_limit() -> None:
    assert candidates(10) >= 10 + 8  # 8 already sufficed at 100k real rows
    assert candidates(200) >= 300
