"""A small SQLite database for unit tests of the in-memory indexes, without the whole store.

It has the two bookkeeping tables the indexes read (`index_state`, `index_changes`, as the
migrations define their columns) and an `items` table with the scope columns, a vector and
whatever other columns a test needs.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path


def items_database(
    path: Path | str = ":memory:", columns: str = "", *, autocommit: bool = False
) -> sqlite3.Connection:
    """`columns` adds to `items`, e.g. ", grp INTEGER"; `autocommit` leaves transactions to
    the caller (BEGIN/COMMIT), as the store's own connections do."""
    conn = sqlite3.connect(path, isolation_level=None) if autocommit else sqlite3.connect(path)
    conn.row_factory = sqlite3.Row
    conn.execute("CREATE TABLE index_state (tenant_id INTEGER PRIMARY KEY, generation INTEGER)")
    conn.execute(
        "CREATE TABLE index_changes "
        "(tenant_id INTEGER, generation INTEGER, kind TEXT, tbl TEXT, pk INTEGER)"
    )
    conn.execute(
        "CREATE TABLE items (pk INTEGER PRIMARY KEY, id TEXT, tenant_id INTEGER, "
        f"user_id TEXT, session_id TEXT, embedding BLOB{columns})"
    )
    return conn
