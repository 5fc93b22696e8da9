"""The search arms, written once: which rows an arm may return (`Candidates`), and the six
protocol calls built on a backend's two rankers.

A backend ranks candidates by words (`_lexical_hits`) and by vector (`_dense_hits`); how it
narrows them to the candidates (SQL, or a mask over an in-memory index) is its own, but what
the candidates are is said here.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from ...engine.records import (
    EpisodePool,
    FactPool,
    FilterSpec,
    RankedIds,
    RankedPks,
    Scope,
    TimeTravel,
    Vector,
)
from ..rows import Codec
from .base import SqlBase
from .filters import MetadataJson, filters_sql, travel_sql

Hit = tuple[Any, float]  # (an item id, or a turn pk; score)


@dataclass(frozen=True)
class Candidates:
    """The rows of one table an arm may return: the scope's, of the given kinds (None: any),
    seen at the time travel's instants (facts), admitted by the filters."""

    table: str
    scope: Scope
    kinds: Sequence[str] | None = None
    travel: TimeTravel | None = None
    now: datetime | None = None
    filters: Sequence[FilterSpec] = field(default_factory=tuple)

    @classmethod
    def episodes(cls, pool: EpisodePool) -> Candidates:
        return cls("episodes", pool.scope, pool.kinds, filters=pool.filters)

    @classmethod
    def facts(cls, pool: FactPool) -> Candidates:
        return cls("facts", pool.scope, None, pool.travel, pool.now, pool.filters)

    @property
    def key(self) -> str:
        """The column a hit is named by: turns by pk, items by id."""
        return "pk" if self.table == "turns" else "id"

    def sql(
        self, alias: str, codec: Codec, json: MetadataJson, *, indexed: bool = True
    ) -> tuple[str, list[Any]]:
        """The WHERE clause admitting the candidates; with `indexed=False` only the scope and
        the filters (for a backend that applies kinds and time travel to its own index)."""
        where, params = codec.scope_sql(self.scope, alias)
        clauses = [where]
        if indexed and self.kinds is not None:
            clauses.append(f"{alias}.kind IN ({codec.marks(len(self.kinds)) or 'NULL'})")
            params += list(self.kinds)
        if indexed and self.travel is not None:
            assert self.now is not None
            sql, more = travel_sql(self.travel, self.now, alias, codec)
            clauses.append(sql)
            params += more
        if self.filters:
            sql, more = filters_sql(self.filters, alias, codec, json)
            clauses.append(sql)
            params += more
        return " AND ".join(clauses), params


def _ids(hits: list[Hit]) -> RankedIds:
    return [(str(key), score) for key, score in hits]


def _pks(hits: list[Hit]) -> RankedPks:
    return [(int(key), score) for key, score in hits]


class SearchArms(SqlBase):
    """The protocol's search calls over a backend's rankers."""

    def _lexical_hits(self, found: Candidates, terms: Sequence[str], limit: int) -> list[Hit]:
        """The candidates matching any term, best first."""
        raise NotImplementedError

    def _dense_hits(self, found: Candidates, query: Vector, limit: int) -> list[Hit]:
        """The candidates with a vector nearest the query, by cosine (inner product)."""
        raise NotImplementedError

    def lexical_episodes(self, pool: EpisodePool, terms: Sequence[str], limit: int) -> RankedIds:
        return _ids(self._lexical_hits(Candidates.episodes(pool), terms, limit))

    def dense_episodes(self, pool: EpisodePool, query: Vector, limit: int) -> RankedIds:
        return _ids(self._dense_hits(Candidates.episodes(pool), query, limit))

    def lexical_facts(self, pool: FactPool, terms: Sequence[str], limit: int) -> RankedIds:
        return _ids(self._lexical_hits(Candidates.facts(pool), terms, limit))

    def dense_facts(self, pool: FactPool, query: Vector, limit: int) -> RankedIds:
        return _ids(self._dense_hits(Candidates.facts(pool), query, limit))

    def lexical_turns(self, scope: Scope, terms: Sequence[str], limit: int) -> RankedPks:
        return _pks(self._lexical_hits(Candidates("turns", scope), terms, limit))

    def dense_turns(self, scope: Scope, query: Vector, limit: int) -> RankedPks:
        return _pks(self._dense_hits(Candidates("turns", scope), query, limit))
