"""The five tools through an in-process MCP client, against a scripted HTTP transport.

These pin the text the tools produce and how service errors read; the end-to-end tests run the
same tools against a real service over stdio.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from mcp import Client
from mcp.types import TextContent
from tessera_mcp.memory import Memory, note_turn_id
from tessera_mcp.server import build_server

pytestmark = pytest.mark.anyio

KEY = "tsk_live_unitTestKey0123456789abcdef"
TOOLS = {
    "memory_recall",
    "memory_search",
    "memory_save_lesson",
    "memory_recall_lessons",
    "memory_note",
}

Handler = Callable[[httpx.Request], httpx.Response]


class Recorder:
    """A scripted service: answers by path and remembers every request."""

    def __init__(self, routes: dict[str, Handler]) -> None:
        self.routes = routes
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        handler = self.routes.get(request.url.path)
        if handler is None:
            return httpx.Response(404, json={"title": "Not Found", "status": 404})
        return handler(request)

    def bodies(self) -> list[dict[str, Any]]:
        return [json.loads(r.content) for r in self.requests if r.content]


def make_memory(tmp_path: Path, recorder: Recorder, **env: str) -> Memory:
    base = {
        "TESSERA_CONFIG_DIR": str(tmp_path / "cfg"),
        "TESSERA_API_KEY": KEY,
        "TESSERA_BASE_URL": "http://tessera.test",
        "TESSERA_REPO": "repo:acme/widget",
    }
    base.update(env)
    http = httpx.AsyncClient(transport=httpx.MockTransport(recorder))
    return Memory(env=base, max_retries=0, client_options={"http_client": http})


async def call(memory: Memory, tool: str, args: dict[str, Any]) -> tuple[str, bool]:
    async with Client(build_server(memory)) as client:
        result = await client.call_tool(tool, args)
    texts = [c.text for c in result.content if isinstance(c, TextContent)]
    return "\n".join(texts), bool(result.is_error)


def problem(status: int, title: str, detail: str) -> Handler:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(
            status,
            json={"type": "about:blank", "title": title, "status": status, "detail": detail},
            headers={"Content-Type": "application/problem+json", "X-Request-Id": "req-123"},
        )

    return handler


async def test_lists_five_tools_with_guidance(tmp_path: Path) -> None:
    memory = make_memory(tmp_path, Recorder({}))
    async with Client(build_server(memory)) as client:
        listed = await client.list_tools()
        instructions = client.instructions
    tools = {t.name: t for t in listed.tools}
    assert set(tools) == TOOLS
    for tool in tools.values():
        assert tool.description and len(tool.description) > 150
    assert tools["memory_save_lesson"].input_schema["required"] == ["trigger", "steps", "success"]
    assert tools["memory_save_lesson"].input_schema["properties"]["steps"]["type"] == "array"
    assert tools["memory_recall"].annotations is not None
    assert tools["memory_recall"].annotations.read_only_hint is True
    assert tools["memory_note"].annotations is not None
    assert tools["memory_note"].annotations.read_only_hint is False
    assert instructions and "memory_save_lesson" in instructions


async def test_recall_returns_the_context(tmp_path: Path) -> None:
    def query(request: httpx.Request) -> httpx.Response:
        return httpx.Response(
            200,
            json={
                "context": "- The test suite runs with `make check`.",
                "results": [
                    {"id": "ep_1", "type": "episode", "text": "make check runs it", "score": 0.9}
                ],
                "facts": [],
                "episodes": [],
                "foresight": [],
                "portrait": None,
                "provenance": {"route": None, "verifier": None, "repaired": False},
            },
        )

    recorder = Recorder({"/v1/query": query})
    text, is_error = await call(
        make_memory(tmp_path, recorder), "memory_recall", {"query": "how do tests run?"}
    )
    assert not is_error
    assert text == "Memory from repo:acme/widget:\n- The test suite runs with `make check`."
    body = recorder.bodies()[0]
    assert body["user_id"] == "repo:acme/widget"
    assert body["mode"] == "chat"
    assert body["query"] == "how do tests run?"
    assert recorder.requests[0].headers["Authorization"] == f"Bearer {KEY}"


async def test_recall_with_nothing_stored(tmp_path: Path) -> None:
    def query(request: httpx.Request) -> httpx.Response:
        return httpx.Response(
            200,
            json={
                "context": "",
                "results": [],
                "facts": [],
                "episodes": [],
                "foresight": [],
                "provenance": {},
            },
        )

    text, is_error = await call(
        make_memory(tmp_path, Recorder({"/v1/query": query})), "memory_recall", {"query": "x y"}
    )
    assert not is_error
    assert text == "No memories found for this in repo:acme/widget."


async def test_search_lists_hits_compactly(tmp_path: Path) -> None:
    def search(request: httpx.Request) -> httpx.Response:
        return httpx.Response(
            200,
            json={
                "results": [
                    {"id": "ft_a", "type": "fact", "text": "widget uses pnpm", "score": 0.912},
                    {
                        "id": "ep_b",
                        "type": "episode",
                        "text": "Long\n  narrative " + "x" * 900,
                        "score": 0.5,
                    },
                ]
            },
        )

    recorder = Recorder({"/v1/search": search})
    text, is_error = await call(
        make_memory(tmp_path, recorder, TESSERA_SESSION="s-1"),
        "memory_search",
        {"query": "package manager", "limit": 50},
    )
    assert is_error  # 50 is past the declared maximum: rejected before any request
    assert recorder.requests == []

    text, is_error = await call(
        make_memory(tmp_path, recorder, TESSERA_SESSION="s-1"),
        "memory_search",
        {"query": "package manager", "limit": 5},
    )
    assert not is_error
    lines = text.splitlines()
    assert lines[0] == "2 match(es) in repo:acme/widget, best first:"
    assert lines[1] == "1. [fact ft_a score 0.91] widget uses pnpm"
    assert lines[2].startswith("2. [episode ep_b score 0.50] Long narrative xxx")
    assert len(lines[2]) < 560
    body = recorder.bodies()[0]
    assert body["top_k"] == 5
    assert body["session_id"] == "s-1"


async def test_save_and_recall_lessons_text(tmp_path: Path) -> None:
    procedure = {
        "id": "ep_proc",
        "trigger": "release the CLI",
        "steps": ["bump the version", "tag it", "push the tag"],
        "success": "the release workflow is green",
        "uses": 2,
        "last_outcome": True,
    }

    def remember(request: httpx.Request) -> httpx.Response:
        return httpx.Response(201, json={**procedure, "uses": 0, "last_outcome": None})

    def recall(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json={"results": [{"procedure": procedure, "similarity": 0.83}]})

    recorder = Recorder({"/v1/procedures": remember, "/v1/procedures/recall": recall})
    memory = make_memory(tmp_path, recorder)
    text, is_error = await call(
        memory,
        "memory_save_lesson",
        {
            "trigger": " release the CLI ",
            "steps": ["bump the version", "", "tag it", "push the tag"],
            "success": "the release workflow is green",
        },
    )
    assert not is_error
    assert text == "Saved lesson ep_proc in repo:acme/widget: when 'release the CLI', 3 steps."
    assert recorder.bodies()[0]["steps"] == ["bump the version", "tag it", "push the tag"]

    text, is_error = await call(memory, "memory_recall_lessons", {"situation": "ship a release"})
    assert not is_error
    assert text.splitlines() == [
        "Lessons in repo:acme/widget, closest first:",
        "1. release the CLI (match 0.83, used 2x, ep_proc)",
        "   1) bump the version",
        "   2) tag it",
        "   3) push the tag",
        "   success: the release workflow is green",
    ]
    assert recorder.bodies()[1] == {"task": "ship a release", "k": 3, "user_id": "repo:acme/widget"}


async def test_note_is_a_verbatim_idempotent_write(tmp_path: Path) -> None:
    created = iter([True, False])

    def add(request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content)
        return httpx.Response(
            201,
            json={
                "turn_id": body["turn_id"],
                "created": next(created),
                "consolidation_queued": False,
                "job": None,
            },
        )

    recorder = Recorder({"/v1/memories": add})
    memory = make_memory(tmp_path, recorder)
    text, _ = await call(memory, "memory_note", {"text": "We deploy with `make ship`."})
    assert text == "Noted in repo:acme/widget (stored verbatim, searchable now)."
    text, _ = await call(memory, "memory_note", {"text": "We deploy with `make ship`.  "})
    assert text == "Already noted in repo:acme/widget; nothing changed."
    first, second = recorder.bodies()
    assert first["infer"] is False
    assert first["content"] == "We deploy with `make ship`."
    assert (
        first["turn_id"]
        == second["turn_id"]
        == note_turn_id("repo:acme/widget", "We deploy with `make ship`.")
    )
    assert first["metadata"] == {"kind": "note", "source": "tessera-mcp"}


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        (401, "rejected the API key (401)"),
        (403, "not allowed to do that (403): read-only key"),
        (404, "answered 404: no such route"),
        (422, "refused the request (422): query must not be empty"),
        (429, "rate limiting this key (429)"),
        (500, "internal error (500) (request req-123)"),
        (418, "answered 418: teapot (request req-123)"),
    ],
)
async def test_service_errors_become_short_messages(
    tmp_path: Path, status: int, expected: str
) -> None:
    details = {
        401: "unknown key " + KEY,
        403: "read-only key",
        404: "no such route",
        422: "query must not be empty",
        429: "slow down",
        500: "Traceback (most recent call last): boom",
        418: "teapot",
    }
    recorder = Recorder({"/v1/search": problem(status, "Problem", details[status])})
    text, is_error = await call(make_memory(tmp_path, recorder), "memory_search", {"query": "x"})
    assert is_error
    assert expected in text
    assert KEY not in text
    assert "Traceback" not in text
    assert len(text) < 600


async def test_unreachable_service(tmp_path: Path, closed_port_url: str) -> None:
    memory = Memory(
        env={
            "TESSERA_CONFIG_DIR": str(tmp_path / "cfg"),
            "TESSERA_API_KEY": KEY,
            "TESSERA_BASE_URL": closed_port_url,
        },
        max_retries=0,
    )
    for tool, args in [
        ("memory_recall", {"query": "q"}),
        ("memory_search", {"query": "q"}),
        ("memory_save_lesson", {"trigger": "t", "steps": ["s"], "success": "ok"}),
        ("memory_recall_lessons", {"situation": "q"}),
        ("memory_note", {"text": "n"}),
    ]:
        text, is_error = await call(memory, tool, args)
        assert is_error
        assert f"Cannot reach the Tessera service at {closed_port_url}" in text
        assert KEY not in text


async def test_no_key_message_on_every_tool(tmp_path: Path) -> None:
    memory = Memory(env={"TESSERA_CONFIG_DIR": str(tmp_path / "cfg")})
    for tool, args in [
        ("memory_recall", {"query": "q"}),
        ("memory_search", {"query": "q"}),
        ("memory_save_lesson", {"trigger": "t", "steps": ["s"], "success": "ok"}),
        ("memory_recall_lessons", {"situation": "q"}),
        ("memory_note", {"text": "n"}),
    ]:
        text, is_error = await call(memory, tool, args)
        assert is_error
        assert "no API key" in text
        assert "Ask the user for their Tessera API key" in text
        assert "tessera-mcp login" in text


@pytest.mark.parametrize(
    ("tool", "args", "expected"),
    [
        ("memory_recall", {"query": "  "}, "Give a question"),
        ("memory_search", {"query": ""}, "Give words"),
        ("memory_save_lesson", {"trigger": "", "steps": ["a"], "success": "b"}, "needs a trigger"),
        ("memory_save_lesson", {"trigger": "a", "steps": [" "], "success": "b"}, "at least one"),
        ("memory_save_lesson", {"trigger": "a", "steps": ["b"], "success": ""}, "success cue"),
        ("memory_recall_lessons", {"situation": ""}, "Describe the situation"),
        ("memory_note", {"text": "\n"}, "needs some text"),
    ],
)
async def test_empty_input_is_refused_before_any_request(
    tmp_path: Path, tool: str, args: dict[str, Any], expected: str
) -> None:
    recorder = Recorder({})
    text, is_error = await call(make_memory(tmp_path, recorder), tool, args)
    assert is_error
    assert expected in text
    assert recorder.requests == []
