"""Text embedders. The default runs all-MiniLM-L6-v2 (int8 ONNX) on the CPU, offline."""

from __future__ import annotations

from typing import Protocol

import numpy as np
import numpy.typing as npt

Vectors = npt.NDArray[np.float32]

# Each embedder a setting can name, with the dimension of its vectors: a store is opened with
# it (the CLI's commands open stores without loading the model).
DIMS = {"minilm-int8": 384}


def embedder_dim(name: str) -> int:
    """The vector dimension of the embedder a setting names."""
    if name not in DIMS:
        raise ValueError(f"unknown embedder {name!r}; known: {', '.join(sorted(DIMS))}")
    return DIMS[name]


class Embedder(Protocol):
    """Turns texts into L2-normalised float32 vectors of a fixed dimension."""

    model_id: str
    dim: int
    runtime: str  # what runs the model, and in which arithmetic: "openvino bf16"

    def embed(self, texts: list[str]) -> Vectors: ...


def load_embedder(
    name: str,
    runtime: str = "openvino",
    precision: str = "auto",
    threads: int = 0,
    combine_texts: int = 4,
    crowded_lanes: int = 1,
) -> Embedder:
    """The embedder a setting names, run by `runtime` at `precision` on `threads` (0 = all);
    concurrent calls of at most `combine_texts` texts share model runs, on `crowded_lanes`
    one-thread copies at once (0 = one per core)."""
    if name == "minilm-int8":
        from .minilm import MiniLMEmbedder

        return MiniLMEmbedder(
            threads,
            runtime=runtime,
            precision=precision,
            combine_texts=combine_texts,
            crowded_lanes=crowded_lanes,
        )
    raise ValueError(f"unknown embedder {name!r}; known: {', '.join(sorted(DIMS))}")
