"""A feature-based reranker that needs no model weights beyond the embedder's."""

from __future__ import annotations

import functools
import math
import re
from datetime import datetime, timezone

from ...engine.extract.dates import find_dates
from ..embedder import Vectors
from . import Candidate

_WORD = re.compile(r"[^\W_]+")
_STOP = frozenset(
    [
        "a",
        "an",
        "and",
        "are",
        "as",
        "at",
        "be",
        "but",
        "by",
        "did",
        "do",
        "does",
        "for",
        "from",
        "had",
        "has",
        "have",
        "he",
        "her",
        "his",
        "how",
        "i",
        "in",
        "is",
        "it",
        "its",
        "me",
        "my",
        "of",
        "on",
        "or",
        "our",
        "she",
        "so",
        "that",
        "the",
        "their",
        "them",
        "they",
        "this",
        "to",
        "was",
        "we",
        "were",
        "what",
        "when",
        "where",
        "which",
        "who",
        "whom",
        "why",
        "will",
        "with",
        "would",
        "you",
        "your",
        "about",
        "after",
        "before",
        "did",
        "ever",
    ]
)


@functools.lru_cache(maxsize=65536)
def stem(word: str) -> str:
    """A light suffix-stripper, enough to let 'painting' meet 'paint' and 'dogs' meet 'dog'."""
    for suffix in ("ingly", "edly", "ing", "ed", "es", "s", "ly"):
        if len(word) > len(suffix) + 2 and word.endswith(suffix):
            return word[: -len(suffix)]
    return word


def content_stems(text: str) -> set[str]:
    return {stem(w) for w in (m.lower() for m in _WORD.findall(text)) if w not in _STOP}


class LocalReranker:
    name = "local"

    def __init__(
        self,
        w_cosine: float = 0.15,
        w_part: float = 0.45,
        w_coverage: float = 0.4,
        w_fused: float = 0.15,
        w_date: float = 0.1,
        w_pin: float = 0.02,
    ) -> None:
        self.weights = (w_cosine, w_part, w_coverage, w_fused, w_date, w_pin)

    def score(self, query: str, query_vector: Vectors, candidates: list[Candidate]) -> list[float]:
        w_cos, w_part, w_cov, w_fused, w_date, w_pin = self.weights
        q_stems = content_stems(query)
        q_dates = [d for d in find_dates(query, _anchor(candidates)) if not d.relative]
        scores = []
        # Query words weigh by how rare they are among the candidates: a name that every
        # candidate mentions tells them apart less than a word only two of them share.
        stems = [content_stems(c.text) for c in candidates]
        n = len(candidates)
        idf = {s: math.log(1.0 + n / (1.0 + sum(s in st for st in stems))) for s in q_stems}
        total_idf = sum(idf.values())
        for index, cand in enumerate(candidates):
            cos = float(cand.vector @ query_vector) if cand.vector is not None else 0.0
            # The best-matching part (turn) of a composite item, or the item itself: one
            # relevant line is what makes a longer episode worth reading.
            part = max((float(p @ query_vector) for p in cand.part_vectors), default=cos)
            matched = q_stems & stems[index]
            coverage = sum(idf[s] for s in matched) / total_idf if total_idf else 0.0
            fused = 1.0 / (1.0 + cand.fused_rank / 10.0)
            date = 0.0
            if q_dates and cand.event_time is not None:
                when = (cand.event_time.year, cand.event_time.month)
                date = max(1.0 if (d.when.year, d.when.month) == when else 0.0 for d in q_dates)
            scores.append(
                w_cos * cos
                + w_part * part
                + w_cov * coverage
                + w_fused * fused
                + w_date * date
                + w_pin * cand.pinned
            )
        return scores


def _anchor(candidates: list[Candidate]) -> datetime:
    times = [c.event_time for c in candidates if c.event_time is not None]
    return max(times) if times else datetime.now(timezone.utc)
