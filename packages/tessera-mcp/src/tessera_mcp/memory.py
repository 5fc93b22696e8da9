"""The five memory operations, as plain async functions returning compact text.

The MCP server and the hooks are thin layers over this module. Every call resolves the key,
address and namespace afresh, so a ``tessera-mcp login`` made while the server runs is picked
up on the next call.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import tessera_memory

from . import __version__
from .config import Settings, resolve_settings
from .errors import ToolFailure, no_key_message
from .repo import Namespace, detect_namespace

DEFAULT_TIMEOUT = 30.0
MAX_CONTEXT_CHARS = 8000
MAX_HIT_CHARS = 500
MAX_LIMIT = 20


def one_line(text: str, limit: int = MAX_HIT_CHARS) -> str:
    """Collapse whitespace and cut long text, so one hit stays on one line."""
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def kind_of(value: object) -> str:
    """The plain name of a hit's type, whether the model gives an enum or a string."""
    return str(getattr(value, "value", value))


def clamp(value: int, low: int, high: int) -> int:
    return max(low, min(high, value))


def note_turn_id(user_id: str, text: str) -> str:
    """A stable turn id for a note, so saving the same note twice stores it once."""
    digest = hashlib.sha256(f"{user_id}\n{text.strip()}".encode()).hexdigest()
    return f"note-{digest[:32]}"


@dataclass
class Memory:
    """Memory operations for one project, with settings resolved at each call."""

    env: Mapping[str, str] | None = None
    cwd: str | os.PathLike[str] | None = None
    timeout: float = DEFAULT_TIMEOUT
    max_retries: int = 2
    client_options: dict[str, Any] = field(default_factory=dict)

    def settings(self) -> Settings:
        return resolve_settings(self.env)

    def namespace(self) -> Namespace:
        return detect_namespace(self.cwd, self.env)

    def client(self, settings: Settings) -> tessera_memory.AsyncTessera:
        if not settings.api_key:
            raise ToolFailure(no_key_message(settings))
        return tessera_memory.AsyncTessera(
            api_key=settings.api_key,
            base_url=settings.base_url,
            timeout=self.timeout,
            max_retries=self.max_retries,
            default_headers={"User-Agent": f"tessera-mcp/{__version__}"},
            **self.client_options,
        )

    # -- the five operations ------------------------------------------------------------------

    async def recall(self, query: str) -> str:
        query = query.strip()
        if not query:
            raise ToolFailure("Give a question or topic to recall memory about.")
        settings, ns = self.settings(), self.namespace()
        sections: list[str] = []
        async with self.client(settings) as client:
            for user_id in ns.read_ids:
                response = await client.query(
                    query, user_id=user_id, session_id=ns.session_id, mode="chat"
                )
                context = context_text(response)
                if context:
                    sections.append(f"Memory from {user_id}:\n{context}")
        if not sections:
            return f"No memories found for this in {ns.user_id}."
        text = "\n\n".join(sections)
        if len(text) > MAX_CONTEXT_CHARS:
            text = text[:MAX_CONTEXT_CHARS].rstrip() + "\n…[truncated]"
        return text

    async def search(self, query: str, limit: int = 8) -> str:
        query = query.strip()
        if not query:
            raise ToolFailure("Give words to search memory for.")
        settings, ns = self.settings(), self.namespace()
        top_k = clamp(limit, 1, MAX_LIMIT)
        results: list[tessera_memory.SearchResult] = []
        async with self.client(settings) as client:
            for user_id in ns.read_ids:
                response = await client.search(
                    query, user_id=user_id, session_id=ns.session_id, top_k=top_k
                )
                results.extend(response.results)
        results = sorted(results, key=lambda hit: hit.score, reverse=True)[:top_k]
        if not results:
            return f"No matches in {ns.user_id}."
        lines = [f"{len(results)} match(es) in {ns.user_id}, best first:"]
        for n, hit in enumerate(results, 1):
            lines.append(
                f"{n}. [{kind_of(hit.type)} {hit.id} score {hit.score:.2f}] {one_line(hit.text)}"
            )
        return "\n".join(lines)

    async def save_lesson(self, trigger: str, steps: Sequence[str], success: str) -> str:
        trigger = trigger.strip()
        clean_steps = [s.strip() for s in steps if s and s.strip()]
        success = success.strip()
        if not trigger:
            raise ToolFailure("A lesson needs a trigger: the situation it applies to.")
        if not clean_steps:
            raise ToolFailure("A lesson needs at least one step.")
        if not success:
            raise ToolFailure("A lesson needs a success cue: how to tell it worked.")
        settings, ns = self.settings(), self.namespace()
        async with self.client(settings) as client:
            saved = await client.procedures.remember(
                trigger=trigger,
                steps=clean_steps,
                success=success,
                user_id=ns.user_id,
                session_id=ns.session_id,
            )
        count = len(clean_steps)
        return (
            f"Saved lesson {saved.id} in {ns.user_id}: when {one_line(trigger, 160)!r}, "
            f"{count} step{'s' if count != 1 else ''}."
        )

    async def recall_lessons(self, situation: str, limit: int = 3) -> str:
        situation = situation.strip()
        if not situation:
            raise ToolFailure("Describe the situation or task to find lessons for.")
        settings, ns = self.settings(), self.namespace()
        async with self.client(settings) as client:
            response = await recall_procedures(
                client, ns, task=situation, k=clamp(limit, 1, MAX_LIMIT)
            )
        if not response.results:
            return f"No saved lessons in {ns.user_id} yet."
        return format_lessons(response, header=f"Lessons in {ns.user_id}, closest first:")

    async def note(self, text: str) -> str:
        text = text.strip()
        if not text:
            raise ToolFailure("A note needs some text.")
        settings, ns = self.settings(), self.namespace()
        async with self.client(settings) as client:
            added = await client.memories.add(
                content=text,
                role="assistant",
                user_id=ns.user_id,
                session_id=ns.session_id,
                turn_id=note_turn_id(ns.user_id, text),
                infer=False,
                metadata={"kind": "note", "source": "tessera-mcp"},
            )
        if isinstance(added, tessera_memory.AsyncAddResponse) and not added.created:
            return f"Already noted in {ns.user_id}; nothing changed."
        return f"Noted in {ns.user_id} (stored verbatim, searchable now)."


