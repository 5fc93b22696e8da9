"""Episodes must not depend on when consolidation ran.

The background worker consolidates whatever is pending when its job runs, often in the middle
of a conversation; a batch of pending turns is also capped. A question at the end of a batch
must still share its episode with the reply that arrives after it, so consolidating turn by
turn, in chunks, or all at once gives the same episodes (real SQLite file, real embedder).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from tessera_server.app import build_runtime
from tessera_server.config import load_settings
from tessera_server.engine import consolidation
from tessera_server.engine.clock import utcnow
from tessera_server.engine.memory import Memory
from tessera_server.engine.records import NewTurn, Scope
from tessera_server.engine.runtime import Runtime

T0 = datetime(2024, 5, 4, 18, 0, tzinfo=timezone.utc)
LINES = [
    "Ana: I signed up for the half marathon in October.",
    "Ben: Wow! How long have you been training for it?",
    "Ana: About three months, mostly early runs by the river.",
    "Ben: Which shoes do you run in?",
    "Ana: A pair of trail shoes my sister gave me.",
    "Ana: My knee hurt a little last week though.",
    "Ben: Did you see a physio about the knee?",
    "Ana: Yes, she said to rest for two days and stretch.",
    "Ben: Good. Are you still going to Lisbon in June?",
    "Ana: Yes! And then to Porto for the wine tour.",
    "Ben: Nice, send photos.",
]


@pytest.fixture()
def setup(tmp_path: Path) -> Iterator[tuple[Runtime, Memory, Path, int]]:
    path = tmp_path / "tessera.db"
    runtime = build_runtime(load_settings(database_url=f"sqlite:///{path}", worker_enabled=False))
    tenant, _ = runtime.store.ensure_tenant("batches", utcnow())
    yield runtime, Memory(runtime), path, tenant
    runtime.store.close()


def add(memory: Memory, scope: Scope, lines: list[str], start: int) -> None:
    for n, line in enumerate(lines, start):
        said = NewTurn(line, "user", f"t{n}", T0 + timedelta(seconds=n))
        memory.add(scope, said, mode="async", infer=True, metadata=None)


def episodes(path: Path, user: str) -> list[tuple[str, ...]]:
    """Each episode's source turns, in order."""
    conn = sqlite3.connect(path)
    try:
        rows = conn.execute(
            "SELECT e.pk, t.turn_id FROM episodes e JOIN episode_sources s ON s.episode_pk = e.pk "
            "JOIN turns t ON t.pk = s.turn_pk WHERE e.user_id = ? ORDER BY e.pk, t.pk",
            (user,),
        ).fetchall()
    finally:
        conn.close()
    grouped: dict[int, list[str]] = {}
    for pk, turn_id in rows:
        grouped.setdefault(pk, []).append(turn_id)
    return sorted(tuple(ids) for ids in grouped.values())


def test_worker_runs_between_turns_do_not_split_exchanges(
    setup: tuple[Runtime, Memory, Path, int],
) -> None:
    runtime, memory, path, tenant = setup
    at_once, worker, unheld = (Scope(tenant, u, None) for u in ("at-once", "worker", "unheld"))
    add(memory, at_once, LINES, 0)
    memory.consolidate_now(at_once)
    expected = episodes(path, "at-once")
    assert ("t1", "t2") in expected and ("t8", "t9") in expected  # question and reply

    # The worker's way: a job after every turn; each leaves the open question pending.
    for n, line in enumerate(LINES):
        add(memory, worker, [line], n)
        consolidation.consolidate(runtime, worker, hold_open_end=True)
        add(memory, unheld, [line], n)
        consolidation.consolidate(runtime, unheld)
    memory.consolidate_now(worker)
    assert episodes(path, "worker") == expected
    assert runtime.store.count_pending(worker) == 0
    # Consolidating everything each time instead cuts each question from its reply.
    split = episodes(path, "unheld")
    assert ("t1",) in split and ("t2",) in split and split != expected


def test_a_lone_question_waits_for_the_worker_but_not_for_an_explicit_call(
    setup: tuple[Runtime, Memory, Path, int],
) -> None:
    runtime, memory, path, tenant = setup
    scope = Scope(tenant, "lone", None)
    add(memory, scope, ["Ben: Are you still going to Lisbon in June?"], 0)
    summary = consolidation.consolidate(runtime, scope, hold_open_end=True)
    assert summary.turns_consolidated == 0 and runtime.store.count_pending(scope) == 1
    assert memory.consolidate_now(scope).turns_consolidated == 1
    assert episodes(path, "lone") == [("t0",)]


def test_a_full_batch_does_not_end_an_exchange(
    setup: tuple[Runtime, Memory, Path, int],
) -> None:
    runtime, memory, path, tenant = setup
    scope = Scope(tenant, "long", None)
    batch = consolidation.BATCH_TURNS
    # Statements up to the batch's last turn, which asks; the reply is the next batch's first.
    lines = [f"Ana: Note number {n} about the garden." for n in range(batch - 1)]
    lines += ["Ben: Which roses did you plant?", "Ana: Two climbing roses by the gate."]
    add(memory, scope, lines, 0)
    summary = memory.consolidate_now(scope)
    assert summary.turns_consolidated == batch + 1 and runtime.store.count_pending(scope) == 0
    assert (f"t{batch - 1}", f"t{batch}") in episodes(path, "long")
