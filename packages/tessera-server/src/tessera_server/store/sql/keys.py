"""Tenants and API keys (only hashes are stored)."""

from __future__ import annotations

from datetime import datetime

from ...engine.records import ApiKeyRecord
from ..rows import key_record
from .base import KEY_COLUMNS, SqlBase


class Keys(SqlBase):
    def ensure_tenant(self, name: str, now: datetime) -> tuple[int, bool]:
        c = self.codec
        with self._write() as conn:
            row = conn.execute(
                f"INSERT INTO tenants (name, created_at) VALUES ({c.marks(2)}) "
                "ON CONFLICT (name) DO NOTHING RETURNING id",
                (name, c.enc_time(now)),
            ).fetchone()
            if row is not None:
                return int(row["id"]), True
            found = conn.execute(f"SELECT id FROM tenants WHERE name = {c.mark}", (name,))
            return int(found.fetchone()["id"]), False

    def insert_key(
        self, tenant_id: int, prefix: str, key_hash: str, read_only: bool, now: datetime
    ) -> None:
        c = self.codec
        with self._write() as conn:
            conn.execute(
                "INSERT INTO api_keys (tenant_id, prefix, key_hash, read_only, created_at) "
                f"VALUES ({c.marks(5)})",
                (tenant_id, prefix, key_hash, c.enc_flag(read_only), c.enc_time(now)),
            )

    def find_key(self, key_hash: str) -> ApiKeyRecord | None:
        row = self._one(f"SELECT {KEY_COLUMNS} WHERE k.key_hash = {self.codec.mark}", (key_hash,))
        return key_record(row, self.codec) if row else None

    def list_keys(self) -> list[ApiKeyRecord]:
        with self._read() as conn:
            rows = conn.execute(f"SELECT {KEY_COLUMNS} ORDER BY k.id", ()).fetchall()
        return [key_record(r, self.codec) for r in rows]

    def revoke_key(self, prefix: str, now: datetime) -> bool:
        c = self.codec
        with self._write() as conn:
            cur = conn.execute(
                f"UPDATE api_keys SET revoked_at = {c.mark} "
                f"WHERE prefix = {c.mark} AND revoked_at IS NULL",
                (c.enc_time(now), prefix),
            )
            return bool(cur.rowcount > 0)
