"""Raw-turn baselines: BM25, dense cosine and their reciprocal-rank fusion.

Each turn is one document, indexed as ``"<speaker>: <text>"`` plus its image caption (see
:attr:`tessera_bench.data.Turn.content`). BM25 is ``bm25s`` (Lucene variant, k1=1.5, b=0.75)
over English-stemmed tokens with its English stopword list; dense is cosine similarity of the
service's embedder vectors; RRF fuses the two full rankings with k=60 (ties in first-seen
order, BM25's list first).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from .data import Scope, Turn
from .embedder import Embedder
from .metrics import Hit
from .systems import reciprocal_rank_fusion

RRF_K = 60
RAW_SYSTEM_NOTE = "one document per turn: '<speaker>: <text>' plus ' [image: <caption>]'"


class Bm25:
    """A per-scope BM25 index over a list of texts."""

    def __init__(self, texts: Sequence[str], *, k1: float = 1.5, b: float = 0.75) -> None:
        import bm25s
        import Stemmer

        # bm25s sets its own logger to DEBUG on import; its per-index chatter is noise here.
        logging.getLogger("bm25s").setLevel(logging.WARNING)

        self._bm25s: Any = bm25s
        self._stemmer: Any = Stemmer.Stemmer("english")
        self.size = len(texts)
        self._index: Any = bm25s.BM25(k1=k1, b=b)
        tokens = self._tokenize(list(texts))
        self._index.index(tokens, show_progress=False)

    def _tokenize(self, texts: list[str]) -> Any:
        return self._bm25s.tokenize(
            texts, stopwords="en", stemmer=self._stemmer, show_progress=False
        )

    def scores(self, query: str) -> NDArray[np.float32]:
        tokens = self._bm25s.tokenize(
            [query],
            stopwords="en",
            stemmer=self._stemmer,
            show_progress=False,
            return_ids=False,
        )[0]
        if not tokens or self.size == 0:
            return np.zeros(self.size, dtype=np.float32)
        return np.asarray(self._index.get_scores(tokens), dtype=np.float32)

    def rank(self, query: str) -> list[int]:
        """Every document, best score first; ties (zero scores included) in document order.

        This is what ``bm25s``'s own ``retrieve(k=len(corpus))`` returns. Documents sharing no
        term with the query trail in conversation order; they matter only once the matching ones
        are exhausted (small LongMemEval haystacks, large budgets).
        """
        scores = self.scores(query)
        return [int(i) for i in np.argsort(-scores, kind="stable")]


def dense_rank(doc_vectors: NDArray[np.float32], query_vector: NDArray[np.float32]) -> list[int]:
    """All documents by cosine similarity to the query (vectors are unit length)."""
    if doc_vectors.shape[0] == 0:
        return []
    sims = doc_vectors @ query_vector
    return [int(i) for i in np.argsort(-sims, kind="stable")]


@dataclass
class _ScopeRankings:
    scope_id: str
    bm25: dict[str, list[int]]
    dense: dict[str, list[int]]


class RawTurnBaselines:
    """Computes BM25 and dense rankings once per scope and serves all three baselines."""

    def __init__(self, embedder: Embedder | None, *, rrf_k: int = RRF_K) -> None:
        self.embedder = embedder
        self.rrf_k = rrf_k
        self._last: _ScopeRankings | None = None

    def rankings(self, scope: Scope) -> _ScopeRankings:
        if self._last is not None and self._last.scope_id == scope.scope_id:
            return self._last
        texts = [t.content for t in scope.turns]
        bm25 = Bm25(texts)
        dense: dict[str, list[int]] = {}
        if self.embedder is not None:
            doc_vectors = self.embedder.embed(texts)
            query_vectors = self.embedder.embed([q.text for q in scope.questions])
            dense = {
                q.qid: dense_rank(doc_vectors, query_vectors[i])
                for i, q in enumerate(scope.questions)
            }
        self._last = _ScopeRankings(
            scope_id=scope.scope_id,
            bm25={q.qid: bm25.rank(q.text) for q in scope.questions},
            dense=dense,
        )
        return self._last

    def systems(self, names: Sequence[str]) -> list[RawTurnSystem]:
        return [RawTurnSystem(self, name) for name in names]


def _hits(turns: Sequence[Turn], order: Sequence[int], depth: int) -> list[Hit]:
    return [
        Hit(text=turns[i].content, sources=(turns[i].turn_id,), item_id=turns[i].turn_id)
        for i in order[:depth]
    ]


class RawTurnSystem:
    """One of ``bm25``, ``dense`` or ``rrf`` over raw turns."""

    KINDS = ("bm25", "dense", "rrf")

    def __init__(self, shared: RawTurnBaselines, name: str) -> None:
        if name not in self.KINDS:
            raise ValueError(f"unknown raw-turn baseline {name!r}")
        if name != "bm25" and shared.embedder is None:
            raise ValueError(f"the {name} baseline needs an embedder")
        self.name = name
        self._shared = shared

    def rank(self, scope: Scope, depth: int) -> dict[str, list[Hit]]:
        r = self._shared.rankings(scope)
        out: dict[str, list[Hit]] = {}
        for q in scope.questions:
            if self.name == "bm25":
                order = r.bm25[q.qid]
            elif self.name == "dense":
                order = r.dense[q.qid]
            else:
                order = reciprocal_rank_fusion(
                    [r.bm25[q.qid], r.dense[q.qid]], k=self._shared.rrf_k
                )
            out[q.qid] = _hits(scope.turns, order, depth)
        return out

    def describe(self) -> dict[str, Any]:
        info: dict[str, Any] = {"kind": "raw-turn baseline", "document": "<speaker>: <text>"}
        if self.name in ("bm25", "rrf"):
            info["bm25"] = "bm25s lucene k1=1.5 b=0.75, English Snowball stemmer, en stopwords"
        if self.name in ("dense", "rrf") and self._shared.embedder is not None:
            info["embedder"] = self._shared.embedder.model_id
        if self.name == "rrf":
            info["rrf_k"] = self._shared.rrf_k
        return info

    def close(self) -> None:
        return None
