"""Many processes on one PostgreSQL database: two API processes, two `tessera worker`s.

Concurrent clients add turns (each turn sent to both API processes at once, as a client
retrying against another node would), search, and consolidate inline and through jobs.
Every acknowledged turn must be stored exactly once, consolidated into exactly one episode,
and every job must end `succeeded`.

Then a worker is killed with SIGKILL in the middle of a job. To hold it there, the workers'
LLM extractor points at a stub endpoint in this test that can park a request; the stub
knows which worker asked (each has its own path). Once the dead worker's lease runs out
(`TESSERA_JOB_LEASE_SECONDS`, short here), the other worker claims the job again and
finishes it. Waits are bounded polls; no timing is asserted.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from server_helpers import Api
from tessera_server.testing import run_service

psycopg = pytest.importorskip("psycopg")
testserver = pytest.importorskip("tessera_server.store.postgres.testserver")

pytestmark = pytest.mark.postgres

USERS = 6
TURNS_PER_USER = 10
LEASE_SECONDS = "3"


class StubLLM:
    """An OpenAI-compatible endpoint that always fails (so extraction falls back to the
    offline extractor), except that while `parking` the first request is held."""

    def __init__(self) -> None:
        self.parking = False
        self.parked_by: str | None = None
        self.parked = threading.Event()
        self.release = threading.Event()
        stub = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                self.rfile.read(int(self.headers.get("content-length") or 0))
                who = self.path.strip("/").split("/", 1)[0]
                if stub.parking and stub.parked_by is None:
                    stub.parked_by = who
                    stub.parked.set()
                    stub.release.wait(120)
                self.send_response(503)
                self.send_header("content-length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def url(self, who: str) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/{who}/v1"

    def close(self) -> None:
        self.release.set()
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def stub() -> Iterator[StubLLM]:
    llm = StubLLM()
    yield llm
    llm.close()


def rows(url: str, sql: str, *params: Any) -> list[tuple[Any, ...]]:
    with psycopg.connect(url, autocommit=True) as conn:
        return list(conn.execute(sql, params).fetchall())


def wait_until(check: Any, what: str, timeout: float = 120.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"gave up waiting for {what}")
        time.sleep(0.1)


def start_worker(env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    with log.open("ab") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "tessera_server", "worker"],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )


def test_two_apis_two_workers_and_a_killed_worker(tmp_path: Path, stub: StubLLM) -> None:
    with ExitStack() as stack:
        url = stack.enter_context(testserver.database())
        env = {
            "TESSERA_DATABASE_URL": url,
            "TESSERA_WORKER_ENABLED": "false",
            "TESSERA_WORKER_POLL_SECONDS": "0.1",
            "TESSERA_JOB_LEASE_SECONDS": LEASE_SECONDS,
            "TESSERA_DATABASE_POOL_SIZE": "6",
            "TESSERA_CONSOLIDATE_EVERY": "4",
        }
        apis = [stack.enter_context(run_service(tmp_path / f"api{i}", env=env)) for i in (1, 2)]
        workers: dict[str, subprocess.Popen[bytes]] = {}
        logs: dict[str, Path] = {}
        for who in ("a", "b"):
            worker_env = {
                **apis[0].env,
                "TESSERA_LLM_BASE_URL": stub.url(who),
                "TESSERA_LLM_MODEL": "stub",
            }
            logs[who] = tmp_path / f"worker-{who}.log"
            workers[who] = start_worker(worker_env, logs[who])
        try:
            _concurrent_clients(apis, url)
            _killed_worker(apis[0], url, stub, workers)
        finally:
            for process in workers.values():
                if process.poll() is None:
                    process.send_signal(signal.SIGTERM)
            for who, process in workers.items():
                try:
                    process.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()
                assert "Traceback" not in logs[who].read_text(errors="replace"), logs[who]
        for api in apis:
            assert "Traceback" not in api.logs(), api.logs()[-3000:]


def _concurrent_clients(apis: list[Any], url: str) -> None:
    clients = [Api(a.base_url, a.api_key) for a in apis]
    acknowledged: set[tuple[str, str]] = set()
    lock = threading.Lock()

    def send(api: Api, user: str, turn_id: str, text: str) -> None:
        response = api.add(user, text, turn_id=turn_id)
        assert response.status_code in (200, 201), response.text
        with lock:
            acknowledged.add((user, turn_id))

    def client(user_index: int) -> None:
        user = f"user{user_index}"
        for t in range(TURNS_PER_USER):
            text = f"{user} turn {t}: I visited city number {t} and liked its food."
            # The same turn, sent to both API processes at the same moment.
            with ThreadPoolExecutor(2) as pair:
                for f in [pair.submit(send, c, user, f"t{t}", text) for c in clients]:
                    f.result()
            api = clients[t % 2]
            if t % 3 == 2:
                assert (
                    api.post("/v1/search", {"user_id": user, "query": "city food"}).status_code
                    == 200
                )
            if t == TURNS_PER_USER // 2 and user_index % 2:
                inline = api.post("/v1/consolidate?sync=true", {"user_id": user})
                assert inline.status_code == 200, inline.text

    with ThreadPoolExecutor(USERS) as pool:
        for f in [pool.submit(client, i) for i in range(USERS)]:
            f.result()
    for i in range(USERS):
        clients[i % 2].post("/v1/consolidate", {"user_id": f"user{i}"})

    def settled() -> bool:
        return not rows(url, "SELECT 1 FROM jobs WHERE status IN ('queued', 'running')")

    wait_until(settled, "every job to finish")
    statuses = dict(rows(url, "SELECT status, count(*) FROM jobs GROUP BY status"))
    assert set(statuses) == {"succeeded"}, statuses

    stored = rows(url, "SELECT user_id, turn_id, count(*) FROM turns GROUP BY user_id, turn_id")
    assert all(n == 1 for _, _, n in stored), [r for r in stored if r[2] != 1]
    assert {(u, t) for u, t, _ in stored} == acknowledged
    assert len(acknowledged) == USERS * TURNS_PER_USER
    assert rows(url, "SELECT count(*) FROM turns WHERE NOT consolidated")[0][0] == 0
    # Consolidated exactly once: each turn sits in exactly one episode.
    per_turn = rows(
        url,
        "SELECT t.pk, count(e.pk) FROM turns t LEFT JOIN episode_sources s ON s.turn_pk = t.pk "
        "LEFT JOIN episodes e ON e.pk = s.episode_pk AND e.kind = 'episode' GROUP BY t.pk",
    )
    assert all(n == 1 for _, n in per_turn), [r for r in per_turn if r[1] != 1]
    for c in clients:
        c.close()


def _killed_worker(
    api_handle: Any, url: str, stub: StubLLM, workers: dict[str, subprocess.Popen[bytes]]
) -> None:
    api = Api(api_handle.base_url, api_handle.api_key)
    for t in range(3):
        api.add_ok("victim", f"I adopted a parrot named Kiwi, fact {t}.", turn_id=f"v{t}")
    stub.parking = True
    job = api.post("/v1/consolidate", {"user_id": "victim"}).json()["job"]
    assert stub.parked.wait(60), "no worker asked the LLM"
    who = stub.parked_by
    assert who in workers
    survivor = "b" if who == "a" else "a"
    job_pk = int(job["id"].removeprefix("job_"))
    workers[who].send_signal(signal.SIGKILL)
    workers[who].wait(timeout=30)
    stub.parking = False
    stub.release.set()

    done = api.wait_job(job["id"], timeout=120)
    assert done["status"] == "succeeded", done
    [(attempts,)] = rows(url, "SELECT attempts FROM jobs WHERE pk = %s", job_pk)
    assert attempts >= 2  # claimed again after the dead worker's lease ran out
    assert workers[survivor].poll() is None
    per_turn = rows(
        url,
        "SELECT t.turn_id, count(e.pk) FROM turns t JOIN episode_sources s ON s.turn_pk = t.pk "
        "JOIN episodes e ON e.pk = s.episode_pk AND e.kind = 'episode' "
        "WHERE t.user_id = 'victim' GROUP BY t.turn_id ORDER BY t.turn_id",
    )
    assert per_turn == [("v0", 1), ("v1", 1), ("v2", 1)]
    assert any("Kiwi" in h["text"] for h in api.search("parrot", user_id="victim"))
    api.close()
