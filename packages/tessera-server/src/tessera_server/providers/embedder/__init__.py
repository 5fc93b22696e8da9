"""Text embedders. The default runs all-MiniLM-L6-v2 (int8 ONNX) on the CPU, offline."""

from __future__ import annotations

from typing import Protocol

import numpy as np
import numpy.typing as npt

Vectors = npt.NDArray[np.float32]


class Embedder(Protocol):
    """Turns texts into L2-normalised float32 vectors of a fixed dimension."""

    model_id: str
    dim: int

    def embed(self, texts: list[str]) -> Vectors: ...


def load_embedder(name: str) -> Embedder:
    """The embedder a setting names."""
    if name == "minilm-int8":
        from .minilm import MiniLMEmbedder

        return MiniLMEmbedder()
    raise ValueError(f"unknown embedder {name!r}; known: minilm-int8")
