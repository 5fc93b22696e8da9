"""Work is budgeted and shared fairly between tenants.

- Each key has a budget of request bytes a minute next to its request count: past it, a call
  is 429 with `Retry-After`, whatever its size mix; another key's budget is its own.
- Embedding takes turns between tenants a chunk at a time: while one tenant's bulk work
  holds the gate, another tenant's call is admitted at the very next turn, never behind the
  rest of the bulk work. (Ordering is asserted with events, never with timings.)
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from server_helpers import Api, assert_clean_log, problem
from tessera_server.engine.fairness import CHUNK, FairEmbedder, FairGate, owned_by
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

    def interactive() -> None:
        with gate.turn("interactive"):
            order.append("interactive")

    worker = threading.Thread(target=bulk)
    worker.start()
    assert bulk_in.wait(30)
    other = threading.Thread(target=interactive)
    other.start()
    # Wait (bounded) until the interactive call is queued at the gate, then let bulk go on.
    for _ in range(3000):
        with gate._cond:
            if "interactive" in gate._waiting:
                break
        time.sleep(0.01)
    release.set()
    worker.join(30)
    other.join(30)
    assert order[:2] == ["bulk0", "interactive"], order
    assert order[2:] == ["bulk1", "bulk2", "bulk3", "bulk4"]


class Recording:
    """An embedder that records which texts it got, per call (the real model is elsewhere)."""

    model_id, dim, runtime = "recording", 3, "python"

    def __init__(self) -> None:
        self.calls: list[list[str]] = []

    def embed(self, texts: list[str]) -> np.ndarray:
        self.calls.append(list(texts))
        return np.array([[len(t), 0.0, 1.0] for t in texts], dtype=np.float32)


def test_bulk_embedding_is_chunked_and_keeps_the_order_of_its_texts() -> None:
    inner = Recording()
    fair = FairEmbedder(inner, 1)
    texts = [("x" * ((i * 7) % 50 + 1)) for i in range(CHUNK * 3 + 5)]
    with owned_by(1):
        vectors = fair.embed(texts)
    assert all(len(call) <= CHUNK for call in inner.calls)
    assert len(inner.calls) == 4
    assert [row[0] for row in vectors] == [float(len(t)) for t in texts]


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

    def interactive() -> None:
        with gate.turn("interactive"):
            other_in.set()

    threads = [threading.Thread(target=bulk_first)]
    threads[0].start()
    assert first_in.wait(30)
    threads.append(threading.Thread(target=bulk_second))
    threads[1].start()
    threads.append(threading.Thread(target=interactive))
    threads[2].start()
    assert other_in.wait(30)  # admitted while the bulk tenant's first turn still runs
    assert not second_in.is_set()  # the bulk tenant's second turn waits for its first
    hold.set()
    for thread in threads:
        thread.join(30)
    assert second_in.is_set()
