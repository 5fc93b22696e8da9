"""Reading the conversation histories that chat products export.

Two shapes are read, both a JSON array of conversations in a file named
``conversations.json`` inside the account-data export:

- **ChatGPT**: each conversation has ``id`` (or ``conversation_id``), ``title``,
  ``create_time`` (Unix seconds) and a ``mapping`` of nodes ``{id, message, parent,
  children}``; a message has ``id``, ``author.role``, ``create_time`` and ``content``
  (``content_type`` and ``parts``). Edits and regenerations branch the tree; the thread kept
  is the one that ends at ``current_node`` (the one shown), read from its root.
- **Claude**: each conversation has ``uuid``, ``name``, ``created_at`` (ISO 8601) and
  ``chat_messages``, each with ``uuid``, ``sender`` (``human`` or ``assistant``),
  ``created_at`` and ``text`` (or ``content``, a list of typed blocks).

A message that cannot become a turn is not dropped silently: it is listed with the reason
(a tool's output, an attachment without text, a hidden system prompt, a missing id).
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Literal

Source = Literal["chatgpt", "claude"]
SOURCES: tuple[Source, ...] = ("chatgpt", "claude")
Role = Literal["user", "assistant", "system"]
NO_TIME = "no time: neither the message nor the conversation says when"
# What every conversation of each product's export holds: its messages.
MESSAGES_KEY: dict[Source, str] = {"chatgpt": "mapping", "claude": "chat_messages"}


@dataclass(frozen=True)
class Skipped:
    """Something of the export that was not imported, and why."""

    conversation_id: str
    message_id: str | None
    reason: str


@dataclass(frozen=True)
class HistoryMessage:
    turn_id: str
    role: Role
    content: str
    event_time: datetime


@dataclass
class Conversation:
    id: str
    title: str
    messages: list[HistoryMessage] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)


class ExportFormatError(ValueError):
    """The file is not an export of the named product."""


def read_export(source: Source, path: str | os.PathLike[str]) -> list[Conversation]:
    """The conversations of an export file (``conversations.json``), in file order."""
    if source not in SOURCES:
        raise ExportFormatError(f"unknown export {source!r}; expected one of {', '.join(SOURCES)}")
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise ExportFormatError(
            f"{Path(path).name} is not JSON ({exc.msg}, line {exc.lineno})"
        ) from None
    if isinstance(data, dict) and isinstance(data.get("conversations"), list):
        data = data["conversations"]
    if not isinstance(data, list):
        raise ExportFormatError(
            f"{Path(path).name} is not a {source} conversations.json: expected a JSON array"
        )
    _check_shape(source, data, Path(path).name)
    parse = _chatgpt if source == "chatgpt" else _claude
    out: list[Conversation] = []
    for index, raw in enumerate(data):
        if not isinstance(raw, Mapping):
            out.append(Conversation(f"#{index}", "", skipped=[_bad(f"#{index}", "not an object")]))
            continue
        out.append(parse(raw, index))
    return out


def _check_shape(source: Source, data: list[Any], name: str) -> None:
    """Refuse a file none of whose conversations holds `source`'s messages: another
    product's export, or not an export at all, is a wrong file, not a list of conversations
    to skip one by one (one conversation without messages among others is only skipped)."""
    conversations = [raw for raw in data if isinstance(raw, Mapping)]
    key = MESSAGES_KEY[source]
    if not conversations or any(key in raw for raw in conversations):
        return
    other = next(
        (o for o, k in MESSAGES_KEY.items() if o != source and any(k in r for r in conversations)),
        None,
    )
    hint = f"; it looks like a {other} export: import it as `{other}`" if other else ""
    raise ExportFormatError(
        f"{name} is not a {source} conversations.json: none of its {len(conversations)} "
        f"conversation(s) has `{key}`{hint}"
    )


def _bad(conversation_id: str, reason: str) -> Skipped:
    return Skipped(conversation_id, None, f"conversation {reason}")


def _epoch(value: Any) -> datetime | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    try:
        return datetime.fromtimestamp(float(value), tz=timezone.utc)
    except (OverflowError, OSError, ValueError):
        return None


def _iso(value: Any) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=timezone.utc)


def _text(parts: Iterable[Any]) -> tuple[str, int]:
    """The text of content parts, and how many parts were not text (images, files)."""
    texts: list[str] = []
    other = 0
    for part in parts:
        if isinstance(part, str):
            if part.strip():
                texts.append(part)
        elif isinstance(part, Mapping) and isinstance(part.get("text"), str):
            if part.get("type", "text") == "text" and part["text"].strip():
                texts.append(part["text"])
            else:
                other += 1
        else:
            other += 1
    return "\n".join(texts).strip(), other


def _thread(mapping: Mapping[str, Any], current: Any) -> list[Mapping[str, Any]]:
    """The nodes of the thread shown (root to `current`), or, without a current node, the
    path that follows each node's last child (the latest edit or regeneration)."""
    if not isinstance(current, str) or current not in mapping:
        roots = [k for k, n in mapping.items() if isinstance(n, Mapping) and not n.get("parent")]
        current = roots[0] if roots else None
        while isinstance(current, str) and current in mapping:
            children = mapping[current].get("children") or []
            if not children or children[-1] not in mapping:
                break
            current = children[-1]
    path: list[Mapping[str, Any]] = []
    seen: set[str] = set()
    while isinstance(current, str) and current in mapping and current not in seen:
        seen.add(current)
        node = mapping[current]
        if not isinstance(node, Mapping):
            break
        path.append(node)
        current = node.get("parent")
    return list(reversed(path))


