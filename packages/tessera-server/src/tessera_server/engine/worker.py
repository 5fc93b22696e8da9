"""The job worker: claims durable jobs from the store and runs them.

Jobs are leased, so a worker that dies mid-job leaves it to be claimed again once the
lease runs out; consolidation is idempotent, so running a job twice creates nothing twice.
While a job runs, a heartbeat renews its lease every third of the lease, so a job slower
than the lease is not claimed a second time by another worker while this one still works.
"""

from __future__ import annotations

import logging
import threading
from collections import OrderedDict
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta

from ..logsafe import where
from ..store.protocol import StoreBusy
from . import consolidation, image_text
from .clock import utcnow
from .fairness import owned_by
from .records import JobRecord, Scope
from .runtime import Runtime

log = logging.getLogger("tessera.worker")


def run_job(runtime: Runtime, job: JobRecord) -> None:
    scope = Scope(job.tenant_id, job.user_id, job.session_id)
    if job.kind == consolidation.JOB_KIND:
        consolidation.consolidate(runtime, scope, hold_open_end=True, queued_job=True)
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


class ServedTenants:
    """The tenants whose jobs this process claimed, least recently first: claims go
    round-robin between tenants (a tenant never served, or served longest ago, first), so one
    tenant's backlog of jobs cannot hold back another tenant's consolidation.

    Bounded: a tenant that falls off the front counts as never served, which is where the
    least recently served tenant belongs anyway.
    """

    def __init__(self, keep: int = 256) -> None:
        self.keep = keep
        self._order: OrderedDict[int, None] = OrderedDict()
        self._lock = threading.Lock()

    def order(self) -> list[int]:
        with self._lock:
            return list(self._order)

    def served(self, tenant_id: int) -> None:
        with self._lock:
            self._order.pop(tenant_id, None)
            self._order[tenant_id] = None
            while len(self._order) > self.keep:
                self._order.popitem(last=False)


# Shared by the worker threads of a process (`tessera worker --threads N`).
SERVED = ServedTenants()


def work_once(runtime: Runtime, served: ServedTenants = SERVED) -> bool:
    """Claim and run one job; returns whether there was one."""
    settings, store = runtime.settings, runtime.store
    lease = timedelta(seconds=settings.job_lease_seconds)
    job = store.claim_job(utcnow(), lease, served.order())
    if job is None:
        return False
    served.served(job.tenant_id)
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
