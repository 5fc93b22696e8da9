"""The `tessera` command: first start, keys, migrations."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import httpx
from tessera_server.testing import free_port, run_cli, service_env


def test_first_start_without_a_key_says_how_to_make_one(fresh_dir: Path) -> None:
    env = service_env(fresh_dir)
    port = free_port()
    log = fresh_dir / "first.log"
    fresh_dir.mkdir(parents=True, exist_ok=True)
    with log.open("wb") as out:
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "tessera_server",
                "serve",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
            ],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
        try:
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                try:
                    if httpx.get(f"http://127.0.0.1:{port}/ready", timeout=2).status_code == 200:
                        break
                except httpx.HTTPError:
                    time.sleep(0.1)
            # Up, but nothing is reachable without a key.
            response = httpx.get(f"http://127.0.0.1:{port}/v1/memories?user_id=u")
            assert response.status_code == 401
        finally:
            process.terminate()
            process.wait(timeout=20)
    text = log.read_text()
    assert "tessera keys create" in text
    assert f"127.0.0.1:{port}" in text


def test_keys_and_migrate(fresh_dir: Path) -> None:
    env = service_env(fresh_dir)
    assert "schema up to date" in run_cli(env, "migrate").stdout
    assert "schema up to date" in run_cli(env, "migrate").stdout  # idempotent
    created = run_cli(env, "keys", "create", "--tenant", "acme").stdout
    key = created.strip().splitlines()[-1]
    assert key.startswith("tsk_live_") and len(key) > 40
    assert "new tenant" in created
    again = run_cli(env, "keys", "create", "--tenant", "acme", "--read-only").stdout
    assert "new tenant" not in again and "read-only" in again
    listed = run_cli(env, "keys", "list").stdout
    assert key not in listed  # only prefixes are ever shown
    assert listed.count("tenant=acme") == 2 and "read-only" in listed
    unknown = subprocess.run(
        [sys.executable, "-m", "tessera_server", "keys", "revoke", "tsk_live_nope"],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert unknown.returncode == 1 and "no active key" in unknown.stderr
    prefix = key[: len("tsk_live_") + 8]
    assert "revoked" in run_cli(env, "keys", "revoke", prefix + "…").stdout
    lines = run_cli(env, "keys", "list").stdout.splitlines()
    assert "revoked" in next(line for line in lines if prefix in line)
    # The database holds hashes, never keys.
    assert key.encode() not in (fresh_dir / "tessera.db").read_bytes()
