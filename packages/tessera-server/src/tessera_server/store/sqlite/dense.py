"""Exact in-memory search per scope, vectors and words, kept in step with the database.

Rows live in SQLite; for each (table, scope) that is searched, one cache entry holds the
rows' ids, their vectors as a matrix of int8 codes (`int8.py`: a quarter of float32's
memory), a few columns for masks (episode kind, fact times),
and BM25 postings of their text (`lexical.Postings`). An entry grows by appending rows
with a larger primary key. Any other change moves the tenant's generation in `index_state`
and logs the rows it touched in `index_changes` (triggers write the log, `changes.py` moves the
generation at commit). An entry holding none of them only moves to
the new generation; one holding rows whose mask columns alone changed (a fact closed, an
episode pinned) re-reads them; rows deleted are dropped from its masks and word statistics;
an entry holding rows whose vectors or texts were replaced is rebuilt.
BM25 over the scope's own postings takes a few ms. Vectors are scanned in full (every
row's code) up to `ann.ANN_MIN_ROWS` allowed rows; past that an entry also gets an HNSW
graph (`ann.Graph`), built and kept up to date by one background thread per index, which
proposes candidates instead. Either way the best candidates by code are scored again
against their float32 vectors, so a search returns float32 scores: an entry of at most
`EXACT_ROWS_IN_MEMORY` rows keeps those beside its codes (a few MB, and reading them back
from the database cost a search more CPU than the int8 scan saved), a larger one reads them
from the database by primary key. Rows the graph does not hold yet (new, or changed since) are scanned beside
it, and searches scan every row until a graph is ready, so the switch is invisible except
for speed.
"""

from __future__ import annotations

import logging
import os
import queue
import sqlite3
import sys
import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from typing import Any

import numpy as np
import numpy.typing as npt

from ...engine.records import Scope, Vector
from ...logsafe import where
from .ann import ANN_MIN_ROWS, Graph
from .int8 import Codes, Scales, approximate, candidates, quantize
from .lexical import LexicalSnapshot, Postings

Extra = npt.NDArray[np.float64]
Mask = npt.NDArray[np.bool_]
Positions = npt.NDArray[np.int64]
Key = tuple[str, int, str | None, str | None]
# Reads the float32 vectors of rows by primary key: (the keys found, their vectors).
VectorReader = Callable[[Positions], tuple[Positions, Vector]]

