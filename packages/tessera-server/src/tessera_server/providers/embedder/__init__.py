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
    runtime: str  # what runs the model, and in which arithmetic: "openvino bf16"

    def embed(self, texts: list[str]) -> Vectors: ...


def load_embedder(name: str, runtime: str = "openvino", precision: str = "auto") -> Embedder:
    """The embedder a setting names, run by `runtime` at `precision`."""
    if name == "minilm-int8":
        from .minilm import MiniLMEmbedder

        return MiniLMEmbedder(runtime=runtime, precision=precision)
    raise ValueError(f"unknown embedder {name!r}; known: minilm-int8")
