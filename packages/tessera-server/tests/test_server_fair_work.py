"""Work is budgeted and shared fairly between tenants.

- Each key has a budget of request bytes a minute next to its request count: past it, a call
  is 429 with `Retry-After`, whatever its size mix; another key's budget is its own.
- Bulk embedding (a call larger than one chunk) takes turns between tenants a chunk at a
  time, on its own instance of the model; an interactive call (one chunk or less) is never
  queued, never waits for the model a bulk chunk runs on, and goes before the bulk call's
  remaining chunks.
- The worker claims jobs round-robin between tenants: one tenant's backlog cannot hold back
  another tenant's consolidation.

Ordering is asserted with events, never with timings.
"""

from __future__ import annotations

import os
import random
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pytest
from server_helpers import Api, assert_clean_log, problem
from tessera_server.app import build_runtime
from tessera_server.config import load_settings
from tessera_server.engine import worker
from tessera_server.engine.clock import utcnow
from tessera_server.engine.fairness import (
    CHUNK_COST,
    CHUNK_TEXTS,
    FairEmbedder,
    FairGate,
    bulk_threads,
    chunks,
    is_interactive,
    owned_by,
    text_cost,
)
from tessera_server.engine.records import Scope
from tessera_server.engine.runtime import Runtime
from tessera_server.providers.embedder.minilm import MiniLMEmbedder
from tessera_server.providers.embedder.openvino_graph import OpenVinoGraph
from tessera_server.testing import ServiceHandle, run_service

BUDGET = 30_000


@pytest.fixture(scope="module")
def budgeted(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServiceHandle]:
    data_dir: Path = tmp_path_factory.mktemp("budgeted")
    env = {"TESSERA_WORK_BUDGET_BYTES_PER_MINUTE": str(BUDGET)}
    with run_service(data_dir, env=env) as handle:
        yield handle
        assert_clean_log(handle.logs())


@pytest.mark.parametrize("size", [1_000, 9_000, 29_000])
def test_a_key_past_its_byte_budget_gets_429_and_others_do_not(
    budgeted: ServiceHandle, size: int
) -> None:
    bulk = Api(budgeted.base_url, budgeted.create_key(f"bulk-{size}"))
    other = Api(budgeted.base_url, budgeted.create_key(f"interactive-{size}"))
    try:
        text = "w" * size
        sent = 0
        refused = None
        attempts = BUDGET // size + 2
        for n in range(attempts):
            message = {"role": "user", "content": text, "turn_id": f"t{n}"}
            response = bulk.post(
                "/v1/memories:batch", {"user_id": "u", "infer": False, "messages": [message]}
            )
            if response.status_code == 429:
                refused = response
                refused_turn = f"t{n}"
                break
            assert response.status_code == 201, response.text
            sent += size
        assert refused is not None, f"{attempts} bodies of {size} bytes were all accepted"
        assert sent <= BUDGET  # nothing past the budget was stored
        body = problem(refused, 429, "retry")
        assert body["type"].endswith("#rate-limited")
        assert int(refused.headers["retry-after"]) >= 1
        # The refused batch stored nothing; the accepted ones are there.
        gone = bulk.delete(f"/v1/memories/turns/{refused_turn}", {"user_id": "u"}).json()
        assert gone["turns_deleted"] == 0
        kept = bulk.delete("/v1/memories/turns/t0", {"user_id": "u"}).json()
        assert kept["turns_deleted"] == 1
        # The budget is per key: another tenant is not held back.
        assert other.note("u", "one line").get("turn_id")
    finally:
        bulk.close()
        other.close()


def wait_until(condition: Callable[[], bool], what: str) -> None:
    """Poll a condition (bounded: a sync point between threads, not a timing)."""
    for _ in range(3000):
        if condition():
            return
        time.sleep(0.01)
    raise AssertionError(f"never happened: {what}")


class Recording:
    """An embedder that records the start and end of each call in a shared log; a call
    whose first text is in `hold` waits for that text's event first (the real model is
    exercised in test_bulk_lane_gives_the_vectors_of_the_interactive_one)."""

    model_id, dim, runtime = "recording", 3, "python"

    def __init__(self, name: str, log: list[str], hold: dict[str, threading.Event]) -> None:
        self.name, self.log, self.hold = name, log, hold
        self.calls: list[list[str]] = []

    def embed(self, texts: list[str]) -> np.ndarray:
        self.calls.append(list(texts))
        tag = f"{self.name}:{texts[0]}"
        self.log.append(f"start {tag}")
        if texts[0] in self.hold:
            assert self.hold[texts[0]].wait(30)
        self.log.append(f"end {tag}")
        return np.array([[len(t), 0.0, 1.0] for t in texts], dtype=np.float32)


