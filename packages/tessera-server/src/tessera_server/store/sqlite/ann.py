"""Approximate nearest neighbours for big scopes: an in-memory HNSW graph (usearch).

An exact scan of a 100k-row scope reads 154 MB of float32 per dense arm (about 20 ms on
two cores, and it evicts everything else from the CPU caches); an HNSW graph finds the
same neighbours by visiting a few thousand vectors. A graph only proposes candidates: the
caller scores them again against the exact float32 rows, so scores never change and only
the candidate set is approximate (hence half-precision storage, which halves the memory).

Graphs are keyed by row primary key, persist nothing, and are rebuilt after a restart.
usearch 2.26 crashes the process when imported before onnxruntime, which is why
pyproject.toml keeps it below 2.26 (tests/test_sqlite_ann.py checks the import order).
"""

from __future__ import annotations

import threading

import numpy as np
import numpy.typing as npt

from ...engine.records import Vector

# Scopes (after masks) of at most this many rows are always searched exactly, so results
# there are exactly those of a full scan.
ANN_MIN_ROWS = 20_000
# HNSW parameters, measured on 100k-row scopes of real MiniLM vectors (200 LoCoMo and
# LongMemEval questions): recall@10 against exact search 0.9975 at EXPANSION_SEARCH = 256
# when rows are distinct; with every text stored ten times over (identical vectors, the
# hardest case for a graph) 0.985 at 256, 0.995 at 400, 1.0 at 600. A search at 400 takes
# about 1 ms; building a 100k graph about 30 s of one core.
CONNECTIVITY = 16
EXPANSION_ADD = 128
EXPANSION_SEARCH = 400

Keys = npt.NDArray[np.int64]


class Graph:
    """An HNSW graph over rows keyed by primary key; its methods may be called from any
    thread (one at a time: usearch grows its storage during adds, unsafe beside reads)."""

    def __init__(self, dim: int) -> None:
        from usearch.index import Index  # loaded with the first big scope, not at startup

        self._index = Index(
            ndim=dim,
            metric="ip",
            dtype="f16",
            connectivity=CONNECTIVITY,
            expansion_add=EXPANSION_ADD,
            expansion_search=EXPANSION_SEARCH,
        )
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._index)

    def upsert(self, keys: Keys, vectors: Vector, threads: int = 1) -> None:
        """Add rows, replacing any already held under the same keys."""
        if not len(keys):
            return
        ukeys = keys.astype(np.uint64)
        with self._lock:
            present = np.asarray(self._index.contains(ukeys), dtype=np.bool_).reshape(-1)
            if present.any():
                self._index.remove(ukeys[present])
            self._index.add(ukeys, np.ascontiguousarray(vectors), threads=threads)

    def remove(self, keys: Keys) -> None:
        if len(keys):
            with self._lock:
                self._index.remove(keys.astype(np.uint64))

    def search(self, query: Vector, count: int) -> Keys:
        """Keys of about the `count` rows nearest the query by inner product."""
        if count <= 0:
            return np.zeros(0, np.int64)
        with self._lock:
            if not len(self._index):
                return np.zeros(0, np.int64)
            # usearch declares this setter oddly; mypy takes the property as read-only.
            self._index.expansion_search = max(EXPANSION_SEARCH, count)  # type: ignore[misc]
            found = self._index.search(np.ascontiguousarray(query, np.float32), count, threads=1)
        return np.asarray(found.keys, dtype=np.int64)

    @property
    def nbytes(self) -> int:
        return int(self._index.memory_usage)
