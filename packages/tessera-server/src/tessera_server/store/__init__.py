"""Persistence behind one protocol; one folder per backend."""

from __future__ import annotations

from ..config import Settings
from .protocol import Store

__all__ = ["Store", "open_store"]


def open_store(settings: Settings, dim: int) -> Store:
    """The backend `TESSERA_DATABASE_URL` selects."""
    path = settings.sqlite_path
    if path is not None:
        from .sqlite.store import SQLiteStore

        return SQLiteStore(path, dim)
    scheme = settings.database_url.split(":", 1)[0]
    raise ValueError(
        f"unsupported TESSERA_DATABASE_URL scheme {scheme!r}; use sqlite:///path/to/file.db"
    )
