"""The LLM extractor behind an OpenAI-compatible endpoint (a fake one, on loopback)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any, ClassVar

import pytest
from server_helpers import Api, ScriptedChat, assert_clean_log, chat, scripted_service
from tessera_server.testing import ServiceHandle

LLM_KEY = "sk-llm-secret-never-logged"


class FakeChat(ScriptedChat):
    """Answers according to `mode`; records what it was asked."""

    mode: ClassVar[str] = "good"
    requests: ClassVar[list[dict[str, Any]]] = []

    def answer(self, body: dict[str, Any], raw: bytes) -> tuple[int, str]:
        FakeChat.requests.append({"body": body, "auth": self.headers.get("Authorization")})
        if FakeChat.mode == "down":
            return 503, ""
        if FakeChat.mode == "garbage":
            return 200, chat("this is not JSON at all")
        answer = {
            "facts": [
                {
                    "subject": "User",
                    "relation": "lives in",
                    "object": "Valencia",
                    "text": "User lives in Valencia",
                    "confidence": 1e999,  # out of range: clamped, never stored as inf
                    "functional": True,
                    "negated": False,
                    "turn": 0,
                }
            ],
            "foresight": [
                {"kind": "deadline", "content": "Tax return due", "turn": 0, "due": "9999-12-31"}
            ],
        }
        return 200, chat(json.dumps(answer).replace("Infinity", "1e999"))


@pytest.fixture(scope="module")
def llm_service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServiceHandle]:
    folder = tmp_path_factory.mktemp("llm")
    with scripted_service(folder, FakeChat, llm="fake-model", key=LLM_KEY) as handle:
        yield handle
        logs = handle.logs()
        assert LLM_KEY not in logs
        assert_clean_log(logs)


@pytest.fixture
def llm(llm_service: ServiceHandle) -> Iterator[Api]:
    FakeChat.mode = "good"
    client = Api(llm_service.base_url, llm_service.api_key, secrets=[LLM_KEY])
    yield client
    client.close()


def test_llm_extraction_is_used_and_counted(llm: Api, uid: str) -> None:
    before = len(FakeChat.requests)
    summary = llm.sync_add(uid, "Just moved, the flat in Valencia is lovely.")["consolidation"]
    assert summary["llm_calls"] == 1
    assert summary["facts_created"] == 1 and summary["foresight_created"] == 1
    asked = FakeChat.requests[before]
    assert asked["auth"] == f"Bearer {LLM_KEY}"
    assert asked["body"]["model"] == "fake-model"
    assert asked["body"]["response_format"]["type"] == "json_schema"
    assert "Valencia" in asked["body"]["messages"][1]["content"]
    fact = llm.facts(user_id=uid)[0]
    assert fact["text"] == "User lives in Valencia"
    assert fact["metadata"]["tessera"]["relation"] == "lives_in"
    assert fact["metadata"]["tessera"]["confidence"] == 1.0
    assert llm.query("home", user_id=uid)["portrait"] == {"User": {"lives_in": "Valencia"}}


def test_search_never_calls_the_llm(llm: Api, uid: str) -> None:
    llm.note(uid, "a note about paella")
    before = len(FakeChat.requests)
    llm.search("paella", user_id=uid)
    llm.query("paella", user_id=uid, mode="reasoning")
    assert len(FakeChat.requests) == before


@pytest.mark.parametrize("mode", ["garbage", "down"])
def test_a_failing_llm_falls_back_to_the_offline_extractor(llm: Api, uid: str, mode: str) -> None:
    FakeChat.mode = mode
    summary = llm.sync_add(uid, "I live in Seville.")["consolidation"]
    assert summary["llm_calls"] == 2  # one retry, then offline
    assert summary["turns_consolidated"] == 1
    assert [f["text"] for f in llm.facts(user_id=uid)] == ["User lives in Seville"]
    # Chat queries keep working without the model.
    answer = llm.query("where do I live", user_id=uid)
    assert answer["portrait"] == {"User": {"lives_in": "Seville"}}