def context_text(response: tessera_memory.QueryResponse) -> str:
    """A query's context, or its hits one per line when the context is empty."""
    context = (response.context or "").strip()
    if context:
        return context
    return "\n".join(f"[{kind_of(r.type)} {r.id}] {one_line(r.text)}" for r in response.results)


async def recall_procedures(
    client: tessera_memory.AsyncTessera,
    ns: Namespace,
    *,
    task: str,
    k: int,
    min_similarity: float | None = None,
) -> tessera_memory.RecallProceduresResponse:
    """Lessons for ``task`` from every namespace the project reads, closest first."""
    found: list[tessera_memory.RecalledProcedure] = []
    for user_id in ns.read_ids:
        response = await client.procedures.recall(
            task=task,
            k=k,
            min_similarity=min_similarity,
            user_id=user_id,
            session_id=ns.session_id,
        )
        found.extend(response.results)
    found.sort(key=lambda hit: hit.similarity, reverse=True)
    return tessera_memory.RecallProceduresResponse(results=found[:k])


def format_lessons(
    response: tessera_memory.RecallProceduresResponse, header: str, max_steps: int = 12
) -> str:
    """Recalled procedures as a numbered list with their steps and success cue."""
    lines = [header]
    for n, hit in enumerate(response.results, 1):
        proc = hit.procedure
        used = f", used {proc.uses}x" if proc.uses else ""
        lines.append(
            f"{n}. {one_line(proc.trigger, 200)} (match {hit.similarity:.2f}{used}, {proc.id})"
        )
        for i, step in enumerate(proc.steps[:max_steps], 1):
            lines.append(f"   {i}) {one_line(step, 300)}")
        if len(proc.steps) > max_steps:
            lines.append(f"   … {len(proc.steps) - max_steps} more step(s)")
        lines.append(f"   success: {one_line(proc.success, 200)}")
    return "\n".join(lines)
