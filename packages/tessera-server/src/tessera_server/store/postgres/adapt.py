"""How engine values travel to PostgreSQL and back: vectors, labels, JSON, text.

Vectors go as pgvector's binary format (a 2-byte dimension, 2 unused bytes, big-endian
float4s), so float32 values round-trip exactly; they come back as float32 numpy arrays. The
`vector` type's oid is only known once the extension exists, so the adapters are registered
per connection, when the pool opens it.
"""

from __future__ import annotations

import json
import struct
from typing import Any

import numpy as np
from psycopg import Connection
from psycopg.adapt import Buffer, Dumper, Loader
from psycopg.pq import Format
from psycopg.types import TypeInfo
from psycopg.types.string import StrDumperUnknown

from ...engine.records import Vector

_HEADER = struct.Struct(">HH")


def _without_nul(value: Any) -> Any:
    if isinstance(value, str):
        return value.replace("\x00", "\ufffd")
    if isinstance(value, dict):
        return {_without_nul(k): _without_nul(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_without_nul(v) for v in value]
    return value


def enc_filter_doc(metadata: dict[str, Any]) -> str:
    """The jsonb copy of metadata used by filters; jsonb cannot hold U+0000, so it is
    replaced there (the exact text is kept in the `metadata` column)."""
    return json.dumps(_without_nul(metadata), ensure_ascii=False, separators=(",", ":"))


def vector_bytes(value: Vector) -> bytes:
    arr = np.asarray(value, dtype=">f4").reshape(-1)
    return _HEADER.pack(arr.shape[0], 0) + arr.tobytes()


def vector_from_bytes(data: Buffer) -> Vector:
    raw = bytes(data)
    dim, _ = _HEADER.unpack_from(raw)
    return np.frombuffer(raw, dtype=">f4", count=dim, offset=_HEADER.size).astype(np.float32)


def vector_from_text(data: Buffer) -> Vector:
    text = bytes(data).decode("ascii").strip("[]")
    if not text:
        return np.zeros(0, dtype=np.float32)
    return np.array(text.split(","), dtype=np.float32)


class _VectorDumper(Dumper):
    format = Format.BINARY

    def dump(self, obj: Any) -> Buffer:
        return vector_bytes(obj)


class _VectorBinaryLoader(Loader):
    format = Format.BINARY

    def load(self, data: Buffer) -> Vector:
        return vector_from_bytes(data)


class _VectorTextLoader(Loader):
    format = Format.TEXT

    def load(self, data: Buffer) -> Vector:
        return vector_from_text(data)


class NulSafeStrDumper(StrDumperUnknown):
    """Strings as usual, except that U+0000 (which PostgreSQL text cannot hold) becomes
    U+FFFD. Nothing stored ever contains U+0000 (the engine refuses it in content and
    labels, and JSON escapes it), so a lookup by such a string simply finds nothing instead
    of failing."""

    def dump(self, obj: str) -> Buffer | None:
        return super().dump(obj.replace("\x00", "\ufffd"))


def register(conn: Connection[Any]) -> bool:
    """Install the adapters on a connection; returns False when `vector` does not exist yet."""
    conn.adapters.register_dumper(str, NulSafeStrDumper)
    info = TypeInfo.fetch(conn, "vector")
    if info is None:
        return False
    dumper = type("VectorDumper", (_VectorDumper,), {"oid": info.oid})
    conn.adapters.register_dumper(np.ndarray, dumper)
    conn.adapters.register_loader(info.oid, _VectorBinaryLoader)
    conn.adapters.register_loader(info.oid, _VectorTextLoader)
    return True
