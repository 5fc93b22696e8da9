"""What the embedder asks of a runtime: token ids and mask in, last hidden states out."""

from __future__ import annotations

from typing import Protocol

import numpy as np
import numpy.typing as npt

from ..tokens import TokenArray

Hidden = npt.NDArray[np.float32]


class EncoderGraph(Protocol):
    """The encoder, loaded into one runtime; `precision` is the arithmetic it runs in."""

    precision: str

    def run(self, ids: TokenArray, mask: TokenArray) -> Hidden: ...
