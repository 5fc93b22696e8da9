"""A backend's migrations: numbered `.sql` files in its `migrations` package."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from datetime import datetime, timezone
from importlib import resources
from typing import Any

log = logging.getLogger("tessera.store")


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
    run: Callable[[str], None],
    *,
    applied_at: str,
) -> list[str]:
    """Apply each migration the database has not recorded, in order; returns the names applied.
    `run(script)` runs a script in one transaction: the migration and the line that records it
    commit together. `applied_at` is the bookkeeping column's type in the backend's dialect.
    Applied files are never edited (databases in the field have run them): a change to the
    schema is a new file."""
    conn.execute(
        "CREATE TABLE IF NOT EXISTS schema_migrations "
        f"(version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at {applied_at})"
    )
    applied = {int(row[0]) for row in conn.execute("SELECT version FROM schema_migrations")}
    done = []
    for version, name, sql in bundled:
        if version in applied:
            continue
        now = datetime.now(timezone.utc).isoformat()
        # Names are the bundled files' own (digits, letters, '_', '.'), never input.
        run(
            f"{sql}\nINSERT INTO schema_migrations (version, name, applied_at) "
            f"VALUES ({int(version)}, '{name}', '{now}');"
        )
        log.info("applied migration %s", name)
        done.append(name)
    return done
