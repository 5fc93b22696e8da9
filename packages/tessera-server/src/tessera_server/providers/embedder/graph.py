"""What the embedder asks of a runtime: token ids and mask in, last hidden states out."""

from __future__ import annotations

from typing import Protocol

import numpy as np
import numpy.typing as npt

from ..tokens import TokenArray

Hidden = npt.NDArray[np.float32]


class EncoderGraph(Protocol):
    """The encoder, loaded into the runtime `name`; `precision` is the arithmetic it runs in."""

    name: str
    precision: str

    def run(self, ids: TokenArray, mask: TokenArray) -> Hidden: ...


def feeds(ids: TokenArray, mask: TokenArray) -> dict[str, TokenArray]:
    """The graph's inputs: one segment, so token types are all zero."""
    return {"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)}
