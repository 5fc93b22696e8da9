"""Jobs: a queue with leases. A claim takes a queued job, round-robin between tenants, or one
whose lease ran out (its worker died), so a job is retried by whoever is alive; recovering at
start-up differs by backend (`recover_interrupted_jobs`)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from ...engine.records import JobRecord, Scope
from ..protocol import new_job_pk
from ..rows import enc_label, job_record
from .base import JOB_COLUMNS, SqlBase


class Jobs(SqlBase):
    def enqueue_job(self, scope: Scope, kind: str, now: datetime) -> tuple[JobRecord, bool]:
        """Queue a job unless one is already queued for the same scope and kind."""
        c, m = self.codec, self.codec.mark
        args = (scope.tenant_id, kind, enc_label(scope.user_id), enc_label(scope.session_id))
        with self._write() as conn:
            self._hold_name(conn, "enqueue", *args)
            row = conn.execute(
                f"SELECT {JOB_COLUMNS} FROM jobs WHERE tenant_id = {m} AND kind = {m} "
                f"AND user_id = {m} AND session_id = {m} AND status = 'queued' "
                "ORDER BY created_at, pk LIMIT 1",
                args,
            ).fetchone()
            if row:
                return job_record(row, c), False
            row = conn.execute(
                "INSERT INTO jobs (pk, tenant_id, kind, user_id, session_id, status, created_at, "
                f"updated_at) VALUES ({c.marks(5)}, 'queued', {c.marks(2)}) "
                f"RETURNING {JOB_COLUMNS}",
                (new_job_pk(), *args, c.enc_time(now), c.enc_time(now)),
            ).fetchone()
            return job_record(row, c), True

    def queued_jobs(self, tenant_id: int, user_id: str | None, kind: str) -> int:
        """How many jobs of `kind` wait (queued, not running) for the user, in any session."""
        m = self.codec.mark
        row = self._rows(
            f"SELECT count(*) AS n FROM jobs WHERE tenant_id = {m} AND kind = {m} "
            f"AND user_id = {m} AND status = 'queued'",
            (tenant_id, kind, enc_label(user_id)),
        )
        return int(row[0]["n"]) if row else 0

    def _skip_locked(self) -> str:
        """How a claim passes over a job another worker is claiming (PostgreSQL's many
        workers); nothing where one worker is the rule."""
        return ""

    def claim_job(
        self, now: datetime, lease: timedelta, served: Sequence[int] = ()
    ) -> JobRecord | None:
        """Lease a claimable job: round-robin between tenants (a tenant not in `served`
        first, then in its order: the tenants this worker served, least recently first), the
        oldest job of that tenant."""
        m, stamp = self.codec.mark, self.codec.enc_time(now)
        turn = " ".join(f"WHEN {m} THEN {n}" for n in range(1, len(served) + 1))
        order = f"CASE tenant_id {turn} ELSE 0 END, " if served else ""
        with self._write() as conn:
            row = conn.execute(
                "UPDATE jobs SET status = 'running', attempts = attempts + 1, "
                f"lease_until = {m}, updated_at = {m} WHERE pk = (SELECT pk FROM jobs "
                f"WHERE status = 'queued' OR (status = 'running' AND lease_until < {m}) "
                f"ORDER BY {order}created_at, pk LIMIT 1{self._skip_locked()}) "
                f"RETURNING {JOB_COLUMNS}",
                (self.codec.enc_time(now + lease), stamp, stamp, *served),
            ).fetchone()
        return job_record(row, self.codec) if row else None

    def get_job(self, tenant_id: int, pk: int) -> JobRecord | None:
        m = self.codec.mark
        row = self._one(
            f"SELECT {JOB_COLUMNS} FROM jobs WHERE pk = {m} AND tenant_id = {m}", (pk, tenant_id)
        )
        return job_record(row, self.codec) if row else None

    def renew_job_lease(self, pk: int, attempts: int, now: datetime, lease: timedelta) -> bool:
        """Extend the lease of a job still running in the same attempt (the heartbeat)."""
        m = self.codec.mark
        with self._write() as conn:
            cur = conn.execute(
                f"UPDATE jobs SET lease_until = {m} "
                f"WHERE pk = {m} AND status = 'running' AND attempts = {m}",
                (self.codec.enc_time(now + lease), pk, attempts),
            )
            return bool(cur.rowcount > 0)

    def finish_job(self, pk: int, status: str, error: str | None, now: datetime) -> None:
        m = self.codec.mark
        with self._write() as conn:
            conn.execute(
                f"UPDATE jobs SET status = {m}, error = {m}, lease_until = NULL, "
                f"updated_at = {m} WHERE pk = {m}",
                (status, error, self.codec.enc_time(now), pk),
            )
