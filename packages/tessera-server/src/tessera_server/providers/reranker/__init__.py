"""Rerankers re-score the fused candidates of a search.

No cross-encoder weights ship in any package we may depend on, so the default reranker
is local and feature-based: it re-reads each candidate against the query at a finer
grain than the first-stage arms (exact cosine, word coverage, dates, pins).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

import numpy as np

from ..embedder import Vectors


@dataclass(frozen=True)
class Candidate:
    text: str
    vector: Vectors | None
    event_time: datetime | None
    pinned: bool
    fused_rank: int
    part_vectors: tuple[Vectors, ...] = ()


class Reranker(Protocol):
    name: str

    def score(
        self, query: str, query_vector: Vectors, candidates: list[Candidate]
    ) -> list[float]: ...


def load_reranker(name: str) -> Reranker:
    if name in ("", "local"):
        from .local import LocalReranker

        return LocalReranker()
    raise ValueError(f"unknown reranker {name!r}; known: local")


def cosine_rows(matrix: Vectors, query: Vectors) -> Vectors:
    scores: Vectors = (matrix @ query).astype(np.float32)
    return scores
