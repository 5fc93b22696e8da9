"""`tessera-mcp login / logout / status`, run as real subprocesses."""

from __future__ import annotations

import json
import stat
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from mcp_test_support import cli_env, run_cli

KEY = "tsk_live_cliTestKeyAbCdEfGhIjKlMnOp1234"


def stored(config: Path) -> dict[str, str]:
    data: dict[str, str] = json.loads((config / "credentials.json").read_text())
    return data


def test_login_with_key_argument_writes_a_private_file(isolated_env: Path) -> None:
    done = run_cli("login", KEY, "--no-verify")
    assert done.returncode == 0, done.stderr
    path = isolated_env / "credentials.json"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stored(isolated_env) == {"api_key": KEY}
    assert "tsk_live_…1234" in done.stdout
    assert str(path) in done.stdout
    assert KEY not in done.stdout + done.stderr
    assert "no restart needed" in done.stdout


TERMINAL_LOGIN = Path(__file__).with_name("terminal_login.py")


def test_login_prompts_without_echo_on_a_terminal(isolated_env: Path) -> None:
    # The terminal is driven from a process of its own (see terminal_login.py for why).
    done = subprocess.run(
        [sys.executable, str(TERMINAL_LOGIN)],
        input=KEY + "\n",
        env=cli_env(),
        cwd=Path(sys.executable).parent,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    session = json.loads(done.stdout)
    transcript = session["transcript"]
    assert (session["exitstatus"], session["signalstatus"]) == (0, None), transcript
    assert "Tessera API key (input hidden)" in transcript
    assert KEY not in transcript  # the terminal never showed it
    assert "Saved key tsk_live_…1234" in transcript
    assert stored(isolated_env)["api_key"] == KEY


def test_login_reads_a_piped_key(isolated_env: Path) -> None:
    done = run_cli("login", "--no-verify", input=KEY + "\n")
    assert done.returncode == 0, done.stderr
    assert stored(isolated_env)["api_key"] == KEY


def test_login_without_a_key_saves_nothing(isolated_env: Path) -> None:
    done = run_cli("login", "--no-verify", input="\n")
    assert done.returncode == 2
    assert "nothing was saved" in done.stderr
    assert not (isolated_env / "credentials.json").exists()


def test_login_warns_about_an_unusual_key(isolated_env: Path) -> None:
    done = run_cli("login", "not-a-tessera-key-123", "--no-verify")
    assert done.returncode == 0
    assert "usually start with `tsk_live_`" in done.stderr


def test_login_stores_a_base_url_and_keeps_it_on_relogin(isolated_env: Path) -> None:
    assert (
        run_cli("login", KEY, "--no-verify", "--base-url", "http://mem.lan:8420/").returncode == 0
    )
    assert stored(isolated_env) == {"api_key": KEY, "base_url": "http://mem.lan:8420"}
    other = "tsk_live_secondKey999999999999999"
    assert run_cli("login", other, "--no-verify").returncode == 0
    assert stored(isolated_env) == {"api_key": other, "base_url": "http://mem.lan:8420"}


def test_login_mentions_environment_that_overrides_it(isolated_env: Path) -> None:
    env = cli_env(TESSERA_API_KEY="tsk_live_envKey000000000000", TESSERA_BASE_URL="http://x:1")
    done = run_cli("login", KEY, "--no-verify", "--base-url", "http://y:2", env=env)
    assert "TESSERA_API_KEY is set" in done.stdout
    assert "TESSERA_BASE_URL is set" in done.stdout


def test_login_saves_when_the_service_cannot_be_reached(
    isolated_env: Path, closed_port_url: str
) -> None:
    done = run_cli("login", KEY, "--base-url", closed_port_url)
    assert done.returncode == 0
    assert f"Cannot reach the Tessera service at {closed_port_url}" in done.stderr
    assert "Saving it anyway" in done.stderr
    assert stored(isolated_env)["api_key"] == KEY


def test_logout_removes_only_the_key(isolated_env: Path) -> None:
    run_cli("login", KEY, "--no-verify", "--base-url", "http://mem.lan:8420")
    done = run_cli("logout")
    assert done.returncode == 0
    assert "Removed the stored key" in done.stdout
    assert stored(isolated_env) == {"base_url": "http://mem.lan:8420"}
    assert "No key stored" in run_cli("logout").stdout


def status_rows(output: str) -> dict[str, str]:
    rows: dict[str, str] = {}
    for line in output.splitlines()[1:]:
        name, _, value = line.partition("  ")
        rows[name.strip()] = value.strip()
    return rows


def test_status_without_a_key(make_repo: Callable[..., Path]) -> None:
    repo = make_repo("widget", "git@github.com:acme/widget.git")
    done = run_cli("status", cwd=repo)
    assert done.returncode == 0
    assert done.stdout.startswith("tessera-mcp 0.2.0\n")
    rows = status_rows(done.stdout)
    assert rows["namespace"] == "repo:acme/widget  (from git origin remote)"
    assert rows["project"] == str(repo.resolve())
    assert rows["api key"].startswith("not set; run `tessera-mcp login`")
    assert rows["base url"] == "http://127.0.0.1:8420  (from default)"
    assert rows["credentials"].endswith("(not created yet)")
    assert rows["service"] == "not checked (no key)"


def test_status_with_a_stored_key_and_session(
    isolated_env: Path, tmp_path: Path, closed_port_url: str
) -> None:
    run_cli("login", KEY, "--no-verify", "--base-url", closed_port_url)
    plain = tmp_path / "plain-folder"
    plain.mkdir()
    done = run_cli("status", cwd=plain, env=cli_env(TESSERA_SESSION="pairing"))
    rows = status_rows(done.stdout)
    assert rows["namespace"] == "repo:plain-folder  (from working directory)"
    assert rows["session"] == "pairing  (from TESSERA_SESSION)"
    assert rows["api key"] == f"set, tsk_live_…1234  (from {isolated_env / 'credentials.json'})"
    assert rows["base url"] == f"{closed_port_url}  (from {isolated_env / 'credentials.json'})"
    assert rows["credentials"].endswith("(mode 0600)")
    assert rows["service"].startswith("Cannot reach the Tessera service")
    assert KEY not in done.stdout


def test_status_prefers_the_environment(isolated_env: Path) -> None:
    run_cli("login", KEY, "--no-verify", "--base-url", "http://file:1")
    env = cli_env(
        TESSERA_API_KEY="tsk_live_fromEnvironment0000abcd",
        TESSERA_BASE_URL="http://env:2",
        TESSERA_REPO="acme/pinned",
    )
    rows = status_rows(run_cli("status", "--offline", env=env).stdout)
    assert rows["namespace"] == "acme/pinned  (from TESSERA_REPO)"
    assert rows["also reads"] == "repo:acme/pinned  (this project's name in earlier releases)"
    assert rows["api key"] == "set, tsk_live_…abcd  (from TESSERA_API_KEY)"
    assert rows["base url"] == "http://env:2  (from TESSERA_BASE_URL)"
    assert rows["service"] == "not checked (--offline)"


def test_status_flags_a_readable_credentials_file(isolated_env: Path) -> None:
    run_cli("login", KEY, "--no-verify")
    (isolated_env / "credentials.json").chmod(0o644)
    rows = status_rows(run_cli("status", "--offline").stdout)
    assert "WARNING: readable by others" in rows["credentials"]


def test_version_and_help() -> None:
    assert run_cli("--version").stdout.strip() == "tessera-mcp 0.2.0"
    help_text = run_cli("--help").stdout
    for command in ("serve", "login", "logout", "status", "hook"):
        assert command in help_text


@pytest.mark.parametrize("event", ["session-start", "user-prompt-submit", "session-end"])
def test_hook_events_are_accepted(event: str) -> None:
    done = run_cli("hook", event, input="{}")
    assert done.returncode == 0
    json.loads(done.stdout)


def test_unknown_hook_event_is_a_usage_error() -> None:
    assert run_cli("hook", "pre-tool-use", input="{}").returncode == 2
