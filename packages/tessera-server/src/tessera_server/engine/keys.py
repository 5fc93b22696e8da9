"""API keys: `tsk_live_<random>`, shown once, stored only as a SHA-256 hash.

Keys carry 256 bits of randomness, so a fast hash is enough: there is nothing to
brute-force, and a stolen database yields no usable key.
"""

from __future__ import annotations

import hashlib
import secrets

PREFIX = "tsk_live_"


def mint_key() -> tuple[str, str, str]:
    """(key, short public prefix for listing, hash to store)."""
    key = PREFIX + secrets.token_urlsafe(32)
    return key, key[: len(PREFIX) + 8], hash_key(key)


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8")).hexdigest()
