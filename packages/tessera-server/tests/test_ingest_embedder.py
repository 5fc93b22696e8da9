"""The bundled embedder runs a fused rebuild of the exported MiniLM graph (embedder/fused.py),
in OpenVINO (bfloat16 where the CPU has it) or in onnxruntime.

Stored vectors must not move: each runtime has to give the exported graph's vectors, for texts
short and long (truncated at 256 tokens), alone or padded inside a batch: to float32 rounding
in float32, to a cosine of 0.9999 in bfloat16, 0.998 with int8 activations (opt-in).
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import openvino as ov
import pytest
from tessera_server.config import Settings
from tessera_server.providers.embedder import Vectors, load_embedder
from tessera_server.providers.embedder.minilm import (
    BATCH,
    BATCH_TOKENS,
    CROWDED_SECONDS,
    MAX_PADDING,
    MAX_TOKENS,
    MIN_BATCH,
    MiniLMEmbedder,
    _batches,
    _Combiner,
)
from tessera_server.providers.embedder.openvino_graph import resolve_precision

TEXTS = [
    "Hey Mel! Good to see you! How have you been?",
    "I went to a LGBTQ support group yesterday and it was so powerful.",
    "ok",
    "Caroline: Thanks, Melanie! That charity race sounds great — how did it go?",
    "Ünïcödé wörds: Zürich straße ÉCOLE, naïve café, 東京 and emoji 🎉",
    "   leading and trailing spaces   ",
    "I'm planning a trip to Japan next spring. Any tips for cherry blossom season in Kyoto?",
    "line one\nline two about a dog\n\nand tea",
    "My sister's wedding is on 12 June 2023 at 3pm; we need 40 chairs and a vegan cake.",
    "Sure! Here are a few ideas for a weekend in Lisbon: "
    + "walk through Alfama, take tram 28, eat pastéis de nata in Belém, "
    + "watch the sunset from Miradouro da Senhora do Monte. " * 4,
    "To configure the build, first install the toolchain, then run the setup script "
    + "with the flags you need; every step is logged so you can retrace it later. " * 20,
]


NATIVE_BF16 = "BF16" in ov.Core().get_property("CPU", "OPTIMIZATION_CAPABILITIES")
# (runtime, precision) as the settings name them; close_to() holds each to its arithmetic.
RUNTIMES = [
    ("onnxruntime", "auto"),
    ("openvino", "f32"),
    ("openvino", "auto"),
    ("openvino", "int8"),
]


@pytest.fixture(scope="module")
def exported() -> Vectors:
    return MiniLMEmbedder(fused=False).embed(TEXTS)


@pytest.fixture(scope="module", params=RUNTIMES, ids=lambda p: "-".join(p))
def embedder(request: pytest.FixtureRequest) -> MiniLMEmbedder:
    runtime, precision = request.param
    return MiniLMEmbedder(runtime=runtime, precision=precision)


def close_to(ours: Vectors, theirs: Vectors, precision: str) -> bool:
    if precision in COSINES:
        return bool(((ours * theirs).sum(axis=1) >= COSINES[precision]).all())
    return bool(np.abs(ours - theirs).max() < 1e-5)


# The least cosine to float32 each reduced arithmetic keeps: int8 activations move the shortest
# texts most ("ok": 0.9983; 0.9995 over the texts of bench/results/embedder-cpu-wave6).
COSINES = {"bf16": 0.9999, "int8": 0.998}


def test_every_runtime_gives_the_exported_graphs_vectors(
    embedder: MiniLMEmbedder, exported: Vectors
) -> None:
    tokens = [len(embedder._tokenizer.encode(t).ids) for t in TEXTS]
    assert max(tokens) == MAX_TOKENS and min(tokens) < 8  # truncated and heavily padded rows
    ours = embedder.embed(TEXTS)
    assert ours.shape == exported.shape == (len(TEXTS), 384) and ours.dtype == np.float32
    assert close_to(ours, exported, embedder.graph.precision)
    assert np.allclose(np.linalg.norm(ours, axis=1), 1.0, atol=1e-6)


def test_a_text_gets_its_vector_alone_or_in_a_batch(embedder: MiniLMEmbedder) -> None:
    together = embedder.embed(TEXTS)
    alone = np.concatenate([embedder.embed([t]) for t in TEXTS])
    reordered = embedder.embed(TEXTS[::-1])[::-1]
    if embedder.runtime == "onnxruntime f32":
        # onnxruntime's kernels do not depend on the batch's shape: to the last bit.
        assert together.tobytes() == alone.tobytes() == reordered.tobytes()
    else:
        assert close_to(alone, together, embedder.graph.precision)
        assert close_to(reordered, together, embedder.graph.precision)
    # The same batch always gives the same vectors.
    assert embedder.embed(TEXTS).tobytes() == together.tobytes()


@pytest.mark.slow  # fast lane: left out (CI runs it)
def test_threads_embedding_at_once_get_their_own_vectors(embedder: MiniLMEmbedder) -> None:
    batches = [TEXTS[i:] + TEXTS[:i] for i in range(8)]
    serial = [embedder.embed(b) for b in batches]
    with ThreadPoolExecutor(8) as pool:
        parallel = list(pool.map(embedder.embed, batches))
    assert all(a.tobytes() == b.tobytes() for a, b in zip(serial, parallel, strict=True))


@pytest.mark.skipif(not NATIVE_BF16, reason="this CPU has no native bfloat16")
def test_auto_precision_is_int8_where_the_cpu_computes_bfloat16() -> None:
    assert MiniLMEmbedder().runtime == "openvino int8"
    assert MiniLMEmbedder(precision="f32").runtime == "openvino f32"
    assert MiniLMEmbedder(precision="bf16").runtime == "openvino bf16"


def test_auto_precision_follows_the_cpus_capabilities() -> None:
    """`auto` is int8 where OpenVINO reports native bfloat16, float32 on any other CPU; an
    explicit precision is kept whatever the CPU."""
    assert resolve_precision("auto", ["BF16", "FP32", "INT8"]) == "int8"
    assert resolve_precision("auto", ["FP32", "INT8", "BIN"]) == "f32"
    assert resolve_precision("auto", []) == "f32"
    for asked in ("bf16", "f32", "int8"):
        assert resolve_precision(asked, ["FP32"]) == asked
        assert resolve_precision(asked, ["BF16"]) == asked


def test_the_settings_choose_the_runtime_and_the_precision(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("TESSERA_EMBEDDER_RUNTIME", "onnxruntime")
    monkeypatch.setenv("TESSERA_EMBEDDER_PRECISION", "f32")
    settings = Settings()
    chosen = load_embedder(
        settings.embedder, settings.embedder_runtime, settings.embedder_precision
    )
    assert chosen.runtime == "onnxruntime f32"
    for precision in ("bf16", "int8"):
        monkeypatch.setenv("TESSERA_EMBEDDER_RUNTIME", "openvino")
        monkeypatch.setenv("TESSERA_EMBEDDER_PRECISION", precision)
        settings = Settings()
        named = load_embedder(
            settings.embedder, settings.embedder_runtime, settings.embedder_precision
        )
        assert named.runtime == f"openvino {precision}"
    monkeypatch.setenv("TESSERA_EMBEDDER_RUNTIME", "tensorflow")
    with pytest.raises(ValueError, match="onnxruntime"):
        Settings()
    with pytest.raises(ValueError, match="unknown precision"):
        MiniLMEmbedder(precision="int4")


def test_runs_hold_every_text_once_within_the_caps() -> None:
    lengths = [3] * 70 + [10] * 100 + [40] * 30 + [200] * 9 + [256] * 5
    order = list(range(len(lengths)))
    batches = _batches(order, lengths)
    assert [i for b in batches for i in b] == order
    for batch in batches:
        padded = len(batch) * max(lengths[i] for i in batch)
        assert len(batch) <= BATCH
        assert padded <= BATCH_TOKENS or len(batch) <= MIN_BATCH
    # The shortest fill BATCH, short ones the token cap; long ones still go MIN_BATCH to a run.
    assert len(batches[0]) == BATCH
    assert BATCH_TOKENS // 10 in [len(b) for b in batches if lengths[b[0]] == 10]
    assert [len(b) for b in batches if lengths[b[-1]] >= 200][:2] == [MIN_BATCH, MIN_BATCH]


@pytest.mark.parametrize("seed", range(20))
def test_runs_of_mixed_lengths_pad_little(seed: int) -> None:
    """A run never holds more than MAX_PADDING padded tokens per real one: a text much longer
    than the run so far starts its own (padding costs the model as much as real tokens)."""
    rng = np.random.default_rng(seed)
    lengths = [int(n) for n in rng.integers(3, MAX_TOKENS + 1, size=int(rng.integers(2, 80)))]
    order = sorted(range(len(lengths)), key=lambda i: lengths[i])
    batches = _batches(order, lengths)
    assert [i for b in batches for i in b] == order
    for batch in batches:
        real = sum(lengths[i] for i in batch)
        assert len(batch) * max(lengths[i] for i in batch) <= MAX_PADDING * real
    # Three short turns and a long one: four runs' worth of padding before, two runs now.
    assert _batches([0, 1, 2, 3], [10, 12, 14, 250]) == [[0, 1, 2], [3]]


def test_concurrent_queries_get_their_own_vectors(embedder: MiniLMEmbedder) -> None:
    alone = [embedder.embed([t]) for t in TEXTS * 3]
    with ThreadPoolExecutor(8) as pool:
        together = list(pool.map(lambda t: embedder.embed([t]), TEXTS * 3))
    for a, b in zip(alone, together, strict=True):
        assert b.shape == (1, 384) and close_to(a, b, embedder.graph.precision)


def test_calls_waiting_for_the_model_run_together() -> None:
    started, release = threading.Event(), threading.Event()
    runs: list[list[list[int]]] = []

    def run(rows: list[list[int]]) -> Vectors:
        runs.append(rows)
        if len(runs) == 1:
            started.set()
            release.wait(30)
        return np.array([[float(r[0])] for r in rows], dtype=np.float32)

    combiner = _Combiner(run)
    with ThreadPoolExecutor(4) as pool:
        first = pool.submit(combiner.embed, [[1]])
        assert started.wait(30)
        rest = [pool.submit(combiner.embed, [[n], [n + 10]]) for n in (2, 3, 4)]
        while len(combiner._waiting) < 3:  # all three queued behind the running call
            threading.Event().wait(0.01)
        release.set()
        assert first.result()[:, 0].tolist() == [1.0]
        for n, future in zip((2, 3, 4), rest, strict=True):
            assert future.result()[:, 0].tolist() == [n, n + 10]
    assert len(runs) == 2 and sorted(r[0] for r in runs[1]) == [2, 3, 4, 12, 13, 14]


def test_overlapping_calls_use_the_crowded_run_until_they_stop_overlapping() -> None:
    now = [100.0]
    started, release = threading.Event(), threading.Event()
    used: list[str] = []

    def runner(name: str) -> Callable[[list[list[int]]], Vectors]:
        def run(rows: list[list[int]]) -> Vectors:
            used.append(name)
            if len(used) == 2:  # the first overlapping call holds the model a while
                started.set()
                release.wait(30)
            return np.array([[float(r[0])] for r in rows], dtype=np.float32)

        return run

    combiner = _Combiner(runner("solo"), runner("crowded"), clock=lambda: now[0])
    combiner.embed([[1]])  # alone: the model on every thread
    with ThreadPoolExecutor(2) as pool:
        holding = pool.submit(combiner.embed, [[2]])
        assert started.wait(30)
        overlapping = pool.submit(combiner.embed, [[3]])
        while len(combiner._waiting) < 1:
            threading.Event().wait(0.01)
        release.set()
        assert holding.result()[:, 0].tolist() == [2.0]
        assert overlapping.result()[:, 0].tolist() == [3.0]
    combiner.embed([[4]])  # alone again, but calls overlapped a moment ago
    now[0] += CROWDED_SECONDS + 0.1
    combiner.embed([[5]])
    # The second call ran before any overlap; the third was the overlap; then crowded for a
    # while, then solo.
    assert used == ["solo", "solo", "crowded", "crowded", "solo"]


def test_overlapping_calls_run_on_every_lane_at_once_but_never_beside_a_lone_run() -> None:
    """Crowded calls do not queue behind one copy of the model while another copy is free;
    a lone call's run (the model on every core) never shares the cores with them."""
    now = [100.0]
    running: dict[str, threading.Event] = {}
    release: dict[str, threading.Event] = {}
    seen: list[tuple[str, list[int]]] = []
    lock = threading.Lock()

    def runner(name: str) -> Callable[[list[list[int]]], Vectors]:
        def run(rows: list[list[int]]) -> Vectors:
            with lock:
                seen.append((name, [r[0] for r in rows]))
                active = [n for n, e in running.items() if e.is_set() and not release[n].is_set()]
                running[name] = threading.Event()
                release[name] = threading.Event()
            assert not (name == "solo" and active) and not (name != "solo" and "solo" in active)
            running[name].set()
            release[name].wait(30)
            return np.array([[float(r[0])] for r in rows], dtype=np.float32)

        return run

    def started(name: str) -> bool:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            with lock:
                event = running.get(name)
            if event is not None and event.is_set():
                return True
            time.sleep(0.01)
        return False

    combiner = _Combiner(runner("solo"), [runner("a"), runner("b")], clock=lambda: now[0])
    with ThreadPoolExecutor(4) as pool:
        lone = pool.submit(combiner.embed, [[1]])
        assert started("solo")
        first = pool.submit(combiner.embed, [[2]])  # overlaps: waits for the lone run
        while len(combiner._waiting) < 1:
            time.sleep(0.01)
        assert [n for n, _ in seen] == ["solo"]
        release["solo"].set()
        assert lone.result()[:, 0].tolist() == [1.0]
        assert started("a")
        second = pool.submit(combiner.embed, [[3]])  # lane a is busy: lane b takes it now
        assert started("b")
        release["a"].set()
        release["b"].set()
        assert first.result()[:, 0].tolist() == [2.0]
        assert second.result()[:, 0].tolist() == [3.0]
    assert seen == [("solo", [1]), ("a", [2]), ("b", [3])]


def test_the_one_thread_copy_gives_the_same_vectors() -> None:
    """Queries embedded while searches overlap run on the second copy of the model: a
    search's results must not depend on which copy embedded its query."""
    embedder = MiniLMEmbedder(threads=2, crowded_lanes=2)
    assert embedder.crowded_graphs[0] is not embedder.graph
    rows = [e.ids for e in embedder._tokenizer.encode_batch(TEXTS)]
    assert len(embedder.crowded_graphs) == 2
    assert len(MiniLMEmbedder(threads=2, crowded_lanes=0).crowded_graphs) == min(
        os.cpu_count() or 1, 2
    )  # one per core the model may use
    for row in rows:
        for graph in embedder.crowded_graphs:
            assert np.array_equal(embedder._embed_rows([row]), embedder._embed_rows([row], graph))
    one = MiniLMEmbedder(threads=1)
    assert one.crowded_graphs == [one.graph]  # already on one thread: no second copy


def test_a_failed_run_reaches_every_call_in_it() -> None:
    def run(rows: list[list[int]]) -> Vectors:
        raise RuntimeError("model failed")

    with pytest.raises(RuntimeError, match="model failed"):
        _Combiner(run).embed([[1]])
