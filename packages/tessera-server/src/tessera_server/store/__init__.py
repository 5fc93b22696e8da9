"""Persistence behind one protocol; one folder per backend."""

from __future__ import annotations

from ..config import Settings
from .protocol import Store, StoreBusy

__all__ = ["Store", "StoreBusy", "open_store"]


def open_store(settings: Settings, dim: int) -> Store:
    """The backend `TESSERA_DATABASE_URL` selects."""
    path = settings.sqlite_path
    if path is not None:
        from .sqlite.store import SQLiteStore

        return SQLiteStore(
            path,
            dim,
            cache_bytes=settings.sqlite_cache_mb << 20,
            graph_min_rows=settings.sqlite_graph_min_rows or None,
        )
    scheme = settings.database_url.split(":", 1)[0]
    if scheme in ("postgresql", "postgres"):
        try:
            from .postgres.store import PostgresStore
        except ImportError as exc:  # psycopg is an optional dependency
            raise ValueError(
                "TESSERA_DATABASE_URL names PostgreSQL but its driver is not installed; "
                "from the clone, `pip install './packages/tessera-server[postgres]'`"
            ) from exc
        return PostgresStore(
            settings.database_url,
            dim,
            pool_size=settings.database_pool_size,
            exact_max=settings.postgres_exact_search_rows,
        )
    raise ValueError(
        f"unsupported TESSERA_DATABASE_URL scheme {scheme!r}; use sqlite:///path/to/file.db "
        "or postgresql://user:password@host/dbname"
    )
