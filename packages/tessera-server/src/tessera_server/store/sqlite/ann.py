"""Approximate nearest neighbours for big scopes: an in-memory HNSW graph (usearch).

A scan of a 100k-row scope reads every row's code per dense arm (38 MB of int8, and it
evicts everything else from the CPU caches); an HNSW graph finds the same neighbours by
visiting a few thousand vectors. A graph only proposes candidates: the caller scores them
again, so scores never change and only the candidate set is approximate. Hence the graph
holds the rows' int8 codes (`int8.py`) under cosine, which ignores each row's scale: 85 MB
for 100k rows against 152 MB in half precision, with the same recall (1.0 of the float32
top 10 over 100 questions at 100k real rows, candidates re-scored).

Graphs are keyed by row primary key, persist nothing, and are rebuilt after a restart.
usearch 2.26 crashes the process when imported before onnxruntime, which is why
pyproject.toml keeps it below 2.26 (tests/test_sqlite_ann.py checks the import order).
"""

from __future__ import annotations

import threading

import numpy as np
import numpy.typing as npt

from ...engine.records import Vector
from .int8 import Codes, quantize

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
            metric="cos",
            dtype="i8",
            connectivity=CONNECTIVITY,
            expansion_add=EXPANSION_ADD,
            expansion_search=EXPANSION_SEARCH,
        )
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._index)

    def upsert(self, keys: Keys, codes: Codes, threads: int = 1) -> None:
        """Add rows (their int8 codes), replacing any already held under the same keys."""
        if not len(keys):
            return
        ukeys = keys.astype(np.uint64)
        with self._lock:
            present = np.asarray(self._index.contains(ukeys), dtype=np.bool_).reshape(-1)
            if present.any():
                self._index.remove(ukeys[present])
            self._index.add(ukeys, np.ascontiguousarray(codes, np.int8), threads=threads)

    def remove(self, keys: Keys) -> None:
        if len(keys):
            with self._lock:
                self._index.remove(keys.astype(np.uint64))

    def search(self, query: Vector, count: int) -> Keys:
        """Keys of about the `count` rows nearest the query by inner product (the query's
        own code, by cosine: the rows' vectors are normalised)."""
        if count <= 0:
            return np.zeros(0, np.int64)
        code = quantize(query)[0][0]
        with self._lock:
            if not len(self._index):
                return np.zeros(0, np.int64)
            # usearch declares this setter oddly; mypy takes the property as read-only.
            self._index.expansion_search = max(EXPANSION_SEARCH, count)  # type: ignore[misc]
            found = self._index.search(code, count, threads=1)
        return np.asarray(found.keys, dtype=np.int64)

    @property
    def nbytes(self) -> int:
        return int(self._index.memory_usage)
