"""The service on PostgreSQL through the `tessera` command: an API without a worker beside
`tessera worker`, `serve --workers N`, and `tessera export` / `tessera import` moving a
tenant's memory SQLite -> PostgreSQL -> SQLite without loss.

The PostgreSQL server is started by the tests (see tessera_server.store.postgres.testserver).
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from server_helpers import Api
from tessera_server.testing import (
    ServiceHandle,
    free_port,
    run_service,
    service_env,
    wait_ready,
)

pytest.importorskip("psycopg")
testserver = pytest.importorskip("tessera_server.store.postgres.testserver")

pytestmark = pytest.mark.postgres


@pytest.fixture
def pg_url() -> Iterator[str]:
    with testserver.database() as url:
        yield url


def tessera(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "tessera_server", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def start(env: dict[str, str], log: Path, *args: str) -> subprocess.Popen[bytes]:
    with log.open("ab") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "tessera_server", *args],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )


def stop(process: subprocess.Popen[bytes]) -> int:
    process.send_signal(signal.SIGTERM)
    try:
        return process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        process.kill()
        return process.wait()


def pg_env(url: str) -> dict[str, str]:
    return {
        "TESSERA_DATABASE_URL": url,
        "TESSERA_WORKER_ENABLED": "false",
        "TESSERA_WORKER_POLL_SECONDS": "0.1",
        "TESSERA_DATABASE_POOL_SIZE": "4",
    }


def test_an_api_without_a_worker_and_a_worker_without_an_api(tmp_path: Path, pg_url: str) -> None:
    with run_service(tmp_path / "api", env=pg_env(pg_url)) as service:
        api = Api(service.base_url, service.api_key)
        assert api.get("/ready").status_code == 200
        job = None
        for i, line in enumerate(
            [
                "I live in Lisbon.",
                "My sister Ana is a nurse.",
                "I have a dog called Pixel.",
                "I work as a carpenter.",
                "Tomorrow I fly to Oslo.",
                "I love hiking.",
                "Coffee, black, every morning.",
                "My favourite band is Muse.",
            ]
        ):
            added = api.add_ok("alice", line, turn_id=f"t{i}")
            job = added.get("job") or job
        assert job is not None, "the cadence queues a consolidation job"
        assert api.get(f"/v1/jobs/{job['id']}").json()["status"] == "queued"
        log = tmp_path / "worker.log"
        worker = start(service.env, log, "worker")
        try:
            done = api.wait_job(job["id"])
            assert done["status"] == "succeeded", log.read_text()
        finally:
            assert stop(worker) == 0
        assert "Tessera worker on postgresql://" in log.read_text()
        assert api.episodes(user_id="alice") and api.facts(user_id="alice")
        hits = api.search("where does alice live", user_id="alice")
        assert any("Lisbon" in h["text"] for h in hits)
        api.close()


def test_serve_runs_several_api_processes_and_no_worker(tmp_path: Path, pg_url: str) -> None:
    env = service_env(tmp_path, {**pg_env(pg_url), "TESSERA_WORKER_ENABLED": "true"})
    assert tessera(env, "migrate").returncode == 0
    key = tessera(env, "keys", "create", "--tenant", "t").stdout.strip().splitlines()[-1]
    port = free_port()
    log = tmp_path / "serve.log"
    server = start(env, log, "serve", "--port", str(port), "--workers", "2")
    try:
        base = f"http://127.0.0.1:{port}"
        wait_ready(base, server)
        api = Api(base, key)
        for i in range(20):
            api.add_ok("bob", f"note number {i}", infer=False)
        job = api.post("/v1/consolidate", {"user_id": "bob"}).json()["job"]
        for _ in range(20):  # plenty of requests later, nobody has taken the job
            assert api.get("/ready").status_code == 200
        assert api.get(f"/v1/jobs/{job['id']}").json()["status"] == "queued"
        worker = start(env, tmp_path / "worker.log", "worker", "--threads", "2")
        try:
            assert api.wait_job(job["id"])["status"] == "succeeded"
        finally:
            assert stop(worker) == 0
        assert len(api.items(user_id="bob")) == 20
        api.close()
    finally:
        stop(server)
    text = log.read_text()
    assert "(2 processes)" in text and "run `tessera worker`" in text
    assert text.count("Started server process") == 2


def test_the_database_password_is_never_printed(pg_url: str, tmp_path: Path) -> None:
    with_password = pg_url.replace("postgres@", "postgres:s3cret-pw@", 1)
    env = service_env(tmp_path, {"TESSERA_DATABASE_URL": with_password})
    out = tessera(env, "migrate")
    assert out.returncode == 0, out.stderr
    assert "postgres:***@" in out.stdout and "s3cret-pw" not in out.stdout + out.stderr


def fill(api: Api) -> None:
    """Memory of every kind, through the public API."""
    api.sync_add("alice", "I live in Berlin and I work as a teacher.", session_id="s1")
    api.sync_add("alice", "Actually I moved to Rome last month.", session_id="s1")
    api.sync_add("alice", "Next Friday I have a dentist appointment.")
    api.note("alice", "Locker code is 4711", metadata={"kind": "secret", "n": 1.5})
    api.sync_add("bob", "My cat Mira is three years old. Ich mag Käse! 🧀")
    procedure = api.post(
        "/v1/procedures",
        {"user_id": "alice", "trigger": "deploy", "steps": ["build", "ship"], "success": "green"},
    ).json()
    api.post(f"/v1/procedures/{procedure['id']}/outcome", {"user_id": "alice", "success": True})
    api.post(
        "/v1/resources",
        {"user_id": "alice", "blob_ref": "s3://x", "mime": "image/png", "caption": "a chart"},
    )
    note = next(i for i in api.items(user_id="alice") if "Locker" in i["text"])
    api.post(f"/v1/memories/{note['id']}/pin", {"user_id": "alice"})
    api.add_ok("carol", "still pending, never consolidated", session_id="k")


def normalized(path: Path) -> list[str]:
    rows = []
    for line in path.read_text(encoding="utf-8").splitlines():
        row: dict[str, Any] = json.loads(line)
        if row["type"] == "header":
            row.pop("exported_at")
            row.pop("backend")
        rows.append(json.dumps(row, sort_keys=True))
    return rows


def visible(service: ServiceHandle) -> dict[str, Any]:
    api = Api(service.base_url, service.api_key)
    try:
        return {
            user: [
                {k: item[k] for k in sorted(item) if k not in ("score",)}
                for item in api.items(user_id=user)
            ]
            for user in ("alice", "bob", "carol")
        }
    finally:
        api.close()


def test_export_import_moves_memory_to_postgres_and_back(tmp_path: Path, pg_url: str) -> None:
    first, second, third = tmp_path / "a.jsonl", tmp_path / "b.jsonl", tmp_path / "c.jsonl"
    with run_service(tmp_path / "sqlite") as service:
        api = Api(service.base_url, service.api_key)
        fill(api)
        api.close()
        before = visible(service)
        out = tessera(service.env, "export", "--output", str(first))
        assert out.returncode == 0, out.stderr
        assert "exported" in out.stderr and not (tmp_path / "a.jsonl.partial").exists()
        one_user = tessera(
            service.env, "export", "--tenant", "test", "--user-id", "bob", "--output", "-"
        )
        assert {json.loads(x)["type"] for x in one_user.stdout.splitlines()} >= {"turn", "fact"}
        assert "alice" not in one_user.stdout
        missing = tessera(service.env, "export", "--tenant", "nope", "--output", "-")
        assert missing.returncode == 1 and "no tenant named" in missing.stderr

    pg = service_env(tmp_path / "pg", pg_env(pg_url))
    done = tessera(pg, "import", "--input", str(first))
    assert done.returncode == 0, done.stderr
    assert "imported 1 tenant" in done.stdout and "skipped 0" in done.stdout
    again = tessera(pg, "import", "--input", str(first))
    assert "imported 1 tenant, 0 turn" in again.stdout  # nothing twice
    assert tessera(pg, "export", "--output", str(second)).returncode == 0
    assert normalized(second) == normalized(first)
    with run_service(tmp_path / "pg", env=pg_env(pg_url)) as on_postgres:
        assert visible(on_postgres) == before

    back = service_env(tmp_path / "back")
    assert tessera(back, "migrate").returncode == 0
    assert tessera(back, "import", "--input", str(second)).returncode == 0
    assert tessera(back, "export", "--output", str(third)).returncode == 0
    assert normalized(third) == normalized(first)

    garbage = tmp_path / "garbage.jsonl"
    garbage.write_text('{"type": "header", "format": "tessera-export", "version": 1}\nnot json\n')
    refused = tessera(back, "import", "--input", str(garbage))
    assert refused.returncode == 1 and "nothing imported" in refused.stderr
