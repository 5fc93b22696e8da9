"""Console sign-in: a session cookie that names a key without carrying it, and CSRF tokens.

The cookie is `v1.<key prefix>.<expiry>.<mac>`, the MAC an HMAC-SHA256 keyed with the key's
stored hash. Only the service (which holds the hash) and the key's holder can make one, so
no server-side session table is needed: any worker process, after any restart, checks it
with one key lookup, and revoking the key ends its sessions. The key itself is never in the
cookie, a URL or a log. Every write form carries a CSRF token derived the same way from the
session, on top of SameSite=Strict and an Origin check.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from dataclasses import dataclass

from ..engine.memory import Memory
from ..engine.overview import KeyHolder

COOKIE = "tessera_console"
VERSION = "v1"


@dataclass(frozen=True)
class Session:
    holder: KeyHolder
    expires: int
    csrf: str


def _mac(secret: str, purpose: str, prefix: str, expires: int) -> str:
    message = f"{purpose}|{prefix}|{expires}".encode()
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def issue(engine: Memory, key: str, hours: float) -> tuple[Session, str] | None:
    """A new session and its cookie value for a live key; None for any other key."""
    holder = engine.authenticate(key)
    if holder is None:
        return None
    found = engine.key_secret(holder.prefix)
    if found is None:
        return None
    _, secret = found
    expires = int(time.time() + hours * 3600)
    cookie = (
        f"{VERSION}.{holder.prefix}.{expires}.{_mac(secret, 'session', holder.prefix, expires)}"
    )
    return Session(holder, expires, _mac(secret, "csrf", holder.prefix, expires)), cookie


def read(engine: Memory, cookie: str | None) -> Session | None:
    """The session a cookie stands for, or None when it is absent, forged, expired or its
    key was revoked."""
    if not cookie or len(cookie) > 300:
        return None
    parts = cookie.split(".")
    if len(parts) != 4 or parts[0] != VERSION or not parts[2].isdigit():
        return None
    _, prefix, stamp, mac = parts
    expires = int(stamp)
    if expires < time.time():
        return None
    found = engine.key_secret(prefix)
    if found is None:
        return None
    holder, secret = found
    if not hmac.compare_digest(mac, _mac(secret, "session", prefix, expires)):
        return None
    return Session(holder, expires, _mac(secret, "csrf", prefix, expires))


def csrf_ok(session: Session, token: str | None) -> bool:
    return bool(token) and hmac.compare_digest(session.csrf, str(token))
