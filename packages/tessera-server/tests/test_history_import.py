"""Importing a ChatGPT or Claude history (`tessera import chatgpt|claude`, and the SDK's
`tessera_memory.history.import_history`) into a real service over HTTP.

The fixtures under `fixtures/history/` are small exports of our own in the products'
`conversations.json` shapes, listing the newest conversation first (as the exports do):
the import is the end-to-end test of facts placed by valid time whatever the order.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from server_helpers import Api
from tessera_memory import Tessera
from tessera_memory.history import ExportFormatError, ImportProgress, import_history
from tessera_server.testing import ServiceHandle

HISTORY = Path(__file__).parent / "fixtures" / "history"


def tessera(service: ServiceHandle, *args: str) -> subprocess.CompletedProcess[str]:
    """`tessera <args>` as a user runs it beside the service, with the key in the env."""
    env = {**service.env, "TESSERA_API_KEY": service.api_key, "TESSERA_BASE_URL": service.base_url}
    return subprocess.run(
        [sys.executable, "-m", "tessera_server", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


def fact_texts(api: Api, uid: str, question: str, **travel: str) -> list[str]:
    hits = api.search(question, user_id=uid, types=["fact"], **travel)
    return sorted(h["text"] for h in hits)


def consolidate(api: Api, uid: str) -> None:
    response = api.post("/v1/consolidate?sync=true", {"user_id": uid})
    assert response.status_code == 200, response.text


def test_cli_imports_a_chatgpt_history_listed_newest_first_and_places_facts_by_time(
    service: ServiceHandle, api: Api, uid: str, tmp_path: Path
) -> None:
    export = tmp_path / "conversations.json"
    export.write_text((HISTORY / "chatgpt_conversations.json").read_text("utf-8"), "utf-8")

    done = tessera(service, "import", "chatgpt", str(export), "--user-id", uid)
    assert done.returncode == 0, done.stderr
    assert "[1/2] Moving to Lisbon" in done.stderr and "[2/2] Berlin life" in done.stderr
    assert "imported 2 conversation(s): 6 turn(s) stored, 0 already present" in done.stdout
    assert "tool message" in done.stdout and "no text (an attachment" in done.stdout
    assert "hidden from the conversation" in done.stdout
    consolidate(api, uid)

    assert fact_texts(api, uid, "where does the user live") == ["User lives in Lisbon"]
    assert fact_texts(api, uid, "where does the user live", as_of="2023-06-01T00:00:00Z") == [
        "User lives in Berlin"
    ]
    # turns keep their ids, roles and times; each conversation is its own session
    berlin = api.items(user_id=uid, session_id="conv-berlin")
    episodes = [i for i in berlin if i["type"] == "episode"]
    turn_ids = sorted(t for e in episodes for t in e["metadata"]["tessera"]["source_turn_ids"])
    assert turn_ids == ["b-1", "b-2", "b-3", "b-6"]  # the edited-away branch is not imported
    assert min(e["metadata"]["tessera"]["event_time"] for e in episodes).startswith(
        "2023-01-10T09:00:00"
    )
    assert all(e["metadata"]["source"] == "chatgpt" for e in episodes)
    assert any("Assistant: Berlin is a great city" in e["text"] for e in episodes)

    again = tessera(service, "import", "chatgpt", str(export), "--user-id", uid, "--state", "none")
    assert again.returncode == 0, again.stderr
    assert "6 turn(s) stored" not in again.stdout
    assert "0 turn(s) stored, 6 already present" in again.stdout


def test_sdk_imports_a_claude_history_and_reports_what_it_skipped(
    service: ServiceHandle, api: Api, uid: str
) -> None:
    seen: list[ImportProgress] = []
    with Tessera(api_key=service.api_key, base_url=service.base_url) as client:
        report = import_history(
            client,
            "claude",
            HISTORY / "claude_conversations.json",
            user_id=uid,
            progress=seen.append,
        )
    assert (report.conversations, report.turns_created, report.turns_present) == (2, 4, 0)
    assert [(s.message_id, s.reason) for s in report.skipped] == [
        ("c2-m2", "no text (an attachment or an empty message)")
    ]
    assert [(p.done, p.total, p.title) for p in seen] == [(1, 2, "New job"), (2, 2, "Old job")]
    assert report.job_id is not None and report.job_id.startswith("job_")
    consolidate(api, uid)

    question = "where does the user work"
    assert fact_texts(api, uid, question) == ["User works at Initech"]
    assert fact_texts(api, uid, question, as_of="2023-01-01T00:00:00Z") == ["User works at Acme"]


def test_an_interrupted_import_resumes_after_the_conversations_it_finished(
    service: ServiceHandle, uid: str, tmp_path: Path
) -> None:
    state = tmp_path / "state.json"

    def stop_after_first(progress: ImportProgress) -> None:
        if progress.done == 1:
            raise KeyboardInterrupt

    with Tessera(api_key=service.api_key, base_url=service.base_url) as client:
        with pytest.raises(KeyboardInterrupt):
            import_history(
                client,
                "chatgpt",
                HISTORY / "chatgpt_conversations.json",
                user_id=uid,
                state_path=state,
                progress=stop_after_first,
            )
        assert list(json.loads(state.read_text("utf-8"))["done"]) == ["conv-lisbon"]
        resumed = import_history(
            client, "chatgpt", HISTORY / "chatgpt_conversations.json", user_id=uid, state_path=state
        )
    assert (resumed.resumed, resumed.conversations, resumed.turns_created) == (1, 1, 4)
    assert resumed.turns_present == 0  # the finished conversation was not even resent

    # a newer export continues a finished conversation: only that one is sent again
    newer = json.loads((HISTORY / "chatgpt_conversations.json").read_text("utf-8"))
    lisbon = newer[0]
    lisbon["mapping"]["a-2"]["children"] = ["a-3"]
    lisbon["mapping"]["a-3"] = {
        "id": "a-3",
        "parent": "a-2",
        "children": [],
        "message": {
            "id": "a-3",
            "author": {"role": "user"},
            "create_time": 1717232500.0,
            "content": {"content_type": "text", "parts": ["The flat is in Alfama."]},
        },
    }
    lisbon["current_node"] = "a-3"
    export = tmp_path / "conversations.json"
    export.write_text(json.dumps(newer), "utf-8")
    with Tessera(api_key=service.api_key, base_url=service.base_url) as client:
        later = import_history(client, "chatgpt", export, user_id=uid, state_path=state)
    assert (later.resumed, later.turns_created, later.turns_present) == (1, 1, 2)


def test_a_message_the_service_refuses_is_skipped_with_its_reason_and_the_rest_is_stored(
    service: ServiceHandle, api: Api, uid: str, tmp_path: Path
) -> None:
    refused = "pasted binary \x00 junk"  # the service refuses a NUL character (422)
    export = tmp_path / "conversations.json"
    conversation: dict[str, Any] = {
        "uuid": "conv-long",
        "name": "Long paste",
        "created_at": "2024-01-01T00:00:00Z",
        "chat_messages": [
            {
                "uuid": "l-1",
                "sender": "human",
                "text": "I live in Oslo.",
                "created_at": "2024-01-01T00:00:00Z",
            },
            {
                "uuid": "l-2",
                "sender": "human",
                "text": refused,
                "created_at": "2024-01-01T00:01:00Z",
            },
            {
                "uuid": "l-3",
                "sender": "assistant",
                "text": "Oslo is lovely.",
                "created_at": "2024-01-01T00:02:00Z",
            },
        ],
    }
    export.write_text(json.dumps([conversation]), "utf-8")
    with Tessera(api_key=service.api_key, base_url=service.base_url) as client:
        report = import_history(client, "claude", export, user_id=uid, consolidate=False)
    assert report.turns_created == 2
    [skipped] = report.skipped
    assert skipped.message_id == "l-2" and "refused by the service (422" in skipped.reason
    assert "junk" not in skipped.reason


def test_a_file_that_is_not_an_export_imports_nothing(
    service: ServiceHandle, uid: str, tmp_path: Path
) -> None:
    wrong = tmp_path / "conversations.json"
    wrong.write_text('{"not": "an export"}', "utf-8")
    with (
        Tessera(api_key=service.api_key, base_url=service.base_url) as client,
        pytest.raises(ExportFormatError, match="expected a JSON array"),
    ):
        import_history(client, "chatgpt", wrong, user_id=uid)
    broken = tmp_path / "broken.json"
    broken.write_text("[{", "utf-8")
    done = tessera(service, "import", "claude", str(broken), "--user-id", uid)
    assert done.returncode == 1 and "nothing imported" in done.stderr and "not JSON" in done.stderr
    usage = tessera(service, "import", "claude", str(broken))
    assert usage.returncode == 2 and "--user-id" in usage.stderr
