"""The index change log's generations, moved once per write transaction.

Triggers (migration 8) log every row a write changes in a column the in-memory indexes hold,
under the tenant's next generation, and mark the tenant pending. `settle` runs in every write
transaction just before it commits (`ConnectionPool(before_commit=settle)`): each pending
tenant moves to that generation, a change of too many rows is logged as one rebuild instead,
and generations past the kept window are pruned. Nothing a write path does by hand is
involved, so none can forget it.
"""

from __future__ import annotations

import sqlite3

from .dense import KEPT_GENERATIONS, MAX_LOGGED_ROWS, REBUILD, ROWS


def settle(conn: sqlite3.Connection) -> None:
    try:
        pending = [int(r[0]) for r in conn.execute("SELECT tenant_id FROM index_pending")]
    except sqlite3.OperationalError:
        return  # a file not migrated to schema 8 yet: no triggers, nothing logged to settle
    if not pending:
        return
    for tenant_id in pending:
        generation = int(
            conn.execute(
                "UPDATE index_state SET generation = generation + 1 WHERE tenant_id = ? "
                "RETURNING generation",
                (tenant_id,),
            ).fetchall()[0][0]
        )
        logged = conn.execute(
            "SELECT count(*) FROM index_changes WHERE tenant_id = ? AND generation = ?",
            (tenant_id, generation),
        ).fetchone()[0]
        if logged > MAX_LOGGED_ROWS:
            conn.execute(
                "DELETE FROM index_changes WHERE tenant_id = ? AND generation = ?",
                (tenant_id, generation),
            )
            conn.execute(
                "INSERT INTO index_changes (tenant_id, generation, kind, tbl, pk) "
                "VALUES (?, ?, ?, ?, 0)",
                (tenant_id, generation, ROWS, REBUILD),
            )
        conn.execute(
            "DELETE FROM index_changes WHERE tenant_id = ? AND generation <= ?",
            (tenant_id, generation - KEPT_GENERATIONS),
        )
    conn.execute("DELETE FROM index_pending")
