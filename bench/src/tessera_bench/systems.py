"""What a benchmarked system looks like to the runner."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

from .data import Scope
from .metrics import Hit


class System(Protocol):
    """A retrieval system under test.

    ``rank`` receives one scope (its turns, in order, and its questions) and returns, for each
    question id, the ranked hits the system would answer with — at least ``depth`` of them when
    it has that many, so every budget can be filled.
    """

    name: str

    def rank(self, scope: Scope, depth: int) -> dict[str, list[Hit]]: ...

    def describe(self) -> dict[str, Any]: ...

    def close(self) -> None: ...


def reciprocal_rank_fusion(rankings: Sequence[Sequence[int]], k: int = 60) -> list[int]:
    """Fuse rankings of document indexes: score = Σ 1 / (k + rank), rank counted from 1.

    Ties keep the order in which documents were first seen (first ranking first).
    """
    scores: dict[int, float] = {}
    first_seen: dict[int, int] = {}
    position = 0
    for ranking in rankings:
        for rank, doc in enumerate(ranking, start=1):
            scores[doc] = scores.get(doc, 0.0) + 1.0 / (k + rank)
            if doc not in first_seen:
                first_seen[doc] = position
                position += 1
    return sorted(scores, key=lambda d: (-scores[d], first_seen[d]))
