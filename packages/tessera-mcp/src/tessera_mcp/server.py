"""The MCP server: five memory tools over stdio.

Each tool answers with its text twice, as the published 0.1.4 server did: as text content, and
as structured content ``{"result": <text>}`` (with an output schema saying so).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Annotated

from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from mcp.types import ToolAnnotations
from pydantic import Field

from . import __version__
from .errors import ToolFailure, describe_error
from .memory import Memory

logger = logging.getLogger(__name__)

INSTRUCTIONS = """\
Tessera gives you long-term memory that persists across sessions, scoped to the current \
repository automatically. Recall before you re-derive: at the start of a task, and whenever \
the user refers to earlier work, decisions or preferences, call memory_recall (or memory_search \
for exact names). Before an unfamiliar multi-step task (a release, a migration, a tricky build), \
call memory_recall_lessons. After you solve something non-obvious (the fix took several tries, a \
command needed special flags, a convention was learned the hard way), save it with \
memory_save_lesson so the next session gets it right first time. Use memory_note for durable \
facts and conventions stated by the user ("we use pnpm", "never touch the legacy/ folder"). \
Never store secrets. If a tool says no API key is set, ask the user for one as it explains."""

RECALL_DOC = """\
Ask long-term memory about this repository and get back a prompt-ready summary of what is \
known: facts, past episodes, notes and upcoming plans relevant to the question. Use it at the \
start of a task, when the user mentions earlier work ("like last time", "the bug we fixed"), or \
before answering a question about project decisions, conventions or preferences. Phrase the \
query as a natural question or topic, e.g. "how do we run the integration tests"."""

SEARCH_DOC = """\
Search long-term memory for this repository and list matching items (facts and episodes) with \
their ids and relevance scores, best first. Prefer this over memory_recall when looking for a \
specific name, error message, file or command; use memory_recall for a synthesized answer."""

SAVE_LESSON_DOC = """\
Save a reusable lesson (a procedure) for this repository: the situation it applies to, the \
steps that worked, and how to tell it succeeded. Save one after you solved something that was \
not obvious - a fix that took several attempts, a command that needs particular flags or order, \
a workaround for a known failure - so future sessions can do it right first time. Write the \
trigger as the situation someone would be in ("release a new version of the CLI"), the steps as \
short imperative commands, and success as an observable check. Never include secrets."""

RECALL_LESSONS_DOC = """\
Find saved lessons (procedures) for this repository that match a situation or task, with their \
steps and success checks, closest first. Call it before starting an unfamiliar or multi-step \
task (deploys, releases, migrations, environment setup, recurring failures) and follow a \
matching lesson's steps unless you have reason not to."""

NOTE_DOC = """\
Store a short note in long-term memory for this repository, verbatim (it is not rewritten or \
merged) and searchable at once. Use it for durable facts and conventions worth knowing in \
future sessions: decisions and their reasons, user preferences, where things live, commands \
that must or must not be used. Keep each note to one self-contained statement. Not for secrets, \
and not for step-by-step procedures (use memory_save_lesson)."""


def _annotations(title: str, *, read_only: bool) -> ToolAnnotations:
    return ToolAnnotations(
        title=title,
        read_only_hint=read_only,
        destructive_hint=False,
        idempotent_hint=read_only,
        open_world_hint=False,
    )


async def _run(memory: Memory, call: Callable[[], Awaitable[str]]) -> str:
    """Run one operation; anything that goes wrong becomes a short ToolError message."""
    try:
        return await call()
    except ToolError:
        raise
    except Exception as exc:
        settings = None
        try:
            settings = memory.settings()
        except Exception:  # the message must not depend on settings being readable
            settings = None
        message = describe_error(exc, settings)
        if not isinstance(exc, ToolFailure):
            logger.info("memory call failed: %s", message)
        raise ToolError(message) from None


def build_server(memory: Memory | None = None) -> MCPServer:
    """The MCP server with its five tools, bound to ``memory`` (a fresh Memory by default)."""
    memory = memory or Memory()
    # The published 0.1.4 server's name; with the plugin name (tessera-memory) and the config
    # key (tessera_memory) it keeps the tool names agents and permission lists already use.
    server = MCPServer(
        name="tessera_memory",
        title="Tessera memory",
        instructions=INSTRUCTIONS,
        version=__version__,
        log_level="WARNING",
    )

    @server.tool(
        name="memory_recall",
        description=RECALL_DOC,
        annotations=_annotations("Recall from memory", read_only=True),
        structured_output=True,
    )
    async def memory_recall(
        query: Annotated[str, Field(description="The question or topic to recall memory about.")],
    ) -> str:
        return await _run(memory, lambda: memory.recall(query))

    @server.tool(
        name="memory_search",
        description=SEARCH_DOC,
        annotations=_annotations("Search memory", read_only=True),
        structured_output=True,
    )
    async def memory_search(
        query: Annotated[str, Field(description="Words, names or an error message to look for.")],
        limit: Annotated[int, Field(description="Most results to return.", ge=1, le=20)] = 8,
    ) -> str:
        return await _run(memory, lambda: memory.search(query, limit))

    @server.tool(
        name="memory_save_lesson",
        description=SAVE_LESSON_DOC,
        annotations=_annotations("Save a lesson", read_only=False),
        structured_output=True,
    )
    async def memory_save_lesson(
        trigger: Annotated[str, Field(description="The situation or task this lesson applies to.")],
        steps: Annotated[
            list[str], Field(description="The steps that worked, in order, one per item.")
        ],
        success: Annotated[
            str, Field(description="How to tell the lesson worked (an observable check).")
        ],
    ) -> str:
        return await _run(memory, lambda: memory.save_lesson(trigger, steps, success))

    @server.tool(
        name="memory_recall_lessons",
        description=RECALL_LESSONS_DOC,
        annotations=_annotations("Recall lessons", read_only=True),
        structured_output=True,
    )
    async def memory_recall_lessons(
        situation: Annotated[
            str, Field(description="The situation or task you are about to tackle.")
        ],
        limit: Annotated[int, Field(description="Most lessons to return.", ge=1, le=10)] = 3,
    ) -> str:
        return await _run(memory, lambda: memory.recall_lessons(situation, limit))

    @server.tool(
        name="memory_note",
        description=NOTE_DOC,
        annotations=_annotations("Write a note", read_only=False),
        structured_output=True,
    )
    async def memory_note(
        text: Annotated[str, Field(description="One self-contained fact or convention to keep.")],
    ) -> str:
        return await _run(memory, lambda: memory.note(text))

    return server


def serve() -> None:
    """Run the server on stdin/stdout until the client disconnects."""
    build_server().run("stdio")
