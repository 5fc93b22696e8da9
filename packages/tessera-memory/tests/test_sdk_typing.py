"""The typed surface: mypy sees the same methods on both clients, awaitable on the async one,
wrapped in APIResponse under ``with_raw_response``, and rejects wrong arguments."""

from __future__ import annotations

import re
import textwrap
from pathlib import Path

import pytest

mypy_api = pytest.importorskip("mypy.api")

SNIPPET = textwrap.dedent(
    """
    from tessera_memory import AsyncTessera, FilterClause, Tessera

    def sync_usage(c: Tessera) -> None:
        reveal_type(c.memories.add(content="x", role="user", user_id="u"))
        reveal_type(c.memories.add(content="x", role="user", user_id="u", mode="sync"))
        reveal_type(c.memories.add(content="x", role="user", user_id="u", mode="async"))
        reveal_type(c.memories.with_raw_response.add(content="x", role="user", mode="sync"))
        reveal_type(c.search.search("q", user_id="u"))
        reveal_type(c.query.query("q", user_id="u"))
        page = c.memories.list(user_id="u")
        reveal_type(page)
        for item in page:
            reveal_type(item)
        reveal_type(c.search("q", user_id="u", filters=[FilterClause(field="role", op="eq", value=1)]))
        reveal_type(c.search.with_raw_response("q"))
        reveal_type(c.memories.with_raw_response.list(user_id="u"))
        reveal_type(c.with_raw_response.health())
        reveal_type(c.maintenance.consolidate(user_id="u", sync=True))
        reveal_type(c.with_options(timeout=3.0).jobs.get("job_1"))
        c.memories.add(content="x", role="robot", user_id="u")
        c.memories.get(42)

    async def async_usage(c: AsyncTessera) -> None:
        reveal_type(await c.memories.add(content="x", role="user", user_id="u"))
        reveal_type(await c.memories.add(content="x", role="user", user_id="u", mode="sync"))
        reveal_type(await c.search.search("q", user_id="u"))
        page = await c.memories.list(user_id="u")
        reveal_type(page)
        async for item in page:
            reveal_type(item)
        reveal_type(await c.query("q", user_id="u"))
        reveal_type(await c.procedures.with_raw_response.recall(task="t"))
        reveal_type(c.resources.file(path="x.png", blob_ref="b"))
    """
)

EXPECTED = [
    # memories.add: the result type follows ``mode`` (the default is "async")
    '"AsyncAddResponse"',
    '"SyncAddResponse"',
    '"AsyncAddResponse"',
    '"APIResponse[SyncAddResponse]"',
    "SearchResponse",
    "QueryResponse",
    "SyncCursorPage[MemoryItem]",
    "MemoryItem",
    "SearchResponse",
    "APIResponse[SearchResponse]",
    "APIResponse[SyncCursorPage[MemoryItem]]",
    "APIResponse[HealthStatus]",
    "ConsolidationSummary | EnqueuedResponse",
    "JobStatusResponse",
    'error: No overload variant of "__call__" of "AddMethod" matches argument types',
    'error: Argument 1 has incompatible type "int"; expected "str"',
    '"AsyncAddResponse"',
    '"SyncAddResponse"',
    "SearchResponse",
    "AsyncCursorPage[MemoryItem]",
    "MemoryItem",
    "QueryResponse",
    "APIResponse[RecallProceduresResponse]",
    "Awaitable[ResourceItem]",
]


def test_both_clients_are_fully_typed(tmp_path: Path) -> None:
    usage = tmp_path / "usage.py"
    usage.write_text(SNIPPET, encoding="utf-8")
    stdout, stderr, _ = mypy_api.run(
        ["--strict", "--python-version=3.10", "--no-error-summary", str(usage)]
    )
    lines = [
        re.sub(r"\b[\w.]+\.(\w+)", r"\1", line.split(": ", 1)[1])
        for line in stdout.splitlines()
        if ": note: Revealed type" in line or ": error:" in line
    ]
    assert len(lines) == len(EXPECTED), stdout + stderr
    for line, expected in zip(lines, EXPECTED, strict=True):
        assert expected in line, (line, expected)