@dataclass(frozen=True)
class _Said:
    """A message a format reads as a turn; `at` is None when it has no time of its own."""

    turn_id: str
    role: Role
    content: str
    at: datetime | None


@dataclass(frozen=True)
class _Unread:
    """A message a format cannot read as a turn, and why."""

    message_id: str | None
    reason: str


def _gather(
    conv: Conversation, read: Iterable[_Said | _Unread], started: datetime | None
) -> Conversation:
    """What every format does with the messages it read: a message without a time of its own
    is dated by the one before it (the first by the conversation's start); one still
    without a time, or one that could not be read, is listed as skipped with the reason."""
    last = started
    for item in read:
        if isinstance(item, _Unread):
            conv.skipped.append(Skipped(conv.id, item.message_id, item.reason))
            continue
        when = item.at or last
        if when is None:
            conv.skipped.append(Skipped(conv.id, item.turn_id, NO_TIME))
            continue
        last = when
        conv.messages.append(HistoryMessage(item.turn_id, item.role, item.content, when))
    return conv


def _no_text(other: int) -> str:
    return "no text (an attachment or an empty message)" if other else "empty message"


def _conversation(
    raw: Mapping[str, Any], index: int, ids: Iterable[str], title: str
) -> Conversation:
    """An empty conversation named by the first of its `ids` it has, else by its place."""
    cid = next((str(raw[key]) for key in ids if raw.get(key)), f"#{index}")
    return Conversation(cid, str(raw.get(title) or ""))


def _unreadable(conv: Conversation, missing: str) -> Conversation:
    """The conversation with nothing read from it, and why: it has no `missing`."""
    conv.skipped.append(_bad(conv.id, f"has no {missing}"))
    return conv


def _chatgpt(raw: Mapping[str, Any], index: int) -> Conversation:
    conv = _conversation(raw, index, ("id", "conversation_id"), "title")
    mapping = raw.get("mapping")
    if not isinstance(mapping, Mapping):
        return _unreadable(conv, "message tree (`mapping`)")
    read = _chatgpt_messages(mapping, raw.get("current_node"))
    return _gather(conv, read, _epoch(raw.get("create_time")))


def _chatgpt_messages(mapping: Mapping[str, Any], current: Any) -> Iterator[_Said | _Unread]:
    for node in _thread(mapping, current):
        message = node.get("message")
        if not isinstance(message, Mapping):
            continue  # the tree's empty root
        mid = message.get("id") or node.get("id")
        role = (message.get("author") or {}).get("role")
        meta = message.get("metadata") or {}
        content = message.get("content") or {}
        kind = content.get("content_type", "text") if isinstance(content, Mapping) else None
        if not isinstance(mid, str) or not mid:
            yield _Unread(str(mid) if mid else None, "message without an id")
        elif role not in ("user", "assistant", "system"):
            yield _Unread(
                mid, f"{role or 'unknown'} message (tool output and the like are not turns)"
            )
        elif isinstance(meta, Mapping) and meta.get("is_visually_hidden_from_conversation"):
            yield _Unread(mid, "hidden from the conversation (a system or context message)")
        elif kind not in ("text", "multimodal_text"):
            yield _Unread(mid, f"{kind or 'unreadable'} content is not conversation text")
        else:
            text, other = _text(content.get("parts") or [])
            at = _epoch(message.get("create_time"))
            yield _Said(mid, role, text, at) if text else _Unread(mid, _no_text(other))


def _claude(raw: Mapping[str, Any], index: int) -> Conversation:
    conv = _conversation(raw, index, ("uuid", "id"), "name")
    messages = raw.get("chat_messages")
    if not isinstance(messages, list):
        return _unreadable(conv, "`chat_messages`")
    return _gather(conv, _claude_messages(messages), _iso(raw.get("created_at")))


def _claude_messages(messages: list[Any]) -> Iterator[_Said | _Unread]:
    roles: dict[Any, Literal["user", "assistant"]] = {"human": "user", "assistant": "assistant"}
    for message in messages:
        if not isinstance(message, Mapping):
            yield _Unread(None, "message is not an object")
            continue
        mid = message.get("uuid") or message.get("id")
        if not isinstance(mid, str) or not mid:
            yield _Unread(None, "message without an id")
            continue
        role = roles.get(message.get("sender"))
        if role is None:
            yield _Unread(mid, f"unknown sender {message.get('sender')!r}")
            continue
        text = message.get("text") if isinstance(message.get("text"), str) else ""
        other = 0
        if not str(text).strip():
            text, other = _text(message.get("content") or [])
        other += len(message.get("attachments") or []) + len(message.get("files") or [])
        if not str(text).strip():
            yield _Unread(mid, _no_text(other))
            continue
        yield _Said(mid, role, str(text).strip(), _iso(message.get("created_at")))
