"""SQLite's two rankers: the candidates of an arm (`store/sql/search.py`) as a mask over the
rows of the scope's in-memory index, then BM25 or vector ranking among them.

Kinds and time travel are read from the index's own columns (no query); filters, which may
name any column or metadata key, are compiled to SQL by the shared compiler and turned into a
mask of the rows they admit.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime

import numpy as np

from ...engine.records import TimeTravel, Vector
from ..sql.search import Candidates, Hit, SearchArms
from .codec import dec_time
from .connection import ConnectionPool
from .dense import DenseIndex, DenseTable, Mask, Snapshot, top_k

NEVER = float("inf")
_EPISODE_KIND_CODES = {"episode": 0.0, "note": 1.0, "procedure": 2.0, "resource": 3.0}


def _ts(value: str | None) -> float:
    return NEVER if value is None else dec_time(value).timestamp()


_EPISODE_DENSE = DenseTable(
    "episodes",
    ("kind", "pinned"),
    lambda row: (_EPISODE_KIND_CODES[row["kind"]], float(row["pinned"])),
    text_column="text",
)
_FACT_DENSE = DenseTable(
    "facts",
    ("t_valid", "t_invalid", "t_created", "t_expired"),
    lambda row: (
        _ts(row["t_valid"]),
        _ts(row["t_invalid"]),
        _ts(row["t_created"]),
        _ts(row["t_expired"]),
    ),
    text_column="text",
)
_TURN_DENSE = DenseTable("turns", (), lambda row: (), id_column="pk", text_column="content")
INDEXED = {"episodes": _EPISODE_DENSE, "facts": _FACT_DENSE, "turns": _TURN_DENSE}


def _both(mask: Mask | None, more: Mask | None) -> Mask | None:
    if mask is None or more is None:
        return more if mask is None else mask
    return mask & more


def travel_mask(snap: Snapshot, travel: TimeTravel, now: datetime) -> Mask:
    """Time travel (`TimeTravel.windows`) over the index's fact-time columns, where an
    absent end is stored as infinity."""
    extra, columns = snap.extra, _FACT_DENSE.extra_columns
    mask = np.ones(len(extra), np.bool_)
    for w in travel.windows(now):
        at = w.at.timestamp()
        mask &= (extra[:, columns.index(w.start)] <= at) & (extra[:, columns.index(w.end)] > at)
    return mask


class IndexedSearch(SearchArms):
    pool: ConnectionPool
    dense: DenseIndex

    def _snapshot(self, found: Candidates) -> Snapshot:
        return self.dense.snapshot(self.pool.conn, INDEXED[found.table], found.scope)

    def _mask(self, snap: Snapshot, found: Candidates) -> Mask | None:
        """The index rows that are candidates (None: all of them)."""
        mask: Mask | None = None
        if found.kinds is not None:
            codes = [_EPISODE_KIND_CODES[k] for k in found.kinds]
            mask = np.isin(snap.extra[:, 0], codes)
        if found.travel is not None:
            assert found.now is not None
            mask = _both(mask, travel_mask(snap, found.travel, found.now))
        if found.filters:
            mask = _both(mask, self._admitted(snap, found))
        return mask

    def _admitted(self, snap: Snapshot, found: Candidates) -> Mask:
        """The index rows the filters admit, by the shared SQL compiler."""
        where, params = replace(found, kinds=None, travel=None).sql(
            "x", self.codec, self.metadata_json
        )
        rows = self._rows(f"SELECT x.{found.key} AS key FROM {found.table} x WHERE {where}", params)
        allowed = {str(r["key"]) for r in rows}
        ids = snap.ids
        return np.fromiter((str(ids[i]) in allowed for i in range(snap.size)), bool, snap.size)

    def _lexical_hits(self, found: Candidates, terms: Sequence[str], limit: int) -> list[Hit]:
        snap = self._snapshot(found)
        assert snap.lexical is not None
        rows, scores = snap.lexical.score(terms)
        if not len(rows):
            return []
        mask = self._mask(snap, found)
        if mask is not None:
            keep = mask[rows]
            rows, scores = rows[keep], scores[keep]
        return [(snap.ids[rows[i]], float(scores[i])) for i in top_k(scores, None, limit)]

    def _dense_hits(self, found: Candidates, query: Vector, limit: int) -> list[Hit]:
        snap = self._snapshot(found)
        if not snap.size:
            return []
        mask = _both(self._mask(snap, found), snap.has_vector)
        return [(snap.ids[i], score) for i, score in snap.nearest(query, mask, limit)]
