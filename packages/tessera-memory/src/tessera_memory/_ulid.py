"""Client-side ULIDs: the ``turn_id`` that makes ``memories.add`` safe to replay.

A ULID is 128 bits — a 48-bit millisecond Unix timestamp followed by 80 random bits — written
as 26 characters of Crockford base32, so ids sort by creation time. Only the standard library
is used (the SDK depends on nothing but httpx and pydantic).
"""

from __future__ import annotations

import os
import time

CROCKFORD_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
ULID_LENGTH = 26
_TIMESTAMP_LIMIT = 1 << 48


def new_ulid(timestamp_ms: int | None = None) -> str:
    """Return a fresh 26-character ULID for ``timestamp_ms`` (default: now)."""
    ms = time.time_ns() // 1_000_000 if timestamp_ms is None else timestamp_ms
    if not 0 <= ms < _TIMESTAMP_LIMIT:
        raise ValueError(f"ULID timestamp out of range: {ms}")
    value = (ms << 80) | int.from_bytes(os.urandom(10), "big")
    chars = []
    for _ in range(ULID_LENGTH):
        chars.append(CROCKFORD_ALPHABET[value & 0x1F])
        value >>= 5
    return "".join(reversed(chars))
