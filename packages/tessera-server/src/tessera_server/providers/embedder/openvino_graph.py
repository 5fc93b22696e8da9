"""The encoder graph run by OpenVINO, in bfloat16 where the CPU computes it natively.

On CPUs with AMX or AVX-512 BF16 (Intel Xeon since Cooper Lake, AMD EPYC since Zen 4), OpenVINO
runs the matrix products in bfloat16 with float32 accumulation: on an earlier two-core Xeon
with AMX 2.4x onnxruntime's float32 throughput on chat turns; on the two-core AMD EPYC here
(AVX-512 BF16, no AMX) a chat turn costs 7.1 ms of CPU on one thread against 11.3 in float32
(bench/results/embedder-cpu-wave6.md). The vectors stay within a cosine of 0.9999 of float32
ones (tests/test_ingest_embedder.py). `precision="int8"` also quantises the activations of the
int8-weighted products (6.05 ms per chat turn there, a query 4.3 ms against 6.2; vectors within
0.998) and finds the same evidence on every benchmark part, tuning and report
(bench/NOTES.md), so `auto` is int8 on those CPUs (each of them also has VNNI, the int8
products' instructions); `"bf16"` and `"f32"` choose the others. Elsewhere `auto` is float32.
"""

from __future__ import annotations

import threading

import numpy as np
import openvino as ov

from ..tokens import TokenArray
from .graph import Hidden, feeds

PRECISIONS = ("auto", "bf16", "f32", "int8")
# int8: activations quantised per group of this many values in the products whose weights
# are stored int8 (OpenVINO's dynamic quantisation); off (0) in every other precision.
INT8_GROUP = "32"


def resolve_precision(precision: str, capabilities: list[str]) -> str:
    """The arithmetic `auto` stands for on a CPU with OpenVINO's `capabilities`: int8 where
    bfloat16 is native (those CPUs also have VNNI, the int8 products' instructions), float32
    elsewhere; any other precision is kept as asked."""
    if precision == "auto":
        return "int8" if "BF16" in capabilities else "f32"
    return precision


class OpenVinoGraph:
    """A compiled model and one inference request, used by one thread at a time.

    Requests of one compiled model inferring from several threads at once deadlocked a loaded
    service (two threads blocked setting their inputs, the rest on the GIL; 2 hung out of 3
    runs of the load generator's smoke test). One request behind a lock runs as fast: the
    model already takes both cores (8 threads embedding at once: 615 turns/s, against 619
    with a request each).
    """

    name = "openvino"

    def __init__(
        self,
        model: bytes,
        threads: int = 0,
        precision: str = "auto",
        extra: dict[str, str] | None = None,
    ) -> None:
        """`extra`: further OpenVINO properties, over ours (the embedder benchmark's)."""
        if precision not in PRECISIONS:
            raise ValueError(f"unknown precision {precision!r}; known: {', '.join(PRECISIONS)}")
        core = ov.Core()
        precision = resolve_precision(
            precision, core.get_property("CPU", "OPTIMIZATION_CAPABILITIES")
        )
        self.precision = precision
        config = {
            "INFERENCE_PRECISION_HINT": "bf16" if precision == "bf16" else "f32",
            # OpenVINO otherwise quantises activations to int8 in products whose weights are
            # stored int8, as this model's are: faster, but vectors move further from float32
            # than bfloat16 moves them. The weights are the model's own int8 ones either way.
            "DYNAMIC_QUANTIZATION_GROUP_SIZE": INT8_GROUP if precision == "int8" else "0",
            "PERFORMANCE_HINT": "LATENCY",
            "NUM_STREAMS": "1",
            "INFERENCE_NUM_THREADS": str(threads),
            **(extra or {}),
        }
        self._compiled = core.compile_model(core.read_model(model), "CPU", config)
        self._output = self._compiled.outputs[0]
        self._request = self._compiled.create_infer_request()
        self._lock = threading.Lock()

    def run(self, ids: TokenArray, mask: TokenArray) -> Hidden:
        with self._lock:
            # Outputs are copied out of the request, which the next caller reuses.
            result = self._request.infer(feeds(ids, mask), share_outputs=False)
        hidden: Hidden = np.asarray(result[self._output], dtype=np.float32)
        return hidden