LONG = "w" * CHUNK_COST  # one long text is a whole chunk


def long_texts(n: int) -> list[str]:
    return [f"{i:03d}" + LONG[3:] for i in range(n)]


@pytest.mark.parametrize("slots", [1, 2])
def test_an_interactive_call_goes_before_the_rest_of_a_bulk_call(slots: int) -> None:
    """With a bulk call in flight, an interactive call that arrives during a chunk runs at
    once, and the bulk call's next chunk waits until it has finished."""
    log: list[str] = []
    hold = {"000" + LONG[3:]: threading.Event(), "one line": threading.Event()}
    lane = Recording("bulk", log, hold)
    fair = FairEmbedder(Recording("model", log, hold), slots, lambda: lane)
    texts = long_texts(4)

    def bulk() -> None:
        with owned_by("importer"):
            fair.embed(texts)

    def interactive() -> None:
        with owned_by("chatter"):
            fair.embed(["one line"])

    importer = threading.Thread(target=bulk)
    importer.start()
    wait_until(lambda: f"start bulk:{texts[0]}" in log, "the first bulk chunk runs")
    chatter = threading.Thread(target=interactive)
    chatter.start()
    # Admitted at once, while the bulk chunk still runs: not queued behind it.
    wait_until(lambda: "start model:one line" in log, "the interactive call runs")
    assert f"end bulk:{texts[0]}" not in log
    hold[texts[0]].set()
    # The bulk call reaches its next chunk boundary and waits there for the interactive call.
    wait_until(lambda: fair.gate.queued() == ["importer"], "the next bulk chunk queues")
    assert f"start bulk:{texts[1]}" not in log
    hold["one line"].set()
    importer.join(30)
    chatter.join(30)
    assert log.index("end model:one line") < log.index(f"start bulk:{texts[1]}")
    assert [e for e in log if e.startswith("start bulk")] == [f"start bulk:{t}" for t in texts]


def test_bulk_chunks_take_turns_between_tenants_behind_interactive_calls() -> None:
    """Two tenants' bulk calls alternate chunk by chunk; neither waits for the other's
    whole call."""
    log: list[str] = []
    first = "000" + LONG[3:]
    hold = {first: threading.Event()}
    lane = Recording("bulk", log, hold)
    fair = FairEmbedder(Recording("model", log, hold), 1, lambda: lane)
    a_texts = long_texts(3)
    b_texts = ["b" + t[1:] for t in long_texts(3)]

    def run(owner: str, texts: list[str]) -> None:
        with owned_by(owner):
            fair.embed(texts)

    a = threading.Thread(target=run, args=("a", a_texts))
    a.start()
    wait_until(lambda: f"start bulk:{first}" in log, "a's first chunk runs")
    b = threading.Thread(target=run, args=("b", b_texts))
    b.start()
    wait_until(lambda: fair.gate.queued() == ["b"], "b's first chunk queues")
    hold[first].set()
    a.join(30)
    b.join(30)
    starts = [e.split(":")[1][0] for e in log if e.startswith("start bulk")]
    assert starts == ["0", "b", "0", "b", "0", "b"], starts


def test_another_tenant_is_admitted_at_the_next_turn() -> None:
    gate = FairGate(1)
    order: list[str] = []
    bulk_in, release = threading.Event(), threading.Event()

    def bulk() -> None:
        for i in range(5):
            with gate.turn("bulk"):
                order.append(f"bulk{i}")
                if i == 0:
                    bulk_in.set()
                    release.wait(30)

    def other() -> None:
        with gate.turn("other"):
            order.append("other")

    worker_thread = threading.Thread(target=bulk)
    worker_thread.start()
    assert bulk_in.wait(30)
    second = threading.Thread(target=other)
    second.start()
    wait_until(lambda: "other" in gate.queued(), "the other tenant queues")
    release.set()
    worker_thread.join(30)
    second.join(30)
    assert order[:2] == ["bulk0", "other"], order
    assert order[2:] == ["bulk1", "bulk2", "bulk3", "bulk4"]


