"""The console's scope page reads a whole user's pending turns and procedures beside the
timeline. Rule: those reads seek the rows they want through an index keyed by the user and
then by what they select (consolidated, kind); they never walk every turn or episode the user
has (which cost about 240 ms at 100k memories). Checked on SQLite's real query plans."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from tessera_server.engine.records import Scope
from tessera_server.store.sqlite.store import SQLiteStore


def _plans(store: SQLiteStore, read: Callable[[], Any]) -> list[str]:
    """The plan lines of every SELECT the read ran."""
    conn = store.pool.conn
    statements: list[str] = []
    conn.set_trace_callback(statements.append)
    try:
        read()
    finally:
        conn.set_trace_callback(None)
    return [
        str(row["detail"])
        for sql in statements
        if sql.lstrip().upper().startswith("SELECT")
        for row in conn.execute(f"EXPLAIN QUERY PLAN {sql}").fetchall()
    ]


def test_a_whole_users_side_reads_seek_their_rows(tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path / "x.db", 4)
    store.migrate()
    tenant, _ = store.ensure_tenant("acme", datetime(2026, 1, 1, tzinfo=timezone.utc))
    whole_user = Scope(tenant, "alice", None)
    try:
        pending = _plans(store, lambda: store.pending_turns(whole_user, 20))
        assert any("turns" in p and "consolidated=?" in p for p in pending), pending
        skills = _plans(
            store, lambda: store.episodes_in_scope(whole_user, ("procedure", "resource"), 40)
        )
        assert any("episodes" in p and "user_id=? AND kind=?" in p for p in skills), skills
    finally:
        store.close()
