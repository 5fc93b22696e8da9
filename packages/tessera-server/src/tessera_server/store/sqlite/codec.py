"""How engine values are written to SQLite columns and read back (labels and JSON are
spelled alike in every backend: `store/rows.py`)."""

from __future__ import annotations

from datetime import datetime, timezone

import numpy as np

from ...engine.records import Vector
from ..rows import Codec


def enc_time(value: datetime) -> str:
    """Fixed-width UTC ISO text, so that string order is time order."""
    # isoformat pads the year to four digits (strftime's %Y does not for years < 1000).
    return value.astimezone(timezone.utc).isoformat(timespec="microseconds")


def enc_time_opt(value: datetime | None) -> str | None:
    return None if value is None else enc_time(value)


def dec_time(value: str) -> datetime:
    return datetime.fromisoformat(value)


def dec_time_opt(value: str | None) -> datetime | None:
    return None if value is None else datetime.fromisoformat(value)


def enc_vec(value: Vector | None) -> bytes | None:
    return None if value is None else np.asarray(value, dtype=np.float32).tobytes()


def dec_vec(value: bytes | None) -> Vector | None:
    return None if value is None else np.frombuffer(value, dtype=np.float32).copy()


CODEC = Codec(
    mark="?",
    enc_time=enc_time,
    dec_time=dec_time,
    enc_vec=enc_vec,
    dec_vec=dec_vec,
    enc_flag=int,
)
