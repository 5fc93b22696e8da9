"""A backend's migrations: numbered `.sql` files in its `migrations` package."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from importlib import resources
from typing import Any


def bundled(
    package: str, substitutions: dict[str, str] | None = None
) -> list[tuple[int, str, str]]:
    """(version, name, sql) of every migration file of `package`, in order; `{name}` marks in
    the SQL are replaced by `substitutions` (PostgreSQL's vector dimension)."""
    found = []
    for entry in resources.files(package).iterdir():
        name = entry.name
        if name.endswith(".sql"):
            sql = entry.read_text(encoding="utf-8")
            for key, value in (substitutions or {}).items():
                sql = sql.replace("{" + key + "}", value)
            found.append((int(name.split("_", 1)[0]), name, sql))
    return sorted(found)


def apply_pending(
    conn: Any,
    bundled: Iterable[tuple[int, str, str]],
    apply: Callable[[int, str, str], None],
    *,
    applied_at: str,
) -> list[str]:
    """Apply each migration the database has not recorded, in order, by `apply(version, name,
    sql)` (which runs it and records it in one transaction); returns the names applied.
    `applied_at` is the bookkeeping column's type in the backend's dialect. Applied files are
    never edited (databases in the field have run them): a change to the schema is a new file.
    """
    conn.execute(
        "CREATE TABLE IF NOT EXISTS schema_migrations "
        f"(version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at {applied_at})"
    )
    applied = {int(row[0]) for row in conn.execute("SELECT version FROM schema_migrations")}
    done = []
    for version, name, sql in bundled:
        if version not in applied:
            apply(version, name, sql)
            done.append(name)
    return done
