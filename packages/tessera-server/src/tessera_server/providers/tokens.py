"""Token rows of different lengths into the padded arrays an ONNX text model takes."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

TokenArray = npt.NDArray[np.int64]


def pad_rows(rows: Sequence[Sequence[int]]) -> tuple[TokenArray, TokenArray]:
    """The rows right-padded with 0 (BERT's [PAD] id) to the longest, and the attention mask."""
    width = max(len(r) for r in rows)
    ids = np.zeros((len(rows), width), dtype=np.int64)
    mask = np.zeros((len(rows), width), dtype=np.int64)
    for i, row in enumerate(rows):
        ids[i, : len(row)] = row
        mask[i, : len(row)] = 1
    return ids, mask
