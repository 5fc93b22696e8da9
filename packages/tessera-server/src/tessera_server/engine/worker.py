"""The job worker: claims durable jobs from the store and runs them.

Jobs are leased, so a worker that dies mid-job leaves it to be claimed again once the
lease runs out; consolidation is idempotent, so running a job twice creates nothing twice.
While a job runs, a heartbeat renews its lease every third of the lease, so a job slower
than the lease is not claimed a second time by another worker while this one still works.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta

from ..logsafe import where
from ..store.protocol import StoreBusy
from ..store.records import JobRecord, Scope
from . import consolidation, image_text
from .clock import utcnow
from .fairness import owned_by
from .runtime import Runtime

log = logging.getLogger("tessera.worker")


def run_job(runtime: Runtime, job: JobRecord) -> None:
    scope = Scope(job.tenant_id, job.user_id, job.session_id)
    if job.kind == "consolidate":
        consolidation.consolidate(runtime, scope, hold_open_end=True)
    elif job.kind == image_text.JOB_KIND:
        image_text.read_pending(runtime, scope)
    else:
        raise ValueError(f"unknown job kind {job.kind!r}")


@contextmanager
def heartbeat(runtime: Runtime, job: JobRecord) -> Iterator[None]:
    """Renew the job's lease in the background while the block runs."""
    lease = timedelta(seconds=runtime.settings.job_lease_seconds)
    every = max(0.01, lease.total_seconds() / 3)
    done = threading.Event()

    def beat() -> None:
        while not done.wait(every):
            try:
                if not runtime.store.renew_job_lease(job.pk, job.attempts, utcnow(), lease):
                    log.warning("job job_%s: lease lost (claimed again elsewhere)", job.pk)
                    return
            except Exception as exc:  # a missed beat is retried at the next one
                log.warning("job job_%s: lease renewal failed: %s", job.pk, type(exc).__name__)

    thread = threading.Thread(target=beat, name=f"tessera-lease-{job.pk}", daemon=True)
    thread.start()
    try:
        yield
    finally:
        done.set()
        thread.join(every + 5)


def work_once(runtime: Runtime) -> bool:
    """Claim and run one job; returns whether there was one."""
    settings, store = runtime.settings, runtime.store
    job = store.claim_job(utcnow(), timedelta(seconds=settings.job_lease_seconds))
    if job is None:
        return False
    try:
        with heartbeat(runtime, job), owned_by(job.tenant_id):
            run_job(runtime, job)
    except Exception as exc:
        # The message names the failure without data: no content, keys or SQL.
        error = f"{type(exc).__name__} during {job.kind} (attempt {job.attempts})"
        retry = job.attempts < settings.job_max_attempts
        log.warning(
            "job job_%s failed: %s; %s", job.pk, error, "will retry" if retry else "giving up"
        )
        store.finish_job(job.pk, "queued" if retry else "failed", error, utcnow())
    else:
        store.finish_job(job.pk, "succeeded", None, utcnow())
    return True


class Worker:
    """A background thread that keeps claiming jobs until stopped."""

    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="tessera-worker", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self, timeout: float = 30.0) -> None:
        self._stop.set()
        self._thread.join(timeout)

    def _loop(self) -> None:
        poll = self.runtime.settings.worker_poll_seconds
        while not self._stop.is_set():
            try:
                busy = work_once(self.runtime)
            except StoreBusy:
                log.warning("worker: the store is busy; trying again after a pause")
                busy = False
            except Exception as exc:
                log.error("worker loop error: %s at %s", type(exc).__name__, where(exc))
                busy = False
            if not busy:
                self._stop.wait(poll)