@pytest.mark.parametrize("seed", range(5))
def test_bulk_chunks_are_bounded_and_keep_the_order_of_the_texts(seed: int) -> None:
    rng = random.Random(seed)
    texts = ["x" * rng.choice([1, 20, 300, 900, 1500, 4000]) for _ in range(rng.randint(2, 200))]
    for chunk in chunks(texts):
        assert len(chunk) <= CHUNK_TEXTS
        assert len(chunk) == 1 or sum(text_cost(texts[i]) for i in chunk) <= CHUNK_COST
    assert sorted(i for c in chunks(texts) for i in c) == list(range(len(texts)))
    log: list[str] = []
    inner, bulk = Recording("model", log, {}), Recording("bulk", log, {})
    fair = FairEmbedder(inner, 1, lambda: bulk)
    with owned_by(1):
        vectors = fair.embed(texts)
    assert [row[0] for row in vectors] == [float(len(t)) for t in texts]
    # Each call ran on one lane: what fits in one chunk on the interactive model, the rest
    # on the bulk one, a chunk per call.
    lane = inner if is_interactive(texts) else bulk
    assert sum(len(c) for c in lane.calls) == len(texts)
    assert len(lane.calls) == (1 if lane is inner else len(chunks(texts)))


def test_one_text_is_interactive_however_long() -> None:
    assert is_interactive(["x" * 100_000])
    assert is_interactive(["a short turn"] * CHUNK_TEXTS)
    assert not is_interactive(["a short turn"] * (CHUNK_TEXTS + 1))
    assert not is_interactive([LONG, "x"])


def test_the_bulk_lane_leaves_a_core_free() -> None:
    assert [bulk_threads(0, cores) for cores in (1, 2, 8)] == [1, 1, 7]
    assert bulk_threads(4, 16) == 3  # with `serve --workers`, of the process's own share


def test_one_tenant_never_holds_every_slot() -> None:
    """With two slots, a tenant's second turn waits while its first runs, so another
    tenant's call starts at once on the slot kept free."""
    gate = FairGate(2)
    first_in, hold, second_in, other_in = (threading.Event() for _ in range(4))

    def bulk_first() -> None:
        with gate.turn("bulk"):
            first_in.set()
            hold.wait(30)

    def bulk_second() -> None:
        with gate.turn("bulk"):
            second_in.set()

    def other() -> None:
        with gate.turn("other"):
            other_in.set()

    threads = [threading.Thread(target=bulk_first)]
    threads[0].start()
    assert first_in.wait(30)
    threads.append(threading.Thread(target=bulk_second))
    threads[1].start()
    threads.append(threading.Thread(target=other))
    threads[2].start()
    assert other_in.wait(30)  # admitted while the bulk tenant's first turn still runs
    assert not second_in.is_set()  # the bulk tenant's second turn waits for its first
    hold.set()
    for thread in threads:
        thread.join(30)
    assert second_in.is_set()


@pytest.fixture(scope="module")
def runtime(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Runtime]:
    path = tmp_path_factory.mktemp("fair-runtime") / "tessera.db"
    rt = build_runtime(load_settings(database_url=f"sqlite:///{path}"))
    yield rt
    rt.store.close()


def test_bulk_lane_gives_the_vectors_of_the_interactive_one(runtime: Runtime) -> None:
    """The service embeds bulk work on a second instance of the real model with fewer
    threads, loaded on the first bulk call: the same vectors as one text at a time."""
    fair = runtime.embedder
    assert isinstance(fair, FairEmbedder)
    texts = [f"note {i}: the train to Lisbon leaves at {i} o'clock" for i in range(40)]
    texts += ["a long turn about the garden " * 60]
    with owned_by("importer"):
        together = fair.embed(texts)
    alone = np.stack([fair.embed([t])[0] for t in texts])
    assert together.shape == (len(texts), fair.dim)
    assert fair.bulk is not fair.inner  # the bulk call loaded the second instance
    assert float(np.min(np.sum(together * alone, axis=1))) >= 0.9999


def _model_threads(embedder: object) -> int:
    """The threads the real model was compiled for (OpenVINO, the default runtime)."""
    assert isinstance(embedder, MiniLMEmbedder) and isinstance(embedder.graph, OpenVinoGraph)
    return int(embedder.graph._compiled.get_property("INFERENCE_NUM_THREADS"))


