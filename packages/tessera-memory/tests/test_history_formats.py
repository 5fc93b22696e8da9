"""Reading exports: the thread shown, times carried forward, and nothing dropped silently."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from tessera_memory.history_formats import ExportFormatError, read_export


def write(tmp_path: Path, data: object) -> Path:
    path = tmp_path / "conversations.json"
    path.write_text(json.dumps(data), "utf-8")
    return path


def message(mid: str, role: str, text: str, when: float | None) -> dict[str, object]:
    return {
        "id": mid,
        "author": {"role": role},
        "create_time": when,
        "content": {"content_type": "text", "parts": [text]},
    }


def test_chatgpt_without_a_current_node_follows_the_latest_branch(tmp_path: Path) -> None:
    mapping = {
        "r": {"id": "r", "message": None, "parent": None, "children": ["q"]},
        "q": {
            "id": "q",
            "message": message("q", "user", "Hi", 100.0),
            "parent": "r",
            "children": ["a1", "a2"],
        },
        "a1": {
            "id": "a1",
            "message": message("a1", "assistant", "first try", 101.0),
            "parent": "q",
            "children": [],
        },
        "a2": {
            "id": "a2",
            "message": message("a2", "assistant", "regenerated", None),
            "parent": "q",
            "children": [],
        },
    }
    [conv] = read_export(
        "chatgpt",
        write(tmp_path, [{"id": "c", "title": "t", "create_time": 99.0, "mapping": mapping}]),
    )
    assert [(m.turn_id, m.content) for m in conv.messages] == [("q", "Hi"), ("a2", "regenerated")]
    # a message without its own time takes the time of the message before it
    assert conv.messages[1].event_time == conv.messages[0].event_time


def test_claude_reads_text_blocks_and_lists_what_it_cannot_import(tmp_path: Path) -> None:
    data = [
        {
            "uuid": "c",
            "name": "n",
            "created_at": "2024-01-01T00:00:00Z",
            "chat_messages": [
                {
                    "uuid": "m1",
                    "sender": "human",
                    "text": "",
                    "content": [{"type": "text", "text": "Hello"}],
                    "created_at": "2024-01-01T00:00:01Z",
                },
                {"uuid": "m2", "sender": "robot", "text": "beep"},
                {"sender": "human", "text": "no id"},
                {"uuid": "m4", "sender": "assistant", "text": "   "},
            ],
        },
        "not a conversation",
    ]
    first, second = read_export("claude", write(tmp_path, data))
    assert [(m.turn_id, m.role, m.content) for m in first.messages] == [("m1", "user", "Hello")]
    assert [s.reason for s in first.skipped] == [
        "unknown sender 'robot'",
        "message without an id",
        "empty message",
    ]
    assert [s.reason for s in second.skipped] == ["conversation not an object"]


def test_a_wrong_file_is_refused_before_anything_is_read(tmp_path: Path) -> None:
    with pytest.raises(ExportFormatError, match="expected a JSON array"):
        read_export("claude", write(tmp_path, {"chat_messages": []}))
    with pytest.raises(ExportFormatError, match="unknown export"):
        read_export("gemini", write(tmp_path, []))  # type: ignore[arg-type]


def test_another_products_export_is_refused_not_skipped(tmp_path: Path) -> None:
    """docs/guides/importing-history.md: `ExportFormatError` (nothing sent) when the file is
    not such an export. A Claude export read as ChatGPT's (or the reverse) was accepted, and
    every conversation skipped one by one, with a success exit."""
    claude = [{"uuid": "c1", "name": "t", "chat_messages": []}, {"uuid": "c2", "name": "u"}]
    chatgpt = [{"id": "c1", "title": "t", "mapping": {}}]
    with pytest.raises(ExportFormatError, match=r"has `mapping`.*a claude export.*`claude`"):
        read_export("chatgpt", write(tmp_path, claude))
    with pytest.raises(ExportFormatError, match=r"has `chat_messages`.*a chatgpt export"):
        read_export("claude", write(tmp_path, chatgpt))
    with pytest.raises(ExportFormatError, match="none of its 1 conversation"):
        read_export("claude", write(tmp_path, [{"title": "neither"}]))
    # One conversation without messages among good ones is only skipped, as before.
    mixed = read_export("claude", write(tmp_path, claude))
    assert [c.id for c in mixed] == ["c1", "c2"]
    assert [s.reason for s in mixed[1].skipped] == ["conversation has no `chat_messages`"]
    assert read_export("claude", write(tmp_path, [])) == []
