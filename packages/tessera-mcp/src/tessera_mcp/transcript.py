"""Read a Claude Code session transcript (JSON Lines) into plain conversational turns.

Only what people and the model said is kept: user prompts and assistant text. Tool calls, tool
results (file contents, command output), thinking blocks, images, meta and sidechain (subagent)
entries are dropped; they are where most secrets and most noise live. Every kept turn is passed
through the redactor.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .redact import redact

MAX_TURN_CHARS = 8000
_REMINDER = re.compile(r"<system-reminder>.*?</system-reminder>", re.DOTALL)
_COMMAND_WRAPPER = re.compile(
    r"^\s*<(command-name|command-message|command-args|local-command-stdout)>"
)


@dataclass(frozen=True)
class Turn:
    role: str
    content: str
    turn_id: str | None


def _text_of(content: Any) -> str:
    if isinstance(content, str):
        return content
    if not isinstance(content, list):
        return ""
    parts: list[str] = []
    for block in content:
        if isinstance(block, dict) and block.get("type") == "text":
            text = block.get("text")
            if isinstance(text, str):
                parts.append(text)
    return "\n".join(parts)


def _clean(text: str) -> str:
    text = _REMINDER.sub("", text).strip()
    if len(text) > MAX_TURN_CHARS:
        text = text[:MAX_TURN_CHARS].rstrip() + " …[truncated]"
    return text


def parse_lines(lines: Iterable[str], known_secrets: Iterable[str] = ()) -> Iterator[Turn]:
    """Yield the redacted user/assistant turns of a transcript, in order."""
    secrets = list(known_secrets)
    for line in lines:
        line = line.strip()
        if not line:
            continue
        try:
            entry = json.loads(line)
        except json.JSONDecodeError:
            continue
        if not isinstance(entry, dict):
            continue
        kind = entry.get("type")
        if kind not in ("user", "assistant") or entry.get("isMeta") or entry.get("isSidechain"):
            continue
        message = entry.get("message")
        if not isinstance(message, dict):
            continue
        role = message.get("role") if message.get("role") in ("user", "assistant") else kind
        text = _clean(_text_of(message.get("content")))
        if not text or _COMMAND_WRAPPER.match(text):
            continue
        uuid = entry.get("uuid")
        turn_id = f"cc-{uuid}" if isinstance(uuid, str) and 0 < len(uuid) <= 64 else None
        yield Turn(role=str(role), content=redact(text, secrets), turn_id=turn_id)


def read_transcript(path: Path, known_secrets: Iterable[str] = ()) -> list[Turn]:
    """Parse a transcript file; an unreadable file yields no turns."""
    try:
        with path.open(encoding="utf-8", errors="replace") as handle:
            return list(parse_lines(handle, known_secrets))
    except OSError:
        return []
