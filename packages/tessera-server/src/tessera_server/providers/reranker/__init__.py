"""Rerankers re-score the fused candidates of a search.

No cross-encoder weights ship in any package we may depend on, so the default reranker
is local and feature-based: it re-reads each candidate against the query at a finer
grain than the first-stage arms (exact cosine, word coverage, dates, pins). An operator
who has cross-encoder weights can point the service at them; their relevance is then blended
with those features (`cross_encoder.py`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from ..embedder import Vectors


@dataclass(frozen=True)
class Candidate:
    text: str
    vector: Vectors | None
    event_time: datetime | None
    pinned: bool
    fused_rank: int
    part_vectors: tuple[Vectors, ...] = ()
    #: Who said it (`user`, `assistant`, …: an episode's role); empty for a fact.
    role: str = ""


class Reranker(Protocol):
    name: str

    def score(
        self, query: str, query_vector: Vectors, candidates: list[Candidate]
    ) -> list[float]: ...


def load_reranker(name: str, model_dir: str = "") -> Reranker:
    """The named reranker; with `model_dir`, a cross-encoder from there blended into it."""
    if name not in ("", "local"):
        raise ValueError(f"unknown reranker {name!r}; known: local")
    from .local import LocalReranker

    local = LocalReranker()
    if not model_dir:
        return local
    from .cross_encoder import CrossEncoderReranker

    return CrossEncoderReranker(model_dir, local)
