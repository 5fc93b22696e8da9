"""Clear errors at the edges: one-line CLI errors with the fix, the extractor in use, offline
API docs, `GET /`, `tessera --version` and `tessera memories list|search|query`.

Every check runs the real `tessera` command or a real `tessera serve` on loopback.
"""

from __future__ import annotations

import json
import socket
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from server_helpers import Api, unique
from tessera_server import __version__
from tessera_server.testing import ServiceHandle, free_port, run_service, service_env


def tessera(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "tessera_server", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
    )


def one_line_error(result: subprocess.CompletedProcess[str], *needles: str) -> str:
    assert result.returncode == 1, result
    assert "Traceback" not in result.stderr, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    for needle in needles:
        assert needle in lines[0], lines[0]
    return lines[0]


def test_version(fresh_dir: Path) -> None:
    result = tessera(service_env(fresh_dir), "--version")
    assert result.returncode == 0
    assert result.stdout.strip() == f"tessera {__version__}"


def test_a_busy_port_is_one_line_with_the_fix(fresh_dir: Path) -> None:
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        result = tessera(service_env(fresh_dir), "serve", "--port", str(port))
    one_line_error(result, f"port {port}", "in use", "--port")


def test_a_missing_postgres_driver_is_one_line_with_the_install_command(fresh_dir: Path) -> None:
    env = service_env(fresh_dir, {"TESSERA_DATABASE_URL": "postgresql://u:pw@127.0.0.1:9/db"})
    # Python's own way to make a module absent: a None entry in sys.modules fails its import.
    code = (
        "import sys; sys.modules['psycopg'] = None; sys.modules['psycopg_pool'] = None; "
        "from tessera_server.cli import main; raise SystemExit(main(['migrate']))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120
    )
    line = one_line_error(result, "driver is not installed", "tessera-server[postgres]")
    assert "pw" not in line


def test_an_unreachable_database_is_one_line_without_the_password(fresh_dir: Path) -> None:
    port = free_port()  # nothing listens there
    env = service_env(
        fresh_dir, {"TESSERA_DATABASE_URL": f"postgresql://u:hunter2@127.0.0.1:{port}/db"}
    )
    line = one_line_error(tessera(env, "migrate"), "cannot open the database", "***")
    assert "hunter2" not in line


def test_a_key_says_which_database_it_was_made_in_and_a_stranger_key_says_why(
    service: ServiceHandle, tmp_path: Path
) -> None:
    other = service_env(tmp_path / "elsewhere")
    (tmp_path / "elsewhere").mkdir()
    made = tessera(other, "keys", "create", "--tenant", "t")
    assert made.returncode == 0, made.stderr
    assert str(tmp_path / "elsewhere" / "tessera.db") in made.stdout
    key = next(line for line in made.stdout.splitlines() if line.startswith("tsk_live_"))
    # That key, sent to a service on another database, is refused with the reason.
    response = httpx.get(
        f"{service.base_url}/v1/memories",
        params={"user_id": "x"},
        headers={"Authorization": f"Bearer {key}"},
    )
    assert response.status_code == 401
    assert "database" in response.json()["detail"]
    assert key not in response.text


def test_docs_work_offline_and_the_root_points_to_them(service: ServiceHandle) -> None:
    root = httpx.get(f"{service.base_url}/")
    assert root.status_code == 200
    assert root.json()["api_reference"] == "/docs"
    assert root.json()["openapi"] == "/openapi.json"
    for page in ("/docs", "/redoc"):
        html = httpx.get(service.base_url + page).text
        assert "cdn" not in html.lower() and "googleapis" not in html
        scripts = [
            part.split('"')[0]
            for part in html.split('src="')[1:]
            if part.split('"')[0].startswith("/")
        ]
        assert scripts, html
        for script in scripts:
            asset = httpx.get(service.base_url + script)
            assert asset.status_code == 200 and len(asset.content) > 10_000, script


def test_health_names_the_extractor(service: ServiceHandle) -> None:
    health = httpx.get(f"{service.base_url}/health")
    assert health.json() == {"status": "ok"}  # the contract's body, exactly
    assert health.headers["Tessera-Extractor"] == "offline"
    assert httpx.get(f"{service.base_url}/").json()["extractor"] == "offline"


@pytest.mark.slow  # fast lane: left out (CI runs it)
def test_an_unreachable_llm_is_reported_at_start_and_not_counted_as_calls(
    fresh_dir: Path,
) -> None:
    port = free_port()  # nothing listens there
    env = {"TESSERA_LLM_BASE_URL": f"http://127.0.0.1:{port}/v1", "TESSERA_LLM_MODEL": "m1"}
    with run_service(fresh_dir, env=env) as service:
        log = service.logs()
        assert f"LLM endpoint http://127.0.0.1:{port}/v1 does not answer" in log
        health = httpx.get(f"{service.base_url}/health")
        assert health.headers["Tessera-Extractor"] == f"llm m1 at 127.0.0.1:{port}"
        api = Api(service.base_url, service.api_key)
        try:
            added = api.sync_add(unique("llm"), "I moved to Porto last spring")
            assert added["consolidation"]["llm_calls"] == 0
        finally:
            api.close()


def test_memories_list_search_and_query_from_the_terminal(service: ServiceHandle) -> None:
    api = Api(service.base_url, service.api_key)
    uid = unique("cli")
    try:
        api.add_ok(uid, "The rehearsal moved to Thursday at the old church")
    finally:
        api.close()
    listed = tessera(service.env, "memories", "list", "--tenant", "test", "--user-id", uid)
    assert listed.returncode == 0, listed.stderr
    assert "rehearsal moved to Thursday" in listed.stdout
    found = tessera(
        service.env, "memories", "search", "when is the rehearsal?", "--tenant", "test",
        "--user-id", uid, "--json",
    )  # fmt: skip
    assert found.returncode == 0, found.stderr
    results = json.loads(found.stdout)["results"]
    assert "Thursday" in results[0]["text"]
    context = tessera(
        service.env, "memories", "query", "when is the rehearsal?", "--tenant", "test",
        "--user-id", uid,
    )  # fmt: skip
    assert "Thursday" in context.stdout
    one_line_error(
        tessera(service.env, "memories", "list", "--tenant", "nobody", "--user-id", uid),
        "no tenant 'nobody'",
        "--tenant",
    )
