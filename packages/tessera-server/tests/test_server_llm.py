"""The LLM extractor behind an OpenAI-compatible endpoint (a fake one, on loopback)."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, ClassVar

import pytest
from server_helpers import Api, assert_clean_log
from tessera_server.testing import ServiceHandle, run_service

LLM_KEY = "sk-llm-secret-never-logged"


class FakeChat(BaseHTTPRequestHandler):
    """Answers /chat/completions according to `mode`; records what it was asked."""

    mode: ClassVar[str] = "good"
    requests: ClassVar[list[dict[str, Any]]] = []

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        FakeChat.requests.append({"body": body, "auth": self.headers.get("Authorization")})
        if FakeChat.mode == "down":
            self.send_response(503)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        if FakeChat.mode == "garbage":
            content = "this is not JSON at all"
        else:
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
                    {
                        "kind": "deadline",
                        "content": "Tax return due",
                        "turn": 0,
                        "due": "9999-12-31",
                    }
                ],
            }
            content = json.dumps(answer).replace("Infinity", "1e999")
        reply = json.dumps({"choices": [{"message": {"role": "assistant", "content": content}}]})
        data = reply.encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture(scope="module")
def llm_service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServiceHandle]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), FakeChat)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    env = {
        "TESSERA_LLM_BASE_URL": f"http://127.0.0.1:{server.server_address[1]}/v1",
        "TESSERA_LLM_MODEL": "fake-model",
        "TESSERA_LLM_API_KEY": LLM_KEY,
    }
    data_dir: Path = tmp_path_factory.mktemp("llm")
    try:
        with run_service(data_dir, env=env) as handle:
            yield handle
            logs = handle.logs()
            assert LLM_KEY not in logs
            assert_clean_log(logs)
    finally:
        server.shutdown()


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
