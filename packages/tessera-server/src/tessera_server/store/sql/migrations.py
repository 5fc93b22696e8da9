"""A backend's migrations: numbered `.sql` files in its `migrations` package."""

from __future__ import annotations

from importlib import resources


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
