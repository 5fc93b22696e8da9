"""The integration files in integrations/: they parse and point at the right commands."""

from __future__ import annotations

import json
import re
import shlex
from pathlib import Path
from typing import Any

import pytest
from mcp_test_support import run_cli
from tessera_mcp import __version__
from tessera_mcp.hooks import EVENTS

ROOT = Path(__file__).resolve().parents[3]
INTEGRATIONS = ROOT / "integrations"
MARKETPLACE = INTEGRATIONS / "claude-code"
TOOLS = [
    "memory_recall",
    "memory_search",
    "memory_save_lesson",
    "memory_recall_lessons",
    "memory_note",
]


def load(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


def plugin_dir() -> Path:
    market = load(MARKETPLACE / ".claude-plugin" / "marketplace.json")
    # The published plugin's name and server key, so tool names keep their prefix
    # (mcp__plugin_tessera-memory_tessera_memory__memory_recall in Claude Code).
    (entry,) = [p for p in market["plugins"] if p["name"] == "tessera-memory"]
    return (MARKETPLACE / entry["source"]).resolve()


def test_every_json_file_parses() -> None:
    files = sorted(INTEGRATIONS.rglob("*.json"))
    assert len(files) >= 6
    for path in files:
        assert isinstance(load(path), dict), path


def test_marketplace_lists_the_plugin() -> None:
    market = load(MARKETPLACE / ".claude-plugin" / "marketplace.json")
    assert re.fullmatch(r"[a-z0-9-]+", market["name"])
    assert market["owner"]["name"]
    (entry,) = market["plugins"]
    assert entry["source"].startswith("./")
    manifest = load(plugin_dir() / ".claude-plugin" / "plugin.json")
    assert manifest["name"] == entry["name"] == "tessera-memory"
    assert manifest["version"] == entry["version"] == __version__


def test_plugin_mcp_server_runs_tessera_mcp() -> None:
    servers = load(plugin_dir() / ".mcp.json")["mcpServers"]
    assert servers["tessera_memory"]["command"] == "tessera-mcp"
    assert servers["tessera_memory"].get("args", []) == []


def test_plugin_hooks_call_each_hook_command_with_time_to_finish() -> None:
    config = load(plugin_dir() / "hooks" / "hooks.json")["hooks"]
    assert set(config) == set(EVENTS.values())
    for event_name, groups in config.items():
        (group,) = groups
        (hook,) = group["hooks"]
        assert hook["type"] == "command"
        argv = shlex.split(hook["command"])
        assert argv[:2] == ["tessera-mcp", "hook"]
        assert EVENTS[argv[2]] == event_name
        # Claude Code's limit must exceed the hook's own deadline, so it always answers first.
        internal = 20.0 if event_name == "SessionEnd" else 5.0
        assert hook["timeout"] > internal + 1


@pytest.mark.parametrize("event_name", sorted(EVENTS.values()))
def test_plugin_hook_commands_run(event_name: str, tmp_path: Path) -> None:
    config = load(plugin_dir() / "hooks" / "hooks.json")["hooks"]
    argv = shlex.split(config[event_name][0]["hooks"][0]["command"])
    payload = {"session_id": "s", "cwd": str(tmp_path), "hook_event_name": event_name}
    done = run_cli(*argv[1:], input=json.dumps(payload))
    assert done.returncode == 0
    assert isinstance(json.loads(done.stdout), dict)


def frontmatter(text: str) -> dict[str, str]:
    match = re.match(r"^---\n(.*?)\n---\n", text, re.DOTALL)
    assert match, "SKILL.md must start with YAML front matter"
    fields: dict[str, str] = {}
    for line in match.group(1).splitlines():
        key, _, value = line.partition(":")
        fields[key.strip()] = value.strip()
    return fields


def test_skill_tells_the_agent_when_to_use_each_tool() -> None:
    skills = list((plugin_dir() / "skills").glob("*/SKILL.md"))
    assert len(skills) == 1
    text = skills[0].read_text(encoding="utf-8")
    meta = frontmatter(text)
    assert meta["name"] == skills[0].parent.name
    assert re.fullmatch(r"[a-z0-9-]{1,64}", meta["name"])
    assert 50 < len(meta["description"]) <= 1024
    for tool in TOOLS:
        assert tool in text
    assert "tessera-mcp login" in text


def test_codex_config_and_agents_guidance() -> None:
    tomllib = pytest.importorskip("tomllib")  # Python 3.11+
    config = tomllib.loads((INTEGRATIONS / "codex" / "config.toml").read_text(encoding="utf-8"))
    server = config["mcp_servers"]["tessera_memory"]
    assert server["command"] == "tessera-mcp"
    assert "TESSERA_API_KEY" in server["env_vars"]
    guidance = (INTEGRATIONS / "codex" / "AGENTS.md").read_text(encoding="utf-8")
    for tool in TOOLS:
        assert tool in guidance


@pytest.mark.parametrize("path", ["cursor/mcp.json", "claude-desktop/claude_desktop_config.json"])
def test_editor_snippets(path: str) -> None:
    server = load(INTEGRATIONS / path)["mcpServers"]["tessera_memory"]
    assert server["command"] == "tessera-mcp"
    assert all(name.startswith("TESSERA_") for name in server.get("env", {}))


def test_console_script_matches_the_configs() -> None:
    pyproject = (ROOT / "packages" / "tessera-mcp" / "pyproject.toml").read_text()
    assert 'tessera-mcp = "tessera_mcp.cli:main"' in pyproject
