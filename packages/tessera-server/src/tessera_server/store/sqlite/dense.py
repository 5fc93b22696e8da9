"""Exact in-memory search per scope, vectors and words, kept in step with the database.

Rows live in SQLite; for each (table, scope) that is searched, one cache entry holds the
rows' ids, their vectors as a matrix, a few columns for masks (episode kind, fact times),
and BM25 postings of their text (`lexical.Postings`). An entry grows by appending rows
with a larger primary key. When rows are removed or their vectors, text or mask columns
change, the tenant's generation in `index_state` moves and the entry is rebuilt.
Exact search over 100k x 384 float32 takes about 10 ms with numpy on two cores, and BM25
over the scope's own postings a few ms, which keeps results exact and the file free of
extension modules.
"""

from __future__ import annotations

import sqlite3
import sys
import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from ..records import Scope, Vector
from .lexical import LexicalSnapshot, Postings

Extra = npt.NDArray[np.float64]
Mask = npt.NDArray[np.bool_]


@dataclass
class _Matrix:
    """A scope's rows: capacity grows geometrically, so appending never copies it all.

    Arrays are replaced when they grow and otherwise written only past `size`, so the
    views handed out by `snapshot` stay valid while later rows are appended.
    """

    generation: int
    dim: int
    width: int
    lexical: Postings | None = None
    max_pk: int = 0
    size: int = 0
    with_vector: int = 0
    ids: list[str] = field(default_factory=list)
    vectors: Vector = field(init=False)
    extra: Extra = field(init=False)
    has_vector: Mask = field(init=False)

    def __post_init__(self) -> None:
        # Empty until the first row: a scope with nothing in it costs next to nothing.
        self.vectors = np.zeros((0, self.dim), np.float32)
        self.extra = np.zeros((0, self.width), np.float64)
        self.has_vector = np.zeros(0, np.bool_)

    def reserve(self, needed: int) -> None:
        if needed <= len(self.vectors):
            return
        size = max(needed, len(self.vectors) + max(64, len(self.vectors) // 2))
        vectors = np.zeros((size, self.dim), np.float32)
        vectors[: self.size] = self.vectors[: self.size]
        extra = np.zeros((size, self.width), np.float64)
        extra[: self.size] = self.extra[: self.size]
        has_vector = np.zeros(size, np.bool_)
        has_vector[: self.size] = self.has_vector[: self.size]
        self.vectors, self.extra, self.has_vector = vectors, extra, has_vector

    def append_rows(self, rows: list[sqlite3.Row], spec: DenseTable) -> None:
        if not rows:
            return
        start, end = self.size, self.size + len(rows)
        self.reserve(end)
        blobs = [row["embedding"] for row in rows]
        present = np.fromiter((b is not None for b in blobs), np.bool_, len(blobs))
        if present.any():
            data = b"".join(b for b in blobs if b is not None)
            block = np.frombuffer(data, dtype=np.float32).reshape(-1, self.dim)
            self.vectors[start:end][present] = block
        self.has_vector[start:end] = present
        if self.width:
            self.extra[start:end] = [spec.to_extra(row) for row in rows]
        if self.lexical is not None:
            self.lexical.append([row["text"] or "" for row in rows], settle=False)
        self.ids.extend(str(row["id"]) for row in rows)
        self.with_vector += int(present.sum())
        self.size = end
        self.max_pk = int(rows[-1]["pk"])

    def snapshot(self) -> Snapshot:
        n = self.size
        return Snapshot(
            ids=self.ids,
            size=n,
            vectors=self.vectors[:n],
            extra=self.extra[:n],
            has_vector=None if self.with_vector == n else self.has_vector[:n],
            lexical=self.lexical.snapshot() if self.lexical is not None else None,
        )

    @property
    def nbytes(self) -> int:
        held = self.vectors.nbytes + self.extra.nbytes + self.has_vector.nbytes
        # The id list: a pointer per row plus the string objects (about 50 + length bytes).
        per_id = 49 + len(self.ids[0]) if self.ids else 0
        held += sys.getsizeof(self.ids) + per_id * len(self.ids)
        if self.lexical is not None:
            held += self.lexical.nbytes
        return held


@dataclass(frozen=True)
class Snapshot:
    """A scope's rows as of one refresh. `ids` may be longer than `size`: index below it."""

    ids: list[str]
    size: int
    vectors: Vector
    extra: Extra
    has_vector: Mask | None  # None when every row has a vector
    lexical: LexicalSnapshot | None


@dataclass(frozen=True)
class DenseTable:
    """How to read one table: its name, the columns kept beside each vector, and the text
    column to index for words. Without a text column only rows with a vector are read."""

    table: str
    extra_columns: tuple[str, ...]
    to_extra: Callable[[sqlite3.Row], tuple[float, ...]]
    id_column: str = "id"
    text_column: str | None = None


MAX_CACHED_MATRICES = 1024
BATCH_ROWS = 8192  # rows read and appended at a time, which bounds a first load's peak
# Past this many bytes over all entries, the least recently used go (never the one in use).
# A scope of 100k memories holds about 190 MB per table (vectors 154 MB, words 35 MB).
MAX_CACHED_BYTES = 1 << 30


class DenseIndex:
    """Caches one entry per (table, scope), the least recently used dropped past a bound.

    Without the bound, every distinct `user_id`/`session_id` ever searched would keep an
    entry in memory for the life of the process.
    """

    def __init__(
        self, dim: int, max_entries: int = MAX_CACHED_MATRICES, max_bytes: int = MAX_CACHED_BYTES
    ) -> None:
        self.dim = dim
        self.max_entries = max_entries
        self.max_bytes = max_bytes
        self._cache: OrderedDict[tuple[str, int, str | None, str | None], _Matrix] = OrderedDict()
        self._bytes: dict[tuple[str, int, str | None, str | None], int] = {}
        self._total = 0
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._cache)

    @property
    def nbytes(self) -> int:
        return self._total

    def clear(self) -> None:
        with self._lock:
            self._cache.clear()
            self._bytes.clear()
            self._total = 0

    def load(
        self, conn: sqlite3.Connection, spec: DenseTable, scope: Scope
    ) -> tuple[list[str], Vector, Extra]:
        """The scope's ids, vectors and extra columns, refreshed from the database."""
        snap = self.snapshot(conn, spec, scope)
        return snap.ids[: snap.size], snap.vectors, snap.extra

    def snapshot(self, conn: sqlite3.Connection, spec: DenseTable, scope: Scope) -> Snapshot:
        """The scope's rows, refreshed from the database."""
        gen_row = conn.execute(
            "SELECT generation FROM index_state WHERE tenant_id = ?", (scope.tenant_id,)
        ).fetchone()
        generation = int(gen_row[0]) if gen_row else 0
        key = (spec.table, scope.tenant_id, scope.user_id, scope.session_id)
        with self._lock:
            cached = self._cache.get(key)
            rebuilt = cached is None or cached.generation != generation
            if cached is None or cached.generation != generation:
                lexical = Postings() if spec.text_column is not None else None
                cached = _Matrix(generation, self.dim, len(spec.extra_columns), lexical)
                self._cache[key] = cached
            self._cache.move_to_end(key)
            filters: list[tuple[str, object]] = [("tenant_id", scope.tenant_id)]
            if scope.user_id is not None:
                filters.append(("user_id", scope.user_id))
            if scope.session_id is not None:
                filters.append(("session_id", scope.session_id))
            params: list[object] = [value for _, value in filters]
            vectors_only = " AND embedding IS NOT NULL" if spec.text_column is None else ""
            # A refresh walks the primary key from `max_pk`, over only the rows added since
            # the last one: the scope columns carry SQLite's unary `+` to keep the planner
            # off the scope indexes, which made it visit all of the scope's rows and sort
            # them (8 ms at 100k). A first load counts the scope's rows to size the arrays
            # once, and walks the scope index unless the scope is most of the table.
            plus = "+"
            if not cached.max_pk:
                scoped = " AND ".join(f"{column} = ?" for column, _ in filters)
                count_sql = f"SELECT count(*) FROM {spec.table} WHERE {scoped}{vectors_only}"
                count = int(conn.execute(count_sql, params).fetchone()[0])
                top = conn.execute(f"SELECT max(pk) FROM {spec.table}").fetchone()[0]
                cached.reserve(count)
                if 2 * count < int(top or 0):
                    plus = ""
            where = " AND ".join(f"{plus}{column} = ?" for column, _ in filters)
            columns = ["pk", f"{spec.id_column} AS id", "embedding", *spec.extra_columns]
            if spec.text_column is not None:
                columns.append(f"{spec.text_column} AS text")
            sql = (
                f"SELECT {', '.join(columns)} FROM {spec.table} "
                f"WHERE {where} AND pk > ?{vectors_only} ORDER BY pk"
            )
            cursor = conn.execute(sql, [*params, cached.max_pk])
            fresh = cursor.fetchmany(BATCH_ROWS)
            appended = False
            while fresh:
                cached.append_rows(fresh, spec)
                appended = True
                fresh = cursor.fetchmany(BATCH_ROWS)
            if cached.lexical is not None:
                cached.lexical.settle()
            if appended or rebuilt:
                self._account(key, cached.nbytes)
            self._evict(keep=key)
            return cached.snapshot()

    def _account(self, key: tuple[str, int, str | None, str | None], nbytes: int) -> None:
        self._total += nbytes - self._bytes.get(key, 0)
        self._bytes[key] = nbytes

    def _evict(self, keep: tuple[str, int, str | None, str | None]) -> None:
        while len(self._cache) > 1 and (
            len(self._cache) > self.max_entries or self._total > self.max_bytes
        ):
            oldest = next(iter(self._cache))
            if oldest == keep:
                break
            self._cache.popitem(last=False)
            self._total -= self._bytes.pop(oldest, 0)


def top_k(
    scores: npt.NDArray[np.floating[Any]], mask: npt.NDArray[np.bool_] | None, k: int
) -> list[int]:
    """Indexes of the k best scores (descending), among those the mask allows."""
    if scores.size == 0 or k <= 0:
        return []
    if mask is not None:
        scores = np.where(mask, scores, -np.inf).astype(scores.dtype)
    k = min(k, scores.size)
    part = np.argpartition(-scores, k - 1)[:k]
    order = part[np.argsort(-scores[part], kind="stable")]
    return [int(i) for i in order if np.isfinite(scores[i])]
