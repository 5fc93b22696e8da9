"""A user's portrait and panels are rebuilt once after a run of consolidation jobs, by the last.

They are derived state, rebuilt whole from the user's facts and newest episodes, so a job that
sees another consolidation job of the same user waiting leaves the rebuild to it; the last job
rebuilds them even when it finds nothing left to consolidate. What they hold is what a rebuild
from scratch gives. Real SQLite file, real embedder, real worker loop; the rebuilds are counted
by triggers in the database itself.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from tessera_server.app import build_runtime
from tessera_server.config import load_settings
from tessera_server.engine import maintenance, worker
from tessera_server.engine.clock import utcnow
from tessera_server.engine.memory import Memory
from tessera_server.engine.records import NewTurn, Scope
from tessera_server.engine.runtime import Runtime

T0 = datetime(2024, 5, 4, 18, 0, tzinfo=timezone.utc)
PLACES = ("Lisbon", "Porto", "Madrid", "Seville")


def session(n: int) -> list[NewTurn]:
    """Ten turns of one session: statements that give facts, no open question at the end."""
    lines = [
        f"Ana: I moved to {PLACES[n]} last year.",
        "Ben: That sounds lovely, how is the weather there?",
        "Ana: Warm, and I go running by the river every morning.",
        f"Ana: My sister Marta visited me in week {n}.",
        "Ben: Nice. Did she like the food?",
        "Ana: She loved the bakeries.",
        "Ana: I work at a small design studio now.",
        "Ben: I adopted a dog named Rex.",
        "Ana: Rex is a great name.",
        "Ben: Talk soon.",
    ]
    start = T0 + timedelta(days=7 * n)
    return [
        NewTurn(line, "user", f"s{n}-t{i}", start + timedelta(minutes=i))
        for i, line in enumerate(lines)
    ]


@pytest.fixture()
def setup(tmp_path: Path) -> Iterator[tuple[Runtime, Memory, Path, int]]:
    path = tmp_path / "tessera.db"
    runtime = build_runtime(load_settings(database_url=f"sqlite:///{path}", worker_enabled=False))
    tenant, _ = runtime.store.ensure_tenant("refresh", utcnow())
    conn = sqlite3.connect(path)
    try:
        conn.executescript(
            """
            CREATE TABLE test_rebuilds (what TEXT NOT NULL);
            CREATE TRIGGER test_panel_rows AFTER INSERT ON panels
                BEGIN INSERT INTO test_rebuilds VALUES ('panel'); END;
            CREATE TRIGGER test_portrait_new AFTER INSERT ON portraits
                BEGIN INSERT INTO test_rebuilds VALUES ('portrait'); END;
            CREATE TRIGGER test_portrait_again AFTER UPDATE ON portraits
                BEGIN INSERT INTO test_rebuilds VALUES ('portrait'); END;
            """
        )
    finally:
        conn.close()
    yield runtime, Memory(runtime), path, tenant
    runtime.store.close()


def rebuilds(path: Path) -> dict[str, int]:
    conn = sqlite3.connect(path)
    try:
        rows = conn.execute("SELECT what, count(*) FROM test_rebuilds GROUP BY what").fetchall()
    finally:
        conn.close()
    return {str(what): int(n) for what, n in rows}


def stored_panels(path: Path, user: str) -> list[tuple[str, list[str]]]:
    conn = sqlite3.connect(path)
    try:
        rows = conn.execute(
            "SELECT summary, members FROM panels WHERE user_id = ? ORDER BY pk", (user,)
        ).fetchall()
    finally:
        conn.close()
    return [(str(summary), json.loads(members)) for summary, members in rows]


def drain(runtime: Runtime) -> int:
    jobs = 0
    while worker.work_once(runtime):
        jobs += 1
    return jobs


def test_a_history_import_rebuilds_the_portrait_and_panels_once(
    setup: tuple[Runtime, Memory, Path, int],
) -> None:
    runtime, memory, path, tenant = setup
    # As `tessera import` sends a history: a batch per session (ten turns queue a job each),
    # then one consolidation of the user.
    for n in range(len(PLACES)):
        memory.batch(Scope(tenant, "ana", f"s{n}"), session(n), infer=True, metadata=None)
    memory.enqueue_consolidation(Scope(tenant, "ana", None))
    assert drain(runtime) == len(PLACES) + 1
    user = Scope(tenant, "ana", None)
    assert runtime.store.count_pending(user) == 0
    panels = stored_panels(path, "ana")
    assert panels, "the import made panels"
    portrait = runtime.store.get_portrait(tenant, "ana")
    assert portrait, "the import made a portrait"
    # Written once each: by the last job, after every job's episodes and facts were in.
    assert rebuilds(path) == {"panel": len(panels), "portrait": 1}
    # And they are what a rebuild from scratch gives now.
    assert maintenance.refresh_portrait(runtime, tenant, "ana") == portrait
    maintenance.refresh_panels(runtime, tenant, "ana")
    assert stored_panels(path, "ana") == panels


def test_the_last_job_rebuilds_even_with_nothing_left_to_consolidate(
    setup: tuple[Runtime, Memory, Path, int],
) -> None:
    runtime, memory, path, tenant = setup
    memory.batch(Scope(tenant, "ana", "s0"), session(0), infer=True, metadata=None)
    # Queued behind the session's job, which consolidates every turn and leaves this one
    # nothing to do but the rebuild it was left.
    memory.enqueue_consolidation(Scope(tenant, "ana", None))
    assert drain(runtime) == 2
    panels = stored_panels(path, "ana")
    assert panels and runtime.store.get_portrait(tenant, "ana")
    assert rebuilds(path) == {"panel": len(panels), "portrait": 1}


def test_an_explicit_consolidation_rebuilds_at_once(
    setup: tuple[Runtime, Memory, Path, int],
) -> None:
    runtime, memory, path, tenant = setup
    scope = Scope(tenant, "ana", "s0")
    memory.batch(scope, session(0), infer=True, metadata=None)  # queues a job
    # A caller that consolidates explicitly reads the portrait next: no waiting for the job.
    assert memory.consolidate_now(scope).turns_consolidated == len(session(0))
    assert runtime.store.get_portrait(tenant, "ana")
    assert rebuilds(path)["portrait"] == 1