log = logging.getLogger("tessera.store.sqlite")


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
    # Rows up to which the float32 vectors are kept too (`exact`); past it they are dropped.
    exact_limit: int = 0
    codes: Codes = field(init=False)  # the vectors as int8 codes (`int8.py`), row by row
    exact: Vector | None = field(init=False)  # float32 rows (zeros where none), while kept
    scales: Scales = field(init=False)
    extra: Extra = field(init=False)
    has_vector: Mask = field(init=False)
    pks: Positions = field(init=False)  # ascending: rows are read in primary key order
    # The graph, once built, and which rows it holds (`graphed` of them still live); `queued` while
    # the background thread has work for this entry.
    graph: Graph | None = None
    in_graph: Mask = field(init=False)
    graphed: int = 0
    queued: bool = False

    def __post_init__(self) -> None:
        # Empty until the first row: a scope with nothing in it costs next to nothing.
        self.codes = np.zeros((0, self.dim), np.int8)
        self.exact = np.zeros((0, self.dim), np.float32) if self.exact_limit else None
        self.scales = np.zeros(0, np.float32)
        self.extra = np.zeros((0, self.width), np.float64)
        self.has_vector = np.zeros(0, np.bool_)
        self.pks = np.zeros(0, np.int64)
        self.in_graph = np.zeros(0, np.bool_)

    def reserve(self, needed: int) -> None:
        if self.exact is not None and needed > self.exact_limit:
            self.exact = None  # a big scope: its float32 vectors are read from the database
        if needed <= len(self.codes):
            return
        size = max(needed, len(self.codes) + max(64, len(self.codes) // 2))
        codes = np.zeros((size, self.dim), np.int8)
        codes[: self.size] = self.codes[: self.size]
        if self.exact is not None:
            exact = np.zeros((min(size, self.exact_limit), self.dim), np.float32)
            exact[: self.size] = self.exact[: self.size]
            self.exact = exact
        scales = np.ones(size, np.float32)
        scales[: self.size] = self.scales[: self.size]
        extra = np.zeros((size, self.width), np.float64)
        extra[: self.size] = self.extra[: self.size]
        has_vector = np.zeros(size, np.bool_)
        has_vector[: self.size] = self.has_vector[: self.size]
        pks = np.zeros(size, np.int64)
        pks[: self.size] = self.pks[: self.size]
        in_graph = np.zeros(size, np.bool_)
        in_graph[: self.size] = self.in_graph[: self.size]
        self.codes, self.scales = codes, scales
        self.extra, self.has_vector = extra, has_vector
        self.pks, self.in_graph = pks, in_graph

    def append_rows(self, rows: list[sqlite3.Row], spec: DenseTable) -> None:
        if not rows:
            return
        start, end = self.size, self.size + len(rows)
        self.reserve(end)
        blobs = [row["embedding"] for row in rows]
        present = np.fromiter((b is not None for b in blobs), np.bool_, len(blobs))
        if present.any():
            data = b"".join(b for b in blobs if b is not None)
            vectors = np.frombuffer(data, dtype=np.float32).reshape(-1, self.dim)
            codes, scales = quantize(vectors)
            self.codes[start:end][present] = codes
            if self.exact is not None:
                self.exact[start:end][present] = vectors
            self.scales[start:end][present] = scales
        self.has_vector[start:end] = present
        self.pks[start:end] = [int(row["pk"]) for row in rows]
        if self.width:
            self.extra[start:end] = [spec.to_extra(row) for row in rows]
        if self.lexical is not None:
            self.lexical.append([row["text"] or "" for row in rows], settle=False)
        self.ids.extend(str(row["id"]) for row in rows)
        self.with_vector += int(present.sum())
        self.size = end
        self.max_pk = int(rows[-1]["pk"])

    def remove(self, rows: Positions) -> None:
        """Rows deleted from the database: no search finds them from now on. Their vectors
        stay (and any graph keeps their keys, which the masks then reject) until a rebuild;
        new arrays, so snapshots already handed out keep the ones they have."""
        has_vector = self.has_vector.copy()
        self.with_vector -= int(has_vector[rows].sum())
        # `graphed` counts live rows only, so that `with_vector - graphed` stays the number
        # of rows searched beside the graph, which schedules catching up.
        self.graphed -= int((has_vector[rows] & self.in_graph[rows]).sum())
        has_vector[rows] = False
        self.has_vector = has_vector
        if self.lexical is not None:
            self.lexical.remove(rows)

    def snapshot(self, exact_rows: int, read: VectorReader) -> Snapshot:
        n = self.size
        return Snapshot(
            ids=self.ids,
            size=n,
            codes=self.codes[:n],
            scales=self.scales[:n],
            read=read,
            exact=None if self.exact is None else self.exact[:n],
            extra=self.extra[:n],
            has_vector=None if self.with_vector == n else self.has_vector[:n],
            lexical=self.lexical.snapshot() if self.lexical is not None else None,
            pks=self.pks[:n],
            graph=self.graph,
            in_graph=self.in_graph[:n],
            exact_rows=exact_rows,
        )

    def outside(self, limit: int | None = None) -> Positions:
        """Rows with a vector that the graph does not hold (the first `limit` of them)."""
        n = self.size
        rows = np.flatnonzero(self.has_vector[:n] & ~self.in_graph[:n])
        return rows if limit is None else rows[:limit]

    def adopt(
        self, graph: Graph, keys: Positions, codes: Codes, scales: Scales, at_rows: Positions
    ) -> None:
        """Take over a graph built from other rows: `keys` (ascending) whose vectors are
        `codes[at_rows]` and `scales[at_rows]`. Rows it holds with the same vector count as
        held; keys of rows since removed or changed leave the graph."""
        rows = np.flatnonzero(self.has_vector[: self.size])
        mine = self.pks[rows]
        at = np.minimum(np.searchsorted(keys, mine), max(len(keys) - 1, 0))
        same = keys[at] == mine if len(keys) else np.zeros(len(rows), np.bool_)
        for lo in range(0, len(rows), BATCH_ROWS):
            hit = np.flatnonzero(same[lo : lo + BATCH_ROWS]) + lo
            theirs, mine_at = at_rows[at[hit]], rows[hit]
            same[hit] = np.all(codes[theirs] == self.codes[mine_at], axis=1) & (
                scales[theirs] == self.scales[mine_at]
            )
        graph.remove(np.setdiff1d(keys, mine[same], assume_unique=True))
        self.in_graph[: self.size] = False
        self.in_graph[rows[same]] = True
        self.graphed = int(same.sum())
        self.graph = graph

    @property
    def nbytes(self) -> int:
        held = self.codes.nbytes + self.scales.nbytes
        held += 0 if self.exact is None else self.exact.nbytes
        held += self.extra.nbytes + self.has_vector.nbytes
        held += self.pks.nbytes + self.in_graph.nbytes
        if self.graph is not None:
            held += self.graph.nbytes
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
    codes: Codes  # the vectors, approximately (`int8.py`): they choose candidates
    scales: Scales
    read: VectorReader  # the exact float32 vectors, from the database: they score them
    exact: Vector | None  # or those vectors, held in memory (small entries)
    extra: Extra
    has_vector: Mask | None  # None when every row has a vector
    lexical: LexicalSnapshot | None
    pks: Positions
    graph: Graph | None
    in_graph: Mask  # may gain rows after the snapshot (those the graph then holds)
    exact_rows: int  # up to this many allowed rows, search scans them all

    def nearest(self, query: Vector, mask: Mask | None, limit: int) -> list[tuple[int, float]]:
        """The `limit` rows the mask allows (all rows with a vector without one) nearest
        the query, best first, as (index, inner product). The mask must exclude rows
        without a vector. Candidates come from the int8 codes (all allowed rows up to
        `exact_rows`; past that the graph's and the rows outside the graph), and the best
        of them are scored exactly against their float32 vectors, so the scores returned
        are exact and only the candidate set is approximate."""
        n = self.size
        if n == 0 or limit <= 0:
            return []
        allowed = n if mask is None else int(np.count_nonzero(mask))
        if allowed <= self.exact_rows or self.graph is None or 4 * allowed < n:
            if mask is not None and n > self.exact_rows and 4 * allowed < n:
                # A selective filter on a big scope: scan only the rows it allows.
                return self._scored(np.flatnonzero(mask), query, limit)
            return self._scanned(query, mask, limit)
        # Ask for enough that `limit` are likely to pass the mask (which allows at least a
        # quarter of the rows), then score those exactly.
        count = min(n, -(-limit * n // allowed) + limit // 4 + 8)
        keys = self.graph.search(query, count)
        at = np.minimum(np.searchsorted(self.pks, keys), n - 1)
        found = at[self.pks[at] == keys]  # drops rows this snapshot does not have
        outside = ~self.in_graph
        if self.has_vector is not None:
            outside &= self.has_vector
        rows = np.union1d(found, np.flatnonzero(outside))
        if mask is not None:
            rows = rows[mask[rows]]
        if len(rows) < min(limit, allowed):
            # The graph fell short (a mask rejecting most of its candidates): scan all.
            return self._scanned(query, mask, limit)
        return self._scored(rows, query, limit)

    def _scanned(self, query: Vector, mask: Mask | None, limit: int) -> list[tuple[int, float]]:
        """All rows the mask allows, through their codes, then the best exactly."""
        approx = approximate(self.codes, self.scales, query)
        best = np.array(top_k(approx, mask, candidates(limit)), np.int64)
        return self._rescored(best, query, limit)

    def _scored(self, rows: Positions, query: Vector, limit: int) -> list[tuple[int, float]]:
        """The best `limit` of the given rows, best first, as (index, inner product)."""
        approx = approximate(self.codes[rows], self.scales[rows], query)
        best = rows[np.array(top_k(approx, None, candidates(limit)), np.int64)]
        return self._rescored(best, query, limit)

    def _rescored(self, rows: Positions, query: Vector, limit: int) -> list[tuple[int, float]]:
        # In row order, so that equal scores keep a full scan's order (`top_k` is stable).
        kept, vectors = self.exact_vectors(np.sort(rows))
        scores = vectors @ query
        return [(int(kept[i]), float(scores[i])) for i in top_k(scores, None, limit)]

    def exact_vectors(self, rows: Positions) -> tuple[Positions, Vector]:
        """The float32 vectors of the given rows (ascending) as the database holds them
        now: (the rows that still have one, their vectors)."""
        if not len(rows):
            return rows, np.zeros((0, self.codes.shape[1]), np.float32)
        if self.exact is not None:
            # Rows changed since are not in this snapshot (they rebuild the entry), and rows
            # removed lose `has_vector` (`_Matrix.remove`), as a read would drop them.
            held = rows if self.has_vector is None else rows[self.has_vector[rows]]
            return held, self.exact[held]
        keys, vectors = self.read(self.pks[rows])
        at = np.minimum(np.searchsorted(self.pks, keys), self.size - 1)
        held = self.pks[at] == keys
        return at[held], vectors[held]


@dataclass(frozen=True)
class DenseTable:
    """How to read one table: its name, the columns kept beside each vector, and the text
    column to index for words. Without a text column only rows with a vector are read."""

    table: str
    extra_columns: tuple[str, ...]
    to_extra: Callable[[sqlite3.Row], tuple[float, ...]]
    id_column: str = "id"
    text_column: str | None = None


# `index_changes.kind`: only mask columns changed (an entry holding the row re-reads it), or
# the row was removed (an entry holding it drops it) or its vector or text replaced (an entry
# holding it is rebuilt).
MASKS = "masks"
ROWS = "rows"
# `index_changes.tbl` of a generation after which every entry of the tenant is rebuilt.
REBUILD = "*"
# Generations kept in `index_changes`; an entry further behind is rebuilt.
KEPT_GENERATIONS = 1024
MAX_LOGGED_ROWS = 10_000  # a change of more rows is logged as REBUILD
PATCH_ROWS = 500  # rows re-read per statement when patching

MAX_CACHED_MATRICES = 1024
BATCH_ROWS = 8192  # rows read and appended at a time, which bounds a first load's peak
# Past this many bytes over all entries, the least recently used go (never the one in use).
# A scope of 100k memories holds about 75 MB per table (int8 codes 38 MB, words 35 MB), and
# past `ANN_MIN_ROWS` rows a graph of about 85 MB more (int8 vectors and links).
MAX_CACHED_BYTES = 1 << 30
# Entries of at most this many rows keep their float32 vectors beside the codes (31 MB per
# table at the most, counted against MAX_CACHED_BYTES), so re-scoring candidates reads no
# rows: at 10k memories that read was about a fifth of a search's CPU in the store. Larger
# entries, whose memory the int8 codes are there to save, read them from the database.
EXACT_ROWS_IN_MEMORY = 20_000
# Rows the graph lacks are scanned exactly beside it; past this many, the background thread
# adds them, CATCH_UP_ROWS at a time (searches of that entry wait for one such step).
CATCH_UP_AT = 1024
CATCH_UP_ROWS = 64
BUILD_ROWS = 16384  # rows per step of a first build (an evicted entry's build stops early)
IDLE_SECONDS = 30.0  # the background thread ends after this long without work


class DenseIndex:
    """Caches one entry per (table, scope), the least recently used dropped past a bound.

    Without the bound, every distinct `user_id`/`session_id` ever searched would keep an
    entry in memory for the life of the process. Entries past `ann_min_rows` vectors get
    a graph from one background thread, so at most one core builds graphs at a time
    (`build_threads` of them while a graph is built from scratch); `None` turns graphs off.
    """

    def __init__(
        self,
        dim: int,
        max_entries: int = MAX_CACHED_MATRICES,
        max_bytes: int = MAX_CACHED_BYTES,
        ann_min_rows: int | None = ANN_MIN_ROWS,
        build_threads: int | None = None,
        exact_rows_in_memory: int = EXACT_ROWS_IN_MEMORY,
    ) -> None:
        self.dim = dim
        self.max_entries = max_entries
        self.max_bytes = max_bytes
        self.ann_min_rows = ann_min_rows
        self.exact_rows_in_memory = exact_rows_in_memory
        self.build_threads = build_threads or max(1, (os.cpu_count() or 2) // 2)
        self._cache: OrderedDict[Key, _Matrix] = OrderedDict()
        self._bytes: dict[Key, int] = {}
        self._total = 0
        self._lock = threading.Lock()
        self._jobs: queue.Queue[tuple[Key, _Matrix]] = queue.Queue()
        self._worker: threading.Thread | None = None

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

    def wait(self) -> None:
        """Return once the background thread has no graph work left (tests, benchmarks)."""
        self._jobs.join()

    def load(
        self, conn: sqlite3.Connection, spec: DenseTable, scope: Scope
    ) -> tuple[list[str], Vector, Extra]:
        """The scope's ids, float32 vectors (zeros where a row has none) and extra columns,
        refreshed from the database."""
        snap = self.snapshot(conn, spec, scope)
        vectors = np.zeros((snap.size, self.dim), np.float32)
        rows, held = snap.exact_vectors(np.arange(snap.size))
        vectors[rows] = held
        return snap.ids[: snap.size], vectors, snap.extra

    def snapshot(self, conn: sqlite3.Connection, spec: DenseTable, scope: Scope) -> Snapshot:
        """The scope's rows, refreshed from the database."""
        gen_row = conn.execute(
            "SELECT generation FROM index_state WHERE tenant_id = ?", (scope.tenant_id,)
        ).fetchone()
        generation = int(gen_row[0]) if gen_row else 0
        key = (spec.table, scope.tenant_id, scope.user_id, scope.session_id)
        with self._lock:
            cached = self._cache.get(key)
            if cached is not None and cached.generation != generation:
                self._patch(conn, spec, scope, cached, generation)
            previous = cached
            rebuilt = cached is None or cached.generation != generation
            if cached is None or cached.generation != generation:
                lexical = Postings() if spec.text_column is not None else None
                cached = _Matrix(
                    generation,
                    self.dim,
                    len(spec.extra_columns),
                    lexical,
                    exact_limit=self.exact_rows_in_memory,
                )
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
            if rebuilt and previous is not None and previous.graph is not None:
                # Rows were removed or changed: keep the graph, minus what no longer holds.
                held = np.flatnonzero(previous.in_graph[: previous.size])
                cached.adopt(
                    previous.graph, previous.pks[held], previous.codes, previous.scales, held
                )
            if appended or rebuilt:
                self._account(key, cached.nbytes)
            self._evict(keep=key)
            self._schedule(key, cached)
            return cached.snapshot(self._exact_rows, partial(read_vectors, conn, spec, self.dim))

    def _patch(
        self, conn: sqlite3.Connection, spec: DenseTable, scope: Scope, entry: _Matrix, to: int
    ) -> None:
        """Bring an entry to generation `to` when the log shows that what changed since is
        not among its rows, or only their mask columns (re-read), or rows deleted (dropped);
        otherwise it stays behind and is rebuilt. Other scopes' changes cost only this look
        at the log."""
        if to < entry.generation:
            return
        logged = conn.execute(
            "SELECT generation, kind, tbl, pk FROM index_changes "
            "WHERE tenant_id = ? AND generation > ? AND generation <= ?",
            (scope.tenant_id, entry.generation, to),
        ).fetchall()
        if len({int(r[0]) for r in logged}) != to - entry.generation:
            return  # pruned from the log, or written before there was one
        if any(r[2] == REBUILD for r in logged):
            return
        mine = [r for r in logged if r[2] == spec.table]
        n = entry.size
        if mine and n:
            changed = np.array([int(r[3]) for r in mine], np.int64)
            at = np.minimum(np.searchsorted(entry.pks[:n], changed), n - 1)
            held = entry.pks[at] == changed
            rows_logged = np.array([r[1] != MASKS for r in mine], np.bool_)
            rows = np.unique(at[held])
            rewritten = {int(r) for r in at[held & rows_logged]}
            if len(rows) and not self._reread(conn, spec, entry, rows, rewritten):
                return
        entry.generation = to

    @staticmethod
    def _reread(
        conn: sqlite3.Connection,
        spec: DenseTable,
        entry: _Matrix,
        rows: Positions,
        rewritten: set[int],
    ) -> bool:
        """Refresh the mask columns of the given rows and drop those deleted; False (rebuild)
        when one of the `rewritten` rows is still there, or a row is not the one held."""
        keys = [int(k) for k in entry.pks[rows]]
        columns = ", ".join(["pk", f"{spec.id_column} AS id", *spec.extra_columns])
        found: dict[int, sqlite3.Row] = {}
        for lo in range(0, len(keys), PATCH_ROWS):
            part = keys[lo : lo + PATCH_ROWS]
            marks = ", ".join("?" for _ in part)
            for row in conn.execute(
                f"SELECT {columns} FROM {spec.table} WHERE pk IN ({marks})", part
            ):
                found[int(row["pk"])] = row
        extra = entry.extra.copy()  # snapshots already handed out keep the array they have
        gone: list[int] = []
        for row, key in zip(rows.tolist(), keys, strict=True):
            fresh = found.get(key)
            if fresh is None:
                gone.append(row)
            elif row in rewritten or str(fresh["id"]) != entry.ids[row]:
                return False
            elif spec.extra_columns:
                extra[row] = spec.to_extra(fresh)
        if entry.size - 1 in gone:
            # SQLite gives a new row the largest primary key plus one, so with the last row
            # gone a new row could take its key, which appending (past `max_pk`) would miss.
            return False
        entry.extra = extra
        if gone:
            entry.remove(np.array(gone, np.int64))
        return True

    @property
    def _exact_rows(self) -> int:
        return sys.maxsize if self.ann_min_rows is None else self.ann_min_rows

    def _account(self, key: Key, nbytes: int) -> None:
        self._total += nbytes - self._bytes.get(key, 0)
        self._bytes[key] = nbytes

    def _evict(self, keep: Key) -> None:
        while len(self._cache) > 1 and (
            len(self._cache) > self.max_entries or self._total > self.max_bytes
        ):
            oldest = next(iter(self._cache))
            if oldest == keep:
                break
            self._cache.popitem(last=False)
            self._total -= self._bytes.pop(oldest, 0)

    # -- graphs, in the background (every method below but `_run` holds `_lock`) ---------

    def _schedule(self, key: Key, entry: _Matrix) -> None:
        """Queue graph work for an entry that needs a graph or lacks too many rows."""
        if entry.queued or self.ann_min_rows is None:
            return
        if entry.graph is None:
            needed = entry.with_vector > self.ann_min_rows
        else:
            needed = entry.with_vector - entry.graphed >= CATCH_UP_AT
        if needed:
            entry.queued = True
            self._jobs.put((key, entry))
            if self._worker is None:
                self._worker = threading.Thread(target=self._run, name="tessera-ann", daemon=True)
                self._worker.start()

    def _run(self) -> None:
        """The background thread: graph work, one entry at a time, until idle."""
        while True:
            try:
                key, entry = self._jobs.get(timeout=IDLE_SECONDS)
            except queue.Empty:
                with self._lock:
                    if self._jobs.empty():
                        self._worker = None
                        return
                continue
            try:
                self._index(key, entry)
            except Exception as exc:  # a failed build leaves exact search, which is correct
                log.error(
                    "building the vector graph of %s failed: %s at %s",
                    key[0],
                    type(exc).__name__,
                    where(exc),
                )
            finally:
                with self._lock:
                    entry.queued = False
                self._jobs.task_done()

    def _current(self, key: Key, entry: _Matrix) -> bool:
        return self._cache.get(key) is entry

    def _index(self, key: Key, entry: _Matrix) -> None:
        """Build the entry's graph if it has none, then add the rows it lacks."""
        with self._lock:
            if not self._current(key, entry):
                return
            graph = entry.graph
            if graph is None:
                n = entry.size
                rows = np.flatnonzero(entry.has_vector[:n])
                # Rows below n never change.
                keys, codes, scales = entry.pks[rows], entry.codes, entry.scales
        if graph is None:
            graph = Graph(self.dim)
            for lo in range(0, len(rows), BUILD_ROWS):
                with self._lock:
                    if key not in self._cache:  # evicted; a new generation can adopt it
                        return
                part = rows[lo : lo + BUILD_ROWS]
                graph.upsert(keys[lo : lo + BUILD_ROWS], codes[part], self.build_threads)
            with self._lock:
                current = self._cache.get(key)
                if current is None or current.graph is not None:
                    return
                if current is entry:
                    entry.in_graph[rows] = True
                    # Rows dropped while the graph was built stay in it, masked; not counted.
                    entry.graphed, entry.graph = int(entry.has_vector[rows].sum()), graph
                else:  # the generation moved on while it was built
                    current.adopt(graph, keys, codes, scales, rows)
                    entry = current
                self._account(key, entry.nbytes)
        while True:
            with self._lock:
                if not self._current(key, entry) or entry.graph is not graph:
                    return
                rows = entry.outside(CATCH_UP_ROWS)
                if not len(rows):
                    self._account(key, entry.nbytes)
                    return
                keys, block = entry.pks[rows], entry.codes[rows]
            graph.upsert(keys, block)
            with self._lock:
                if self._current(key, entry) and entry.graph is graph:
                    fresh = ~entry.in_graph[rows]
                    entry.in_graph[rows] = True
                    entry.graphed += int(fresh.sum())


def read_vectors(
    conn: sqlite3.Connection, spec: DenseTable, dim: int, pks: Positions
) -> tuple[Positions, Vector]:
    """The float32 vectors of the rows with these primary keys that have one, by key."""
    keys: list[int] = []
    blobs: list[bytes] = []
    wanted = [int(k) for k in pks]
    for lo in range(0, len(wanted), PATCH_ROWS):
        part = wanted[lo : lo + PATCH_ROWS]
        marks = ", ".join("?" for _ in part)
        for pk, blob in conn.execute(
            f"SELECT pk, embedding FROM {spec.table} "
            f"WHERE pk IN ({marks}) AND embedding IS NOT NULL ORDER BY pk",
            part,
        ):
            keys.append(int(pk))
            blobs.append(blob)
    vectors = np.frombuffer(b"".join(blobs), dtype=np.float32).reshape(-1, dim)
    return np.array(keys, np.int64), vectors


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
    kept: list[int] = order[np.isfinite(scores[order])].tolist()
    return kept
