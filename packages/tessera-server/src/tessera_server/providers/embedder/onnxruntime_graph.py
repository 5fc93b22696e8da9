"""The encoder graph run by onnxruntime, in float32: the reference runtime.

Each row's vector is independent of the batch it is run in, to the last bit.
"""

from __future__ import annotations

import numpy as np
import onnxruntime as ort

from ..tokens import TokenArray
from .graph import Hidden, feeds


class OnnxRuntimeGraph:
    """One session, safe to run from several threads at once."""

    name = "onnxruntime"
    precision = "f32"

    def __init__(
        self, model: bytes | str, threads: int = 0, options: dict[str, str] | None = None
    ) -> None:
        """`options`: further session config entries (`session.…`), or `graph=basic|extended|
        all|off` for the graph optimisation level (the embedder benchmark's)."""
        extra = dict(options or {})
        levels = {
            "off": ort.GraphOptimizationLevel.ORT_DISABLE_ALL,
            "basic": ort.GraphOptimizationLevel.ORT_ENABLE_BASIC,
            "extended": ort.GraphOptimizationLevel.ORT_ENABLE_EXTENDED,
            "all": ort.GraphOptimizationLevel.ORT_ENABLE_ALL,
        }
        session = ort.SessionOptions()
        if "graph" in extra:
            session.graph_optimization_level = levels[extra.pop("graph")]
        if threads:
            session.intra_op_num_threads = threads
        # onnxruntime's worker threads otherwise busy-wait after every run, taking the cores
        # from the SQLite and numpy work that follows in the same request (on two cores, a
        # search at 10k memories ran 2x slower).
        session.add_session_config_entry("session.intra_op.allow_spinning", "0")
        # Without the arena, memory goes back after each batch: with texts of every length the
        # arena only grew (RSS +250 MB over 9,000 turns, against +100 MB without, same speed).
        session.enable_cpu_mem_arena = False
        for key, value in extra.items():
            session.add_session_config_entry(key, value)
        self._session = ort.InferenceSession(
            model, sess_options=session, providers=["CPUExecutionProvider"]
        )

    def run(self, ids: TokenArray, mask: TokenArray) -> Hidden:
        hidden: Hidden = np.asarray(self._session.run(None, feeds(ids, mask))[0], dtype=np.float32)
        return hidden
