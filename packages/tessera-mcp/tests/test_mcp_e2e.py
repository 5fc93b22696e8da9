"""End to end: `tessera-mcp` as a subprocess driven by the `mcp` SDK's stdio client, and the
hooks and CLI, against a real Tessera service on a loopback port."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import sys
from collections.abc import Callable, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
import tessera_memory
from mcp import Client, StdioServerParameters, stdio_client
from mcp.types import TextContent
from mcp_test_support import cli_env, run_cli

testing = pytest.importorskip("tessera_server.testing")

pytestmark = pytest.mark.anyio

TOOLS = {
    "memory_recall",
    "memory_search",
    "memory_save_lesson",
    "memory_recall_lessons",
    "memory_note",
}


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    with testing.run_service(tmp_path_factory.mktemp("tessera-service")) as handle:
        yield handle


def new_key(service: Any, tenant: str, *, read_only: bool = False) -> str:
    """A fresh key (a new tenant per test keeps the tests apart)."""
    key: str = service.create_key(tenant, read_only=read_only)
    assert key.startswith("tsk_live_") and "…" not in key
    return key


def server_command() -> tuple[str, list[str]]:
    """The installed `tessera-mcp` script next to this interpreter, as an agent would run it."""
    script = Path(sys.executable).parent / "tessera-mcp"
    if script.exists():
        return str(script), []
    found = shutil.which("tessera-mcp")
    if found:
        return found, []
    return sys.executable, ["-m", "tessera_mcp"]


def stdio_env(config: Path, **extra: str) -> dict[str, str]:
    env = {
        "TESSERA_CONFIG_DIR": str(config),
        "GIT_CEILING_DIRECTORIES": os.environ.get("GIT_CEILING_DIRECTORIES", ""),
        "PYTHONPATH": os.environ.get("PYTHONPATH", ""),
    }
    env.update(extra)
    return env


@asynccontextmanager
async def agent(cwd: Path, env: dict[str, str], mode: str = "auto") -> Any:
    command, args = server_command()
    params = StdioServerParameters(command=command, args=args, env=env, cwd=str(cwd))
    # stdio_client(...) as the transport (rather than the parameters themselves) works on every
    # 2.x release of the SDK.
    async with Client(stdio_client(params), read_timeout_seconds=60, mode=mode) as client:
        yield client


async def call(client: Any, tool: str, **args: Any) -> tuple[str, bool]:
    result = await client.call_tool(tool, args)
    text = "\n".join(c.text for c in result.content if isinstance(c, TextContent))
    if not result.is_error:
        # As from the published 0.1.4 server: the text again as structured output.
        assert result.structured_content == {"result": text}
    return text, bool(result.is_error)


async def test_agent_session_uses_every_tool(
    service: Any, make_repo: Callable[..., Path], isolated_env: Path
) -> None:
    key = new_key(service, "e2e-tools")
    repo = make_repo("widget", "git@github.com:acme/widget.git")
    env = stdio_env(isolated_env, TESSERA_API_KEY=key, TESSERA_BASE_URL=service.base_url)
    async with agent(repo, env) as client:
        listed = await client.list_tools()
        assert {t.name for t in listed.tools} == TOOLS
        for tool in listed.tools:
            assert tool.output_schema is not None
            assert tool.output_schema["properties"]["result"]["type"] == "string"
            assert tool.output_schema["required"] == ["result"]

        text, err = await call(
            client, "memory_note", text="The staging database is reset every Sunday at 02:00 UTC."
        )
        assert (text, err) == (
            "Noted in repo:acme/widget (stored verbatim, searchable now).",
            False,
        )
        text, err = await call(
            client, "memory_note", text="The staging database is reset every Sunday at 02:00 UTC."
        )
        assert (text, err) == ("Already noted in repo:acme/widget; nothing changed.", False)

        text, err = await call(client, "memory_search", query="staging database reset")
        assert not err
        assert text.startswith("1 match(es) in repo:acme/widget, best first:\n1. [episode ep_")
        assert "The staging database is reset every Sunday at 02:00 UTC." in text

        text, err = await call(client, "memory_recall", query="When is the staging database reset?")
        assert not err
        assert text.startswith("Memory from repo:acme/widget:\n")
        assert "every Sunday at 02:00 UTC" in text

        text, err = await call(
            client,
            "memory_save_lesson",
            trigger="release a new version of the command line tool",
            steps=[
                "bump the version in pyproject.toml",
                "run `make release-notes`",
                "push a tag named vX.Y.Z",
            ],
            success="the release workflow on the tag finishes green",
        )
        assert not err
        assert text.startswith("Saved lesson ep_")
        assert "in repo:acme/widget" in text and "3 steps" in text

        text, err = await call(client, "memory_recall_lessons", situation="ship a new CLI release")
        assert not err
        lines = text.splitlines()
        assert lines[0] == "Lessons in repo:acme/widget, closest first:"
        assert lines[1].startswith("1. release a new version of the command line tool (match ")
        assert "   1) bump the version in pyproject.toml" in lines
        assert "   3) push a tag named vX.Y.Z" in lines
        assert "   success: the release workflow on the tag finishes green" in lines

    # Another repository sees none of it.
    other = make_repo("gadget", "https://github.com/acme/gadget.git")
    async with agent(other, env) as client:
        text, err = await call(client, "memory_search", query="staging database reset")
        assert (text, err) == ("No matches in repo:acme/gadget.", False)
        text, err = await call(client, "memory_recall_lessons", situation="ship a new CLI release")
        assert (text, err) == ("No saved lessons in repo:acme/gadget yet.", False)


async def test_handshake_era_clients(
    service: Any, make_repo: Callable[..., Path], isolated_env: Path
) -> None:
    """Agents in use today open with the `initialize` handshake; that path works too."""
    key = new_key(service, "e2e-legacy")
    repo = make_repo("legacy", "https://github.com/acme/legacy.git")
    env = stdio_env(isolated_env, TESSERA_API_KEY=key, TESSERA_BASE_URL=service.base_url)
    async with agent(repo, env, mode="legacy") as client:
        assert client.server_info is not None
        assert client.server_info.name == "tessera_memory"
        assert client.instructions and "memory_recall" in client.instructions
        listed = await client.list_tools()
        assert {t.name for t in listed.tools} == TOOLS
        text, err = await call(client, "memory_note", text="Legacy clients work.")
        assert (text, err) == (
            "Noted in repo:acme/legacy (stored verbatim, searchable now).",
            False,
        )


async def test_login_takes_effect_without_a_restart(
    service: Any, make_repo: Callable[..., Path], isolated_env: Path
) -> None:
    key = new_key(service, "e2e-login")
    repo = make_repo("login-repo", "https://github.com/acme/login-repo.git")
    env = stdio_env(isolated_env, TESSERA_BASE_URL=service.base_url)
    async with agent(repo, env) as client:
        text, err = await call(client, "memory_note", text="Use uv, not pip, in this repository.")
        assert err
        assert "no API key" in text and "tessera-mcp login" in text

        done = await asyncio.to_thread(
            run_cli, "login", key, env=cli_env(TESSERA_BASE_URL=service.base_url)
        )
        assert done.returncode == 0, done.stderr
        assert done.stderr == ""  # verified against the service without complaint

        text, err = await call(client, "memory_note", text="Use uv, not pip, in this repository.")
        assert (text, err) == (
            "Noted in repo:acme/login-repo (stored verbatim, searchable now).",
            False,
        )
        text, err = await call(client, "memory_search", query="uv or pip")
        assert "Use uv, not pip, in this repository." in text

        await asyncio.to_thread(run_cli, "logout")
        text, err = await call(client, "memory_search", query="uv or pip")
        assert err and "no API key" in text


async def test_bad_and_read_only_keys_read_as_sentences(
    service: Any, make_repo: Callable[..., Path], isolated_env: Path
) -> None:
    repo = make_repo("keys-repo")
    bogus = "tsk_live_" + "x" * 43
    env = stdio_env(isolated_env, TESSERA_API_KEY=bogus, TESSERA_BASE_URL=service.base_url)
    async with agent(repo, env) as client:
        text, err = await call(client, "memory_recall", query="anything")
    assert err
    assert f"The Tessera service at {service.base_url} rejected the API key (401)" in text
    assert bogus not in text

    read_only = new_key(service, "e2e-ro", read_only=True)
    env = stdio_env(isolated_env, TESSERA_API_KEY=read_only, TESSERA_BASE_URL=service.base_url)
    async with agent(repo, env) as client:
        text, err = await call(client, "memory_search", query="anything")
        assert (text, err) == ("No matches in repo:keys-repo.", False)
        text, err = await call(client, "memory_note", text="read-only keys cannot write")
    assert err
    assert "not allowed to do that (403)" in text
    assert read_only not in text


def test_cli_login_and_status_against_the_service(
    service: Any, make_repo: Callable[..., Path], isolated_env: Path
) -> None:
    repo = make_repo("cli-repo", "https://github.com/acme/cli-repo.git")
    done = run_cli("login", "tsk_live_" + "n" * 43, "--base-url", service.base_url)
    assert done.returncode == 1
    assert "rejected this key (401); nothing was saved" in done.stderr
    assert not (isolated_env / "credentials.json").exists()

    key = new_key(service, "e2e-cli")
    done = run_cli("login", key, "--base-url", service.base_url)
    assert done.returncode == 0, done.stderr
    status = run_cli("status", cwd=repo).stdout
    assert "namespace    repo:acme/cli-repo  (from git origin remote)" in status
    assert f"base url     {service.base_url}" in status
    assert "service      reachable, key accepted" in status
    assert key not in status


def hook(name: str, payload: dict[str, Any], **env: str) -> dict[str, Any]:
    done = run_cli("hook", name, input=json.dumps(payload), env=cli_env(**env))
    assert done.returncode == 0
    result: dict[str, Any] = json.loads(done.stdout)
    return result


async def test_hooks_against_the_service(
    service: Any, make_repo: Callable[..., Path], tmp_path: Path
) -> None:
    key = new_key(service, "e2e-hooks")
    repo = make_repo("hooks-repo", "git@github.com:acme/hooks-repo.git")
    user_id = "repo:acme/hooks-repo"
    env = {"TESSERA_API_KEY": key, "TESSERA_BASE_URL": service.base_url}
    base = {"session_id": "c0ffee00-1111-2222-3333-444455556666", "cwd": str(repo)}

    start = hook("session-start", {**base, "hook_event_name": "SessionStart"}, **env)
    context = start["hookSpecificOutput"]["additionalContext"]
    assert start["hookSpecificOutput"]["hookEventName"] == "SessionStart"
    assert f"memory is on for this project ({user_id})" in context
    assert "Nothing is stored for it yet." in context

    async with tessera_memory.AsyncTessera(api_key=key, base_url=service.base_url) as client:
        await client.procedures.remember(
            trigger="run the integration tests locally",
            steps=["docker compose up -d db", "pytest tests/integration -q"],
            success="all integration tests pass",
            user_id=user_id,
        )
        await client.memories.add(
            content="Integration tests need the db container from docker compose.",
            role="user",
            user_id=user_id,
            infer=False,
        )

    prompt = {**base, "hook_event_name": "UserPromptSubmit"}
    out = hook(
        "user-prompt-submit", {**prompt, "prompt": "How do I run the integration tests?"}, **env
    )
    assert out["hookSpecificOutput"]["hookEventName"] == "UserPromptSubmit"
    lesson = out["hookSpecificOutput"]["additionalContext"]
    assert f"lessons saved in {user_id}" in lesson
    assert "run the integration tests locally" in lesson
    assert "1) docker compose up -d db" in lesson

    unrelated = hook(
        "user-prompt-submit",
        {**prompt, "prompt": "Rename the Frobnicator class to Widgetizer everywhere"},
        **env,
        TESSERA_RECALL_MIN_SIMILARITY="0.9",
    )
    assert unrelated == {}

    start = hook(
        "session-start", {**base, "hook_event_name": "SessionStart", "source": "resume"}, **env
    )
    assert "docker compose" in start["hookSpecificOutput"]["additionalContext"]

    # Session end: the transcript goes up only when opted in, and without its secrets.
    secret = "sk-proj-" + "Zq9" * 16
    transcript = tmp_path / "session.jsonl"
    turns = [
        ("user", "u1", f"Deploy is broken. My .env has OPENAI_API_KEY={secret}"),
        ("assistant", "a1", "The deploy script reads the wrong variable; I renamed it."),
        ("user", "u2", "Great, I prefer short commit messages in this repository."),
    ]
    transcript.write_text(
        "\n".join(
            json.dumps(
                {
                    "type": role,
                    "uuid": uuid,
                    "message": {"role": role, "content": [{"type": "text", "text": text}]},
                }
            )
            for role, uuid, text in turns
        )
    )
    end = {**base, "hook_event_name": "SessionEnd", "reason": "other"}
    end["transcript_path"] = str(transcript)
    assert hook("session-end", end, **env) == {}
    assert hook("session-end", end, **env, TESSERA_CONSOLIDATE_TRANSCRIPT="1") == {}
    # ending a resumed session again adds nothing twice
    assert hook("session-end", end, **env, TESSERA_CONSOLIDATE_TRANSCRIPT="1") == {}

    async with tessera_memory.AsyncTessera(api_key=key, base_url=service.base_url) as client:
        await client.maintenance.consolidate(user_id=user_id, sync=True)
        stored = [item async for item in await client.memories.list(user_id=user_id)]
        texts = [json.dumps(item.model_dump(mode="json")) for item in stored]
        joined = "\n".join(texts)
        assert secret not in joined
        hits = await client.search("deploy script wrong variable renamed", user_id=user_id)
        assert any("deploy script" in h.text for h in hits.results)
        assert all(secret not in h.text for h in hits.results)


@pytest.mark.slow  # fast lane: left out (CI runs it)
def test_hooks_fail_open_after_the_service_stops(
    make_repo: Callable[..., Path], tmp_path: Path
) -> None:
    data = tmp_path / "short-lived"
    with testing.run_service(data) as handle:
        key = new_key(handle, "gone")
        url = handle.base_url
    repo = make_repo("after-stop")
    payload = {"session_id": "s", "cwd": str(repo), "prompt": "deploy the service to staging"}
    env = {"TESSERA_API_KEY": key, "TESSERA_BASE_URL": url, "TESSERA_CONSOLIDATE_TRANSCRIPT": "1"}
    start = hook("session-start", {**payload, "hook_event_name": "SessionStart"}, **env)
    assert "unavailable right now" in start["hookSpecificOutput"]["additionalContext"]
    assert (
        hook("user-prompt-submit", {**payload, "hook_event_name": "UserPromptSubmit"}, **env) == {}
    )


async def test_namespaces_match_the_published_server_and_still_read_the_old_ones(
    service: Any, make_repo: Callable[..., Path], isolated_env: Path, tmp_path: Path
) -> None:
    """Memories stored by the published tessera-mcp 0.1.4 (or by this server before it used the
    same names) are found; new ones go where 0.1.4 would put them."""
    key = new_key(service, "e2e-namespaces")
    sdk = tessera_memory.AsyncTessera(api_key=key, base_url=service.base_url)
    # What each server stored before: 0.1.4 under TESSERA_REPO verbatim, this one with a prefix.
    await sdk.memories.add(
        content="Releases are cut from the stable branch.",
        role="user",
        user_id="acme/widget",
        infer=False,
    )
    await sdk.memories.add(
        content="Release notes live in docs/changes.",
        role="user",
        user_id="repo:acme/widget",
        infer=False,
    )
    repo = make_repo("widget-checkout", "git@github.com:acme/widget.git")
    env = stdio_env(
        isolated_env,
        TESSERA_API_KEY=key,
        TESSERA_BASE_URL=service.base_url,
        TESSERA_REPO="acme/widget",
    )
    async with agent(repo, env) as client:
        text, err = await call(client, "memory_search", query="release branch notes")
        assert not err and text.startswith("2 match(es) in acme/widget")
        assert "stable branch" in text and "docs/changes" in text
        text, err = await call(client, "memory_recall", query="How are releases made?")
        assert not err and "Memory from acme/widget:" in text
        assert "Memory from repo:acme/widget:" in text
        text, err = await call(client, "memory_note", text="Tag releases as vX.Y.Z.")
        assert (text, err) == ("Noted in acme/widget (stored verbatim, searchable now).", False)
    stored = [m.text async for m in await sdk.memories.list(user_id="acme/widget")]
    assert "Tag releases as vX.Y.Z." in stored

    # A GitLab subgroup and a local-path remote get 0.1.4's names: the last two URL parts.
    subgroup = make_repo("sub-checkout", "https://gitlab.com/group/sub/widget.git")
    local = make_repo("local-checkout", str(tmp_path / "srv" / "git" / "widget.git"))
    for folder, name in ((subgroup, "repo:sub/widget"), (local, "repo:git/widget")):
        env = stdio_env(isolated_env, TESSERA_API_KEY=key, TESSERA_BASE_URL=service.base_url)
        async with agent(folder, env) as client:
            text, err = await call(client, "memory_note", text=f"Checked out as {folder.name}.")
            assert (text, err) == (f"Noted in {name} (stored verbatim, searchable now).", False)
        assert [m.text async for m in await sdk.memories.list(user_id=name)] == [
            f"Checked out as {folder.name}."
        ]
    await sdk.aclose()


async def test_hooks_read_the_older_namespace_too(
    service: Any, make_repo: Callable[..., Path], tmp_path: Path
) -> None:
    """A GitLab subgroup project: stored under its older name, briefed and recalled under the
    new one."""
    key = new_key(service, "e2e-hooks-legacy")
    repo = make_repo("sub-hooks", "https://gitlab.com/group/sub/hooks-repo.git")
    old, new = "repo:group/sub/hooks-repo", "repo:sub/hooks-repo"
    async with tessera_memory.AsyncTessera(api_key=key, base_url=service.base_url) as client:
        await client.memories.add(
            content="The hooks repo deploys from the release branch.",
            role="user",
            user_id=old,
            infer=False,
        )
        await client.procedures.remember(
            trigger="cut a release of the hooks repo",
            steps=["git checkout release", "make tag"],
            success="the tag is pushed",
            user_id=old,
        )
    env = {"TESSERA_API_KEY": key, "TESSERA_BASE_URL": service.base_url}
    base = {"session_id": "legacy-1", "cwd": str(repo)}
    start = hook("session-start", {**base, "hook_event_name": "SessionStart"}, **env)
    context = start["hookSpecificOutput"]["additionalContext"]
    assert f"({new})" in context and "deploys from the release branch" in context
    out = hook(
        "user-prompt-submit",
        {**base, "hook_event_name": "UserPromptSubmit", "prompt": "cut a release of hooks repo"},
        **env,
    )
    assert "2) make tag" in out["hookSpecificOutput"]["additionalContext"]
    status = run_cli("status", "--offline", cwd=repo, env=cli_env(**env)).stdout
    assert f"{new}  (from git origin remote)" in status
    assert f"also reads   {old}  (this project's name in earlier releases)" in status
