"""Claude Code hooks: ``tessera-mcp hook session-start | user-prompt-submit | session-end``.

Each hook reads the event JSON Claude Code writes to stdin and prints one JSON object on stdout.
When there is something for the model to read it is
``{"hookSpecificOutput": {"hookEventName": ..., "additionalContext": ...}}``; otherwise ``{}``.

Hooks fail open: whatever happens (no key, service down or slow, bad input, a bug), the hook
prints valid JSON and exits 0 within its deadline, so memory never blocks or breaks a session.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
from collections.abc import Awaitable, Callable, Mapping
from pathlib import Path
from typing import Any, TextIO

import tessera_memory

from .config import Settings, resolve_settings
from .errors import describe_error
from .memory import format_lessons, one_line, recall_procedures
from .repo import detect_namespace
from .transcript import read_transcript

EVENTS = {
    "session-start": "SessionStart",
    "user-prompt-submit": "UserPromptSubmit",
    "session-end": "SessionEnd",
}
DEFAULT_TIMEOUT = 5.0
SESSION_END_TIMEOUT = 20.0
DEFAULT_MIN_SIMILARITY = 0.35
MIN_PROMPT_CHARS = 8
MAX_BRIEFING_CHARS = 4000
MAX_UPLOAD_TURNS = 500
BATCH_SIZE = 50
BRIEFING_QUERY = "project conventions, decisions, lessons learned and notes for this repository"

Output = dict[str, Any]
Handler = Callable[[Mapping[str, Any], Mapping[str, str]], Awaitable[Output]]


def _flag(env: Mapping[str, str], name: str, default: bool) -> bool:
    raw = env.get(name, "").strip().lower()
    if not raw:
        return default
    return raw not in {"0", "false", "no", "off"}


def _float(env: Mapping[str, str], name: str, default: float) -> float:
    try:
        return float(env.get(name, "") or default)
    except ValueError:
        return default


def context_output(event: str, text: str) -> Output:
    return {"hookSpecificOutput": {"hookEventName": event, "additionalContext": text}}


def _client(settings: Settings, timeout: float, retries: int) -> tessera_memory.AsyncTessera:
    assert settings.api_key
    return tessera_memory.AsyncTessera(
        api_key=settings.api_key,
        base_url=settings.base_url,
        timeout=timeout,
        max_retries=retries,
    )


def _cwd(payload: Mapping[str, Any]) -> str | None:
    cwd = payload.get("cwd")
    return cwd if isinstance(cwd, str) and cwd else None


async def session_start(payload: Mapping[str, Any], env: Mapping[str, str]) -> Output:
    """Tell the model memory exists for this repository, with a short briefing from it."""
    settings = resolve_settings(env)
    ns = detect_namespace(_cwd(payload), env)
    if not settings.has_key:
        return context_output(
            "SessionStart",
            "Tessera memory (tessera-mcp) is installed but has no API key, so its memory tools "
            "will not work this session. If the user wants long-term memory, ask them for their "
            "Tessera key and run `tessera-mcp login <KEY>`; no restart is needed.",
        )
    intro = (
        f"Tessera long-term memory is on for this project ({ns.user_id}). Use memory_recall or "
        "memory_search before re-deriving project knowledge, memory_recall_lessons before "
        "unfamiliar multi-step tasks, memory_save_lesson after solving something non-obvious, "
        "and memory_note for durable facts and conventions."
    )
    timeout = _float(env, "TESSERA_HOOK_TIMEOUT", DEFAULT_TIMEOUT)
    contexts: list[str] = []
    try:
        async with _client(settings, timeout, 0) as client:
            for user_id in ns.read_ids:
                response = await client.query(
                    BRIEFING_QUERY, user_id=user_id, session_id=ns.session_id, mode="reasoning"
                )
                if (response.context or "").strip():
                    contexts.append(response.context.strip())
    except tessera_memory.TesseraError as exc:
        return context_output(
            "SessionStart",
            f"{intro}\n(Memory is unavailable right now: {describe_error(exc, settings)})",
        )
    context = "\n\n".join(contexts)
    if not context:
        return context_output("SessionStart", f"{intro}\nNothing is stored for it yet.")
    if len(context) > MAX_BRIEFING_CHARS:
        context = context[:MAX_BRIEFING_CHARS].rstrip() + "\n…[truncated]"
    return context_output("SessionStart", f"{intro}\nWhat memory holds:\n{context}")


async def user_prompt_submit(payload: Mapping[str, Any], env: Mapping[str, str]) -> Output:
    """Recall saved lessons close to the prompt; silent when there are none."""
    if not _flag(env, "TESSERA_RECALL_ON_PROMPT", True):
        return {}
    prompt = payload.get("prompt")
    if not isinstance(prompt, str) or len(prompt.strip()) < MIN_PROMPT_CHARS:
        return {}
    settings = resolve_settings(env)
    if not settings.has_key:
        return {}
    ns = detect_namespace(_cwd(payload), env)
    timeout = _float(env, "TESSERA_HOOK_TIMEOUT", DEFAULT_TIMEOUT)
    min_similarity = _float(env, "TESSERA_RECALL_MIN_SIMILARITY", DEFAULT_MIN_SIMILARITY)
    async with _client(settings, timeout, 0) as client:
        response = await recall_procedures(
            client, ns, task=prompt.strip()[:2000], k=3, min_similarity=min_similarity
        )
    if not response.results:
        return {}
    header = (
        f"Tessera memory: lessons saved in {ns.user_id} that may apply to this request "
        "(follow them if they fit):"
    )
    return context_output("UserPromptSubmit", format_lessons(response, header=header))


async def session_end(payload: Mapping[str, Any], env: Mapping[str, str]) -> Output:
    """Upload the redacted transcript for consolidation, only with TESSERA_CONSOLIDATE_TRANSCRIPT=1."""
    if env.get("TESSERA_CONSOLIDATE_TRANSCRIPT", "").strip() != "1":
        return {}
    path = payload.get("transcript_path")
    if not isinstance(path, str) or not path:
        return {}
    settings = resolve_settings(env)
    if not settings.has_key:
        return {}
    ns = detect_namespace(_cwd(payload), env)
    secrets = [settings.api_key] if settings.api_key else []
    turns = read_transcript(Path(path).expanduser(), known_secrets=secrets)[-MAX_UPLOAD_TURNS:]
    if not turns:
        return {}
    claude_session = payload.get("session_id")
    session_id = ns.session_id or (
        one_line(claude_session, 120)
        if isinstance(claude_session, str) and claude_session
        else None
    )
    metadata: dict[str, Any] = {"source": "claude-code-transcript"}
    if isinstance(claude_session, str) and claude_session:
        metadata["claude_session_id"] = claude_session
    timeout = _float(env, "TESSERA_HOOK_TIMEOUT", SESSION_END_TIMEOUT)
    async with _client(settings, timeout, 1) as client:
        for start in range(0, len(turns), BATCH_SIZE):
            chunk = turns[start : start + BATCH_SIZE]
            messages: list[dict[str, Any]] = []
            for turn in chunk:
                message: dict[str, Any] = {"role": turn.role, "content": turn.content}
                if turn.turn_id:
                    message["turn_id"] = turn.turn_id
                messages.append(message)
            await client.memories.batch(
                messages=messages, user_id=ns.user_id, session_id=session_id, metadata=metadata
            )
    return {}


HANDLERS: dict[str, Handler] = {
    "session-start": session_start,
    "user-prompt-submit": user_prompt_submit,
    "session-end": session_end,
}


def read_event(stream: TextIO) -> dict[str, Any]:
    """The event JSON from stdin; anything unreadable is an empty event."""
    try:
        if stream.isatty():
            return {}
        raw = stream.read()
    except (OSError, ValueError):
        return {}
    try:
        data = json.loads(raw) if raw.strip() else {}
    except json.JSONDecodeError:
        return {}
    return data if isinstance(data, dict) else {}


def run_hook(
    event: str,
    stdin: TextIO | None = None,
    stdout: TextIO | None = None,
    env: Mapping[str, str] | None = None,
) -> int:
    """Run one hook and print its JSON. Always returns 0: hooks never block a session."""
    stdin = sys.stdin if stdin is None else stdin
    stdout = sys.stdout if stdout is None else stdout
    env = os.environ if env is None else env
    output: Output = {}
    handler = HANDLERS.get(event)
    if handler is not None:
        payload = read_event(stdin)
        default = SESSION_END_TIMEOUT if event == "session-end" else DEFAULT_TIMEOUT
        # The overall deadline: a little over the request timeout, so a hung service can
        # never hold the session up for long.
        deadline = _float(env, "TESSERA_HOOK_TIMEOUT", default) + 1.0
        try:
            output = asyncio.run(asyncio.wait_for(handler(payload, env), timeout=deadline))
        except Exception as exc:  # fail open, whatever went wrong
            if _flag(env, "TESSERA_HOOK_DEBUG", False):
                print(f"tessera-mcp hook {event}: {describe_error(exc, None)}", file=sys.stderr)
            output = {}
    stdout.write(json.dumps(output) + "\n")
    stdout.flush()
    return 0
