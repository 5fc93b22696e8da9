"""How engine values are written to SQLite columns and read back."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from typing import Any

import numpy as np

from ..records import Vector


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


def enc_label(value: str | None) -> str:
    return value or ""


def dec_label(value: str) -> str | None:
    return value or None


def enc_json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), sort_keys=True)


def dec_json(value: str) -> Any:
    return json.loads(value)


def enc_vec(value: Vector | None) -> bytes | None:
    return None if value is None else np.asarray(value, dtype=np.float32).tobytes()


def dec_vec(value: bytes | None) -> Vector | None:
    return None if value is None else np.frombuffer(value, dtype=np.float32).copy()
