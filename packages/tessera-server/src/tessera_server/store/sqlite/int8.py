"""Vectors held in memory as int8 codes with one scale per row, scanned by SIMD kernels.

A scope's float32 vectors are what made the service large: 154 MB per table at 100k rows,
twice over (turns and notes). Codes of one byte per dimension, scaled per row so that the
row's largest component is ±127, take a quarter of that, and the integer dot products run
in numkong's kernels (at 10k rows about 0.5 ms against numpy's 2.5 ms for float32 on one
core of the box here). They only choose candidates: the caller scores the best of them
again against the float32 vectors in the database, so the scores a search returns, and the
rows it returns, are those of float32 (a code's rounding moves a score by about 1e-3, far
less than the margin `candidates` leaves; measured at 100k rows of real MiniLM vectors, a
margin of 8 already gave recall 1.0 of the float32 top 10 and top 50).
"""

from __future__ import annotations

import numkong as nk
import numpy as np
import numpy.typing as npt

from ...engine.records import Vector

Codes = npt.NDArray[np.int8]
Scales = npt.NDArray[np.float32]
Scores = npt.NDArray[np.float32]

LEVELS = 127
# Candidates re-scored exactly beyond the `limit` asked for: at least this many, or half
# the limit when that is more.
MARGIN = 32


def quantize(vectors: Vector) -> tuple[Codes, Scales]:
    """Codes and per-row scales with `vectors ≈ codes * scales[:, None]` (zero rows: 0, 1)."""
    block = np.asarray(vectors, dtype=np.float32).reshape(-1, vectors.shape[-1])
    peak = np.abs(block).max(axis=1) if block.size else np.zeros(len(block), np.float32)
    scales = np.where(peak > 0, peak / LEVELS, 1.0).astype(np.float32)
    codes = np.rint(block / scales[:, None]).clip(-LEVELS, LEVELS).astype(np.int8)
    return codes, scales


def approximate(codes: Codes, scales: Scales, query: Vector) -> Scores:
    """Approximate inner products of every row with the query (float32 scores)."""
    if not len(codes):
        return np.zeros(0, np.float32)
    qcodes, qscale = quantize(query)
    dots = np.asarray(nk.cdist(qcodes, codes, metric="dot", out_dtype="float32"))[0]
    out: Scores = dots * (scales * qscale[0])
    return out


def candidates(limit: int) -> int:
    """How many rows, best first by approximate score, to score exactly for `limit`."""
    return limit + max(MARGIN, limit // 2)