def test_a_worker_process_loads_the_model_once_and_leaves_a_core(tmp_path: Path) -> None:
    """`tessera worker` serves no interactive calls: its runtime loads one instance of the
    model, on the bulk lane's threads (every core but one), and runs bulk work on it rather
    than loading a second instance in its first large job; threads an operator sets are
    taken as they are."""
    url = f"sqlite:///{tmp_path / 'worker.db'}"
    rt = build_runtime(load_settings(database_url=url), background=True)
    try:
        fair = rt.embedder
        assert isinstance(fair, FairEmbedder)
        texts = [f"note {i}: the ferry to Porto leaves at {i} o'clock" for i in range(40)]
        with owned_by("importer"):
            vectors = fair.embed([*texts, "a long turn about the orchard " * 60])
        assert vectors.shape == (41, fair.dim)
        assert fair.bulk is fair.inner  # no second instance was loaded for the bulk call
        assert _model_threads(fair.inner) == bulk_threads(0, os.cpu_count())
    finally:
        rt.store.close()
    chosen = build_runtime(load_settings(database_url=url, embedder_threads=2), background=True)
    try:
        assert isinstance(chosen.embedder, FairEmbedder)
        assert _model_threads(chosen.embedder.inner) == 2
    finally:
        chosen.store.close()


def test_the_worker_claims_round_robin_between_tenants(runtime: Runtime) -> None:
    """A tenant with a backlog of jobs queued first does not hold back another tenant's:
    claims alternate between tenants with work, each tenant's oldest first."""
    store = runtime.store
    bulk, _ = store.ensure_tenant("backlog", utcnow())
    chat, _ = store.ensure_tenant("interactive", utcnow())
    queued = [
        store.enqueue_job(Scope(bulk, f"user-{i}", None), "consolidate", utcnow())[0]
        for i in range(5)
    ]
    queued += [
        store.enqueue_job(Scope(chat, f"user-{i}", None), "consolidate", utcnow())[0]
        for i in range(2)
    ]
    tenant_of = {job.pk: job.tenant_id for job in queued}
    served = worker.ServedTenants()
    claimed: list[int] = []
    while worker.work_once(runtime, served):
        done = [pk for pk in tenant_of if pk not in claimed]
        finished = [pk for pk in done if store.get_job(tenant_of[pk], pk).status == "succeeded"]
        assert len(finished) == 1
        claimed.append(finished[0])
    names = {bulk: "backlog", chat: "interactive"}
    order = [names[tenant_of[pk]] for pk in claimed]
    assert order == ["backlog", "interactive", "backlog", "interactive"] + ["backlog"] * 3
    # Each tenant's own jobs in the order they were queued.
    assert [pk for pk in claimed if tenant_of[pk] == bulk] == [j.pk for j in queued[:5]]


def test_the_bulk_lane_is_dropped_when_idle_and_loaded_again() -> None:
    """The second model instance is freed once no bulk work runs on it and none has ended
    for the idle time, never while a bulk call holds it; the next bulk call loads it again,
    and interactive calls never load it."""
    log: list[str] = []
    hold = {"100" + LONG[3:]: threading.Event()}
    made: list[Recording] = []

    def lane() -> Recording:
        made.append(Recording("bulk", log, hold))
        return made[-1]

    fair = FairEmbedder(Recording("inner", log, {}), 1, lane, bulk_idle_seconds=3600)
    fair.embed(["a query"])
    assert not fair.bulk_loaded and not made
    with owned_by("importer"):
        fair.embed(long_texts(2))
    assert fair.bulk_loaded and len(made) == 1
    assert not fair.release_idle_bulk(3600)  # bulk work ended just now
    assert fair.release_idle_bulk(0)
    assert not fair.bulk_loaded
    held = [f"{i:03d}" + LONG[3:] for i in (100, 101)]

    def bulk() -> None:
        with owned_by("importer"):
            fair.embed(held)

    importer = threading.Thread(target=bulk)
    importer.start()
    wait_until(lambda: f"start bulk:{held[0]}" in log, "the bulk call runs on a new lane")
    assert len(made) == 2
    assert not fair.release_idle_bulk(0)  # in use
    hold[held[0]].set()
    importer.join(30)
    assert fair.release_idle_bulk(0)
    assert made[1].calls == [[held[0]], [held[1]]]


def test_the_lane_of_a_single_model_is_never_dropped() -> None:
    inner = Recording("inner", [], {})
    fair = FairEmbedder(inner, 1)
    with owned_by("importer"):
        fair.embed(long_texts(2))
    assert not fair.release_idle_bulk(0)
    assert fair.bulk is inner
