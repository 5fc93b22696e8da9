"""Claude Code hooks with real event JSON, when memory is not configured or not reachable.

The hooks against a working service are in the end-to-end tests.
"""

from __future__ import annotations

import io
import json
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from mcp_test_support import cli_env, run_cli
from tessera_mcp.hooks import run_hook

KEY = "tsk_live_hookTestKey000000000000abcd"


def event(name: str, cwd: Path, **extra: Any) -> str:
    payload = {
        "session_id": "3f1c2b9a-5d7e-4c21-9a0b-1e2f3a4b5c6d",
        "transcript_path": str(cwd / "transcript.jsonl"),
        "cwd": str(cwd),
        "permission_mode": "default",
        "hook_event_name": name,
        **extra,
    }
    return json.dumps(payload)


def hook(name: str, stdin: str, **env: str) -> tuple[dict[str, Any], int]:
    done = run_cli("hook", name, input=stdin, env=cli_env(**env))
    lines = done.stdout.strip().splitlines()
    assert len(lines) == 1, done.stdout  # exactly one JSON document, nothing else on stdout
    return json.loads(lines[0]), done.returncode


@pytest.fixture
def listener() -> Iterator[socket.socket]:
    """A listening socket that never answers; lets a test see whether anything connected."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    sock.listen(16)
    try:
        yield sock
    finally:
        sock.close()


def url_of(sock: socket.socket) -> str:
    return f"http://127.0.0.1:{sock.getsockname()[1]}"


def connections(sock: socket.socket) -> int:
    sock.setblocking(False)
    count = 0
    while True:
        try:
            conn, _ = sock.accept()
        except BlockingIOError:
            return count
        conn.close()
        count += 1


def test_session_start_without_a_key_explains_setup(tmp_path: Path) -> None:
    out, code = hook("session-start", event("SessionStart", tmp_path, source="startup"))
    assert code == 0
    specific = out["hookSpecificOutput"]
    assert specific["hookEventName"] == "SessionStart"
    assert "no API key" in specific["additionalContext"]
    assert "tessera-mcp login" in specific["additionalContext"]


def test_session_start_fails_open_when_the_service_is_down(
    tmp_path: Path, closed_port_url: str
) -> None:
    out, code = hook(
        "session-start",
        event("SessionStart", tmp_path, source="startup"),
        TESSERA_API_KEY=KEY,
        TESSERA_BASE_URL=closed_port_url,
    )
    assert code == 0
    context = out["hookSpecificOutput"]["additionalContext"]
    assert f"memory is on for this project (repo:{tmp_path.name})" in context
    assert "unavailable right now" in context
    assert KEY not in context


def test_session_start_fails_open_when_the_service_hangs(
    tmp_path: Path, listener: socket.socket
) -> None:
    out, code = hook(
        "session-start",
        event("SessionStart", tmp_path, source="resume"),
        TESSERA_API_KEY=KEY,
        TESSERA_BASE_URL=url_of(listener),
        TESSERA_HOOK_TIMEOUT="0.3",
    )
    assert code == 0
    # Normally the request times out first and the hook says so; should the hook's own overall
    # deadline win the race instead, it prints nothing. Either way the session goes on.
    if out:
        assert out["hookSpecificOutput"]["hookEventName"] == "SessionStart"
        assert "did not answer in time" in out["hookSpecificOutput"]["additionalContext"]


def test_prompt_hook_is_silent_without_a_key(tmp_path: Path) -> None:
    out, code = hook(
        "user-prompt-submit", event("UserPromptSubmit", tmp_path, prompt="fix the flaky test")
    )
    assert (out, code) == ({}, 0)


def test_prompt_hook_can_be_disabled(tmp_path: Path, listener: socket.socket) -> None:
    out, code = hook(
        "user-prompt-submit",
        event("UserPromptSubmit", tmp_path, prompt="release a new version of the CLI"),
        TESSERA_API_KEY=KEY,
        TESSERA_BASE_URL=url_of(listener),
        TESSERA_RECALL_ON_PROMPT="0",
    )
    assert (out, code) == ({}, 0)
    assert connections(listener) == 0


def test_prompt_hook_skips_trivial_prompts(tmp_path: Path, listener: socket.socket) -> None:
    out, _ = hook(
        "user-prompt-submit",
        event("UserPromptSubmit", tmp_path, prompt="ok"),
        TESSERA_API_KEY=KEY,
        TESSERA_BASE_URL=url_of(listener),
    )
    assert out == {}
    assert connections(listener) == 0


@pytest.mark.parametrize("hang", [False, True])
def test_prompt_hook_fails_open(
    tmp_path: Path, closed_port_url: str, listener: socket.socket, hang: bool
) -> None:
    out, code = hook(
        "user-prompt-submit",
        event("UserPromptSubmit", tmp_path, prompt="release a new version of the CLI"),
        TESSERA_API_KEY=KEY,
        TESSERA_BASE_URL=url_of(listener) if hang else closed_port_url,
        TESSERA_HOOK_TIMEOUT="0.3",
    )
    assert (out, code) == ({}, 0)


def write_transcript(path: Path) -> None:
    lines = [
        {
            "type": "user",
            "uuid": "u1",
            "message": {"role": "user", "content": "deploy fails; OPENAI_API_KEY=sk-xyz"},
        },
        {
            "type": "assistant",
            "uuid": "a1",
            "message": {"role": "assistant", "content": [{"type": "text", "text": "Fixed it."}]},
        },
    ]
    path.write_text("\n".join(json.dumps(line) for line in lines))


def test_session_end_uploads_nothing_unless_opted_in(
    tmp_path: Path, listener: socket.socket
) -> None:
    write_transcript(tmp_path / "transcript.jsonl")
    out, code = hook(
        "session-end",
        event("SessionEnd", tmp_path, reason="prompt_input_exit"),
        TESSERA_API_KEY=KEY,
        TESSERA_BASE_URL=url_of(listener),
    )
    assert (out, code) == ({}, 0)
    assert connections(listener) == 0


def test_session_end_fails_open_when_the_service_is_down(
    tmp_path: Path, closed_port_url: str
) -> None:
    write_transcript(tmp_path / "transcript.jsonl")
    out, code = hook(
        "session-end",
        event("SessionEnd", tmp_path, reason="logout"),
        TESSERA_API_KEY=KEY,
        TESSERA_BASE_URL=closed_port_url,
        TESSERA_CONSOLIDATE_TRANSCRIPT="1",
    )
    assert (out, code) == ({}, 0)


def test_session_end_without_transcript_is_a_no_op(tmp_path: Path) -> None:
    out, code = hook(
        "session-end",
        event("SessionEnd", tmp_path, reason="clear", transcript_path=str(tmp_path / "nope")),
        TESSERA_API_KEY=KEY,
        TESSERA_CONSOLIDATE_TRANSCRIPT="1",
    )
    assert (out, code) == ({}, 0)


@pytest.mark.parametrize("stdin", ["", "not json", "[1, 2]", '{"cwd": 5, "prompt": null}'])
@pytest.mark.parametrize("name", ["session-start", "user-prompt-submit", "session-end"])
def test_unusable_input_still_yields_json(name: str, stdin: str) -> None:
    out = io.StringIO()
    assert run_hook(name, io.StringIO(stdin), out, env={"TESSERA_CONFIG_DIR": "/nonexistent"}) == 0
    parsed = json.loads(out.getvalue())
    assert isinstance(parsed, dict)


def test_a_crashing_handler_fails_open(monkeypatch: pytest.MonkeyPatch) -> None:
    from tessera_mcp import hooks

    async def boom(payload: Any, env: Any) -> dict[str, Any]:
        raise RuntimeError("bug")

    monkeypatch.setitem(hooks.HANDLERS, "session-start", boom)
    out = io.StringIO()
    assert run_hook("session-start", io.StringIO("{}"), out, env={}) == 0
    assert json.loads(out.getvalue()) == {}
