"""Job lease heartbeat (both backends) and PostgreSQL's transient failures.

- A job that runs longer than its lease keeps it: the worker renews the lease while the job
  runs, so another worker polling meanwhile never claims it a second time.
- A deadlock or serialization failure is injected with a trigger (a sequence, which
  rollbacks do not undo, counts the failures) on a real PostgreSQL that the tests start
  themselves: a store call that is its own transaction is run again and succeeds; one that
  keeps failing, or fails inside the engine's transaction, surfaces as `StoreBusy`, which the
  API answers with a 503 problem and `Retry-After`. No timing is asserted.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import httpx
import numpy as np
import pytest
from server_helpers import Api, problem
from tessera_server.config import Settings
from tessera_server.engine import worker
from tessera_server.engine.clock import utcnow
from tessera_server.engine.records import Scope, TurnRecord
from tessera_server.store import Store, StoreBusy
from tessera_server.store.sqlite.store import SQLiteStore
from tessera_server.testing import run_service

DIM = 16


def _postgres_ok() -> bool:
    try:
        import pgserver  # noqa: F401
        import psycopg  # noqa: F401
    except ImportError:
        return False
    return True


def needs_postgres(test: Callable[..., None]) -> Callable[..., None]:
    """Skipped without PostgreSQL; left out of the fast lane (marker `postgres`)."""
    skip = pytest.mark.skipif(not _postgres_ok(), reason="needs tessera-server[postgres,test]")
    return pytest.mark.postgres(skip(test))


@pytest.fixture
def pg_url() -> Iterator[str]:
    if not _postgres_ok():
        pytest.skip("needs tessera-server[postgres,test]")
    from tessera_server.store.postgres import testserver

    with testserver.database() as url:
        yield url


def _pg_store(url: str) -> Any:
    from tessera_server.store.postgres.store import PostgresStore

    store = PostgresStore(url, DIM, pool_size=4)
    store.migrate()
    return store


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def job_store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    store: Store
    if request.param == "sqlite":
        store = SQLiteStore(tmp_path / "jobs.db", DIM)
        store.migrate()
        yield store
        store.close()
        return
    if not _postgres_ok():
        pytest.skip("needs tessera-server[postgres,test]")
    from tessera_server.store.postgres import testserver

    with testserver.database() as url:
        store = _pg_store(url)
        yield store
        store.close()


# -- lease heartbeat ---------------------------------------------------------------------


def test_a_job_longer_than_its_lease_is_not_claimed_twice(
    job_store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    lease_seconds = 0.6
    runtime: Any = SimpleNamespace(
        settings=Settings(job_lease_seconds=lease_seconds, job_max_attempts=3),
        store=job_store,
    )
    tenant, _ = job_store.ensure_tenant("t", utcnow())
    job, _ = job_store.enqueue_job(Scope(tenant, "alice", None), "consolidate", utcnow())
    started = threading.Event()
    release = threading.Event()
    runs: list[int] = []

    def slow_job(_runtime: Any, claimed: Any) -> None:
        runs.append(claimed.pk)
        started.set()
        release.wait(30)

    monkeypatch.setattr(worker, "run_job", slow_job)
    thread = threading.Thread(target=worker.work_once, args=(runtime,))
    thread.start()
    assert started.wait(30)
    # Another worker polls for several lease lengths while the job runs: it finds nothing.
    stolen = []
    deadline = time.monotonic() + 4 * lease_seconds
    while time.monotonic() < deadline:
        got = job_store.claim_job(utcnow(), timedelta(seconds=lease_seconds))
        if got is not None:
            stolen.append(got)
        time.sleep(0.05)
    release.set()
    thread.join(30)
    assert not stolen
    assert runs == [job.pk]
    done = job_store.get_job(tenant, job.pk)
    assert done is not None and done.status == "succeeded" and done.attempts == 1


def test_renewal_is_refused_once_the_job_is_not_ours(job_store: Store) -> None:
    tenant, _ = job_store.ensure_tenant("t", utcnow())
    job_store.enqueue_job(Scope(tenant, "bob", None), "consolidate", utcnow())
    now = utcnow()
    lease = timedelta(seconds=60)
    first = job_store.claim_job(now, lease)
    assert first is not None
    assert job_store.renew_job_lease(first.pk, first.attempts, now, lease)
    # The lease ran out and another worker claimed the job again: the first may not renew.
    later = now + timedelta(seconds=120)
    second = job_store.claim_job(later, lease)
    assert second is not None and second.pk == first.pk and second.attempts == 2
    assert not job_store.renew_job_lease(first.pk, first.attempts, later, lease)
    assert job_store.renew_job_lease(second.pk, second.attempts, later, lease)
    job_store.finish_job(second.pk, "succeeded", None, later)
    assert not job_store.renew_job_lease(second.pk, second.attempts, later, lease)


# -- transient failures on PostgreSQL ----------------------------------------------------


def _fail_inserts(url: str, table: str, times: int, sqlstate: str) -> None:
    """The next `times` inserts into `table` fail with `sqlstate` (a sequence counts them,
    so the count survives the rollbacks)."""
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f"DROP TRIGGER IF EXISTS inject_failure ON {table}".encode())
        conn.execute("DROP SEQUENCE IF EXISTS inject_failure_seq")
        conn.execute("CREATE SEQUENCE inject_failure_seq")
        conn.execute(
            f"""CREATE OR REPLACE FUNCTION inject_failure() RETURNS trigger AS $$
            BEGIN
                IF nextval('inject_failure_seq') <= {int(times)} THEN
                    RAISE EXCEPTION 'injected' USING ERRCODE = '{sqlstate}';
                END IF;
                RETURN NEW;
            END $$ LANGUAGE plpgsql""".encode()
        )
        conn.execute(
            f"CREATE TRIGGER inject_failure BEFORE INSERT ON {table} "
            "FOR EACH ROW EXECUTE FUNCTION inject_failure()".encode()
        )


def _stop_failing(url: str, table: str) -> None:
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f"DROP TRIGGER IF EXISTS inject_failure ON {table}".encode())


@needs_postgres
@pytest.mark.parametrize("sqlstate", ["40P01", "40001"])
def test_a_store_call_is_retried_after_a_deadlock(pg_url: str, sqlstate: str) -> None:
    store = _pg_store(pg_url)
    try:
        store.retry_delay = 0.001
        tenant, _ = store.ensure_tenant("t", utcnow())
        _fail_inserts(pg_url, "jobs", 2, sqlstate)
        job, created = store.enqueue_job(Scope(tenant, "carol", None), "consolidate", utcnow())
        assert created and store.transient_retries == 2
        assert store.get_job(tenant, job.pk) is not None
        # Failing every time: after its attempts the call gives up with StoreBusy, and
        # nothing was written.
        _fail_inserts(pg_url, "jobs", 1000, sqlstate)
        with pytest.raises(StoreBusy):
            store.enqueue_job(Scope(tenant, "dave", None), "consolidate", utcnow())
        assert store.claim_job(utcnow(), timedelta(seconds=60)) is not None  # carol's
        assert store.claim_job(utcnow(), timedelta(seconds=60)) is None  # dave has none
    finally:
        store.close()


@needs_postgres
def test_a_deadlock_inside_an_engine_transaction_is_store_busy(pg_url: str) -> None:
    store = _pg_store(pg_url)
    try:
        tenant, _ = store.ensure_tenant("t", utcnow())
        _fail_inserts(pg_url, "turns", 1000, "40P01")
        turn = TurnRecord(
            tenant_id=tenant,
            user_id="erin",
            session_id=None,
            turn_id="t1",
            role="user",
            content="hello",
            event_time=utcnow(),
            metadata={},
            infer=True,
            created_at=utcnow(),
            embedding=np.ones(DIM, np.float32) / np.sqrt(DIM),
        )
        with pytest.raises(StoreBusy), store.transaction():
            store.insert_turn(turn)
        _stop_failing(pg_url, "turns")
        with store.transaction():
            stored, created = store.insert_turn(turn)
        assert created and stored.pk is not None
    finally:
        store.close()


@needs_postgres
def test_the_api_answers_503_with_retry_after_when_the_database_stays_busy(
    pg_url: str, tmp_path: Path
) -> None:
    env = {"TESSERA_DATABASE_URL": pg_url, "TESSERA_CONSOLIDATE_EVERY": "1"}
    with run_service(tmp_path / "svc", env=env) as svc:
        api = Api(svc.base_url, svc.api_key)
        try:
            # A few failures of a call that is its own transaction are absorbed: the
            # job is queued and the add succeeds.
            _fail_inserts(pg_url, "jobs", 2, "40P01")
            ok = api.add("frank", "I live in Porto.", infer=True, mode="async")
            assert ok.status_code in (200, 201), ok.text
            assert ok.json().get("job")
            # A failure that does not go away becomes a 503 problem with Retry-After.
            _fail_inserts(pg_url, "turns", 1000, "40P01")
            # (httpx directly: the Api helper treats every 5xx as a broken invariant)
            busy = httpx.post(
                f"{svc.base_url}/v1/memories",
                json={"user_id": "frank", "role": "user", "content": "I moved.", "infer": False},
                headers={"Authorization": f"Bearer {svc.api_key}"},
                timeout=60,
            )
            body = problem(busy, 503, "retry")
            assert body["status"] == 503 and body["type"].endswith("#unavailable")
            assert busy.headers["Retry-After"] == "1"
            _stop_failing(pg_url, "turns")
            again = api.add("frank", "I moved to Lisbon.", infer=False)
            assert again.status_code in (200, 201), again.text
        finally:
            api.close()
        assert "Traceback" not in svc.logs()
