"""Migration 5 drops the FTS5 tables and triggers, which search stopped reading.

A database written under schema 4, with the FTS5 triggers firing on every insert and
delete, must upgrade in place: every row kept, the file intact, and writes and word search
working as before.
"""

from __future__ import annotations

import sqlite3
from datetime import datetime, timedelta, timezone
from pathlib import Path

import numpy as np
from tessera_server.engine.records import (
    EpisodePool,
    EpisodeRecord,
    FactRecord,
    Scope,
    TurnRecord,
    Vector,
)
from tessera_server.store.sqlite.connection import ConnectionPool, migrations
from tessera_server.store.sqlite.store import SQLiteStore

NOW = datetime(2026, 1, 1, tzinfo=timezone.utc)
DROP_FTS = 5
TABLES = ("turns", "episodes", "episode_sources", "facts", "fact_sources")


def _schema_before(path: Path, version: int) -> None:
    """Apply the bundled migrations below `version`, as the service of that time did."""
    pool = ConnectionPool(path)
    conn = pool.conn
    conn.execute(
        "CREATE TABLE schema_migrations "
        "(version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)"
    )
    for number, name, sql in migrations():
        if number < version:
            conn.executescript(
                f"BEGIN IMMEDIATE;\n{sql}\nINSERT INTO schema_migrations "
                f"VALUES ({number}, '{name}', '{NOW.isoformat()}');\nCOMMIT;"
            )
    pool.close()


def _vec(i: int) -> Vector:
    v = np.zeros(4, np.float32)
    v[i % 4] = 1.0
    return v


def _fill(store: SQLiteStore, scope: Scope) -> None:
    """Turns, their note episodes and facts; some deleted and updated, firing every trigger."""
    for n in range(30):
        text = f"turn {n}: we talked about {'hiking' if n % 3 else 'pottery'} and dogs"
        turn, _ = store.insert_turn(
            TurnRecord(
                scope.tenant_id, "u", "", f"t{n}", "user", text, NOW, {}, False, NOW, _vec(n)
            )
        )
        assert turn.pk is not None
        store.insert_episode(
            EpisodeRecord(
                id=f"ep_{n:04d}",
                tenant_id=scope.tenant_id,
                user_id="u",
                session_id="",
                kind="note",
                text=text,
                role="user",
                event_time=NOW + timedelta(seconds=n),
                importance=0.5,
                metadata={"n": n},
                created_at=NOW,
                source_turn_pks=[turn.pk],
                embedding=_vec(n),
            )
        )
        store.insert_fact(
            FactRecord(
                id=f"ft_{n:04d}",
                tenant_id=scope.tenant_id,
                user_id="u",
                session_id="",
                subject="user",
                relation="likes",
                object=f"thing {n}",
                text=f"user likes thing {n}",
                role="user",
                confidence=1.0,
                importance=0.5,
                functional=False,
                t_valid=NOW,
                t_created=NOW,
                metadata={},
                created_at=NOW,
                source_turn_pks=[turn.pk],
                embedding=_vec(n),
            )
        )
    # A delete and a rewrite in plain SQL: today's store also logs index changes, in a table
    # a schema-4 file does not have yet.
    with store.pool.write() as conn:
        conn.execute("DELETE FROM episodes WHERE id = 'ep_0000'")
        conn.execute(
            "UPDATE episodes SET text = 'turn 1: we talked about kayaking instead' "
            "WHERE id = 'ep_0001'"
        )


def _dump(path: Path) -> dict[str, list[tuple[object, ...]]]:
    conn = sqlite3.connect(path)
    try:
        return {t: conn.execute(f"SELECT * FROM {t} ORDER BY 1, 2").fetchall() for t in TABLES}
    finally:
        conn.close()


def _fts_objects(path: Path) -> list[str]:
    conn = sqlite3.connect(path)
    try:
        rows = conn.execute(
            "SELECT name FROM sqlite_master WHERE name LIKE '%fts%' "
            "OR (type = 'trigger' AND tbl_name IN ('turns', 'episodes', 'facts') "
            # Migration 8's triggers write the index change log; they are not FTS5's.
            "AND name NOT LIKE '%\\_index\\_%' ESCAPE '\\')"
        )
        return sorted(str(r[0]) for r in rows)
    finally:
        conn.close()


def test_an_fts5_database_upgrades_and_keeps_every_row(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    _schema_before(path, DROP_FTS)
    assert "episodes_fts" in _fts_objects(path) and "turns_ai" in _fts_objects(path)
    old = SQLiteStore(path, 4)
    tenant, _ = old.ensure_tenant("acme", NOW)
    scope = Scope(tenant, "u", None)
    _fill(old, scope)
    old.close()
    before = _dump(path)
    assert len(before["turns"]) == 30 and len(before["episodes"]) == 29

    store = SQLiteStore(path, 4)
    assert "0005_drop_fts.sql" in store.migrate()
    assert _fts_objects(path) == []
    assert _dump(path) == before
    assert store.integrity_ok()
    assert store.migrate() == []

    hits = store.lexical_episodes(EpisodePool(scope, ["note"]), ["pottery"], 50)
    assert {h for h, _ in hits} == {f"ep_{n:04d}" for n in range(3, 30, 3)}
    kayaking = store.lexical_episodes(EpisodePool(scope, ["note"]), ["kayaking"], 5)
    assert [h for h, _ in kayaking] == ["ep_0001"]
    _, created = store.insert_turn(
        TurnRecord(tenant, "u", "", "t-new", "user", "pottery again", NOW, {}, False, NOW, _vec(1))
    )
    assert created
    assert len(store.lexical_turns(scope, ["pottery"], 50)) == 11
    store.close()


def test_a_fresh_database_has_no_fts5_tables(tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path / "new.db", 4)
    assert "0005_drop_fts.sql" in store.migrate()
    assert _fts_objects(tmp_path / "new.db") == []
    store.close()
