"""The LLM extractor against a scripted OpenAI-compatible server on loopback.

The server is a real `http.server` in a thread answering `POST /chat/completions` from a
script of replies; nothing of ours is patched. The last test starts the real service with
`TESSERA_LLM_BASE_URL` pointing at it.
"""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest
from tessera_server.engine.extract import Extraction, TurnView
from tessera_server.engine.extract.dates import PLAN_HORIZON_DAYS, TEMPORARY_STATE_DAYS
from tessera_server.engine.extract.llm import SCHEMA, LLMExtractor
from tessera_server.engine.extract.offline import OfflineExtractor
from tessera_server.providers.llm import OpenAICompatibleChat
from tessera_server.testing import run_service

WED = datetime(2024, 5, 8, 14, 0, tzinfo=timezone.utc)
KEY = "sk-scripted-test-key"


@dataclass
class Reply:
    """One scripted answer: a chat completion whose message content is `content`, or a bare
    HTTP `status` with no completion, optionally after a `delay` in seconds."""

    content: str | None = None
    status: int = 200
    delay: float = 0.0

    @staticmethod
    def json(answer: Any) -> Reply:
        return Reply(content=json.dumps(answer))


@dataclass
class Script:
    replies: list[Reply]
    requests: list[dict[str, Any]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def next(self, request: dict[str, Any]) -> Reply:
        with self.lock:
            self.requests.append(request)
            # The last reply repeats once the script runs out.
            return self.replies[min(len(self.requests), len(self.replies)) - 1]


def _handler(script: Script) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            body = json.loads(raw) if raw else None
            reply = script.next(
                {"path": self.path, "body": body, "auth": self.headers.get("Authorization")}
            )
            if reply.delay:
                time.sleep(reply.delay)
            if self.path != "/v1/chat/completions":
                reply = Reply(status=404)
            data = b""
            if reply.content is not None:
                completion = {
                    "id": "chatcmpl-scripted",
                    "object": "chat.completion",
                    "choices": [
                        {
                            "index": 0,
                            "message": {"role": "assistant", "content": reply.content},
                            "finish_reason": "stop",
                        }
                    ],
                }
                data = json.dumps(completion).encode()
            try:
                self.send_response(reply.status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client gave up waiting (the timeout test)

        def log_message(self, *args: Any) -> None:
            pass

    return Handler


@dataclass
class ScriptedServer:
    script: Script
    base_url: str


@pytest.fixture
def scripted() -> Iterator[Any]:
    """A factory: `scripted(reply, reply, …)` starts a server that answers in that order."""
    servers: list[ThreadingHTTPServer] = []

    def start(*replies: Reply) -> ScriptedServer:
        script = Script(list(replies))
        server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(script))
        server.daemon_threads = True
        threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
        servers.append(server)
        return ScriptedServer(script, f"http://127.0.0.1:{server.server_address[1]}/v1")

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


def extractor(base_url: str, timeout: float = 10.0) -> LLMExtractor:
    chat = OpenAICompatibleChat(base_url, KEY, "scripted-model", timeout)
    return LLMExtractor(chat, OfflineExtractor())


TURNS = [
    TurnView(0, "User", "user", "I just moved to Valparaíso for a job at Quillbright.", WED),
    TurnView(1, "Assistant", "assistant", "Congratulations! How is it going?", WED),
    TurnView(2, "User", "user", "Great. I'm flying to Lima next Friday. I'm sick today.", WED),
]

GOOD = {
    "facts": [
        {
            "subject": "User",
            "relation": "Lives In",
            "object": "Valparaíso",
            "text": "User lives in Valparaíso",
            "confidence": 0.9,
            "functional": True,
            "negated": False,
            "turn": 0,
        },
        {
            "subject": "User",
            "relation": "works_at",
            "object": "Quillbright",
            "text": "User works at Quillbright",
            "confidence": 1e999,  # out of range: clamped
            "functional": True,
            "negated": False,
            "turn": 0,
        },
    ],
    "foresight": [
        {"kind": "plan", "content": "Flying to Lima", "turn": 2, "due": "2024-05-17"},
        {"kind": "temporary_state", "content": "Sick", "turn": 2, "due": None},
    ],
}


def summary(out: Extraction) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]:
    facts = [(f.turn_index, f.subject, f.relation, f.object, f.negated) for f in out.facts]
    fore = [(f.turn_index, f.kind, f.due_at, f.expires_at) for f in out.foresight]
    return facts, fore


# -- a good answer ---------------------------------------------------------------------------


def test_a_good_structured_answer_becomes_facts_and_foresight(scripted: Any) -> None:
    server = scripted(Reply.json(GOOD))
    out = extractor(server.base_url).extract(TURNS)

    assert out.llm_calls == 1
    assert len(server.script.requests) == 1  # one call for the whole batch
    facts, fore = summary(out)
    assert facts == [
        (0, "User", "lives_in", "Valparaíso", False),
        (0, "User", "works_at", "Quillbright", False),
    ]
    assert [f.confidence for f in out.facts] == [0.9, 1.0]
    assert all(f.t_valid == WED for f in out.facts)
    friday = datetime(2024, 5, 17, tzinfo=timezone.utc)
    assert fore == [
        (2, "plan", friday, friday + timedelta(days=1)),
        (2, "temporary_state", None, WED + timedelta(days=TEMPORARY_STATE_DAYS)),
    ]


def test_the_request_is_an_openai_style_structured_output_call(scripted: Any) -> None:
    server = scripted(Reply.json(GOOD))
    extractor(server.base_url).extract(TURNS)
    [request] = server.script.requests
    assert request["path"] == "/v1/chat/completions"
    assert request["auth"] == f"Bearer {KEY}"
    body = request["body"]
    assert body["model"] == "scripted-model"
    assert body["temperature"] == 0
    assert body["response_format"]["type"] == "json_schema"
    assert body["response_format"]["json_schema"]["schema"] == SCHEMA
    assert body["response_format"]["json_schema"]["strict"] is True
    system, user = body["messages"]
    assert system["role"] == "system" and user["role"] == "user"
    # Every turn is in the one prompt, with its index, date and speaker.
    for turn in TURNS:
        assert f"[{turn.index}] (2024-05-08 14:00) {turn.speaker}: {turn.text}" in user["content"]


def test_due_dates_are_read_in_the_turn_time_zone_and_phrases_are_resolved(scripted: Any) -> None:
    tz = timezone(timedelta(hours=-4))
    turn = TurnView(
        0, "User", "user", "I'm off to Lima on Friday, taxes are due soon.", WED.astimezone(tz)
    )
    answer = {
        "facts": [],
        "foresight": [
            {"kind": "plan", "content": "Lima", "turn": 0, "due": "next Friday"},
            {"kind": "deadline", "content": "Taxes", "turn": 0, "due": "2024-05-20T09:30:00"},
            {"kind": "plan", "content": "Someday", "turn": 0, "due": "whenever"},
            {"kind": "deadline", "content": "Far", "turn": 0, "due": "9999-12-31"},
        ],
    }
    server = scripted(Reply.json(answer))
    out = extractor(server.base_url).extract([turn])
    assert out.llm_calls == 1
    lima, taxes, someday, far = out.foresight
    assert lima.due_at is not None and lima.due_at.date().isoformat() == "2024-05-17"
    assert taxes.due_at == datetime(2024, 5, 20, 9, 30, tzinfo=tz)
    assert taxes.expires_at == datetime(2024, 5, 21, tzinfo=tz)
    assert someday.due_at is None
    assert someday.expires_at == turn.event_time + timedelta(days=PLAN_HORIZON_DAYS)
    assert far.expires_at is not None and far.expires_at.year == 9999  # saturates


def test_an_empty_fact_is_dropped_without_spoiling_the_rest(scripted: Any) -> None:
    answer = {
        "facts": [
            {**GOOD["facts"][0], "object": "  "},
            GOOD["facts"][1],
        ],
        "foresight": [],
    }
    server = scripted(Reply.json(answer))
    out = extractor(server.base_url).extract(TURNS)
    assert out.llm_calls == 1
    assert [(f.relation, f.object) for f in out.facts] == [("works_at", "Quillbright")]


# -- malformed answers -----------------------------------------------------------------------


MALFORMED = {
    "not JSON": Reply(content="Sure! Here are the facts: User lives in Valparaíso."),
    "a JSON list": Reply.json([GOOD]),
    "no foresight key": Reply.json({"facts": []}),
    "a turn outside the batch": Reply.json({**GOOD, "facts": [{**GOOD["facts"][0], "turn": 7}]}),
    "an unknown kind": Reply.json(
        {"facts": [], "foresight": [{"kind": "wish", "content": "x", "turn": 0, "due": None}]}
    ),
    "a string confidence": Reply.json(
        {"facts": [{**GOOD["facts"][0], "confidence": "high"}], "foresight": []}
    ),
    "no choices": Reply(content=None),
}


@pytest.mark.parametrize("bad", list(MALFORMED.values()), ids=list(MALFORMED))
def test_a_malformed_first_answer_is_retried_once(scripted: Any, bad: Reply) -> None:
    server = scripted(bad, Reply.json(GOOD))
    out = extractor(server.base_url).extract(TURNS)
    assert out.llm_calls == 2
    assert len(server.script.requests) == 2
    assert summary(out) == summary(extractor(scripted(Reply.json(GOOD)).base_url).extract(TURNS))


def test_malformed_twice_falls_back_to_the_offline_extractor(scripted: Any) -> None:
    server = scripted(MALFORMED["not JSON"], MALFORMED["an unknown kind"], Reply.json(GOOD))
    out = extractor(server.base_url).extract(TURNS)
    assert out.llm_calls == 2  # both calls counted, no third
    assert len(server.script.requests) == 2
    offline = OfflineExtractor().extract(TURNS)
    # Nothing lost: exactly what the offline extractor finds in the same turns.
    assert summary(out) == summary(offline)
    assert ("User", "lives_in", "Valparaíso") in {
        (f.subject, f.relation, f.object) for f in out.facts
    }
    assert {f.kind for f in out.foresight} == {"plan", "temporary_state"}


# -- an unreachable or failing server ----------------------------------------------------------


@pytest.mark.parametrize("status", [500, 503, 429, 401])
def test_an_http_error_falls_back_after_one_retry(scripted: Any, status: int) -> None:
    server = scripted(Reply(status=status))
    out = extractor(server.base_url).extract(TURNS)
    assert out.llm_calls == 2
    assert summary(out) == summary(OfflineExtractor().extract(TURNS))


def test_an_error_then_a_good_answer_uses_the_answer(scripted: Any) -> None:
    server = scripted(Reply(status=500), Reply.json(GOOD))
    out = extractor(server.base_url).extract(TURNS)
    assert out.llm_calls == 2
    assert [f.object for f in out.facts] == ["Valparaíso", "Quillbright"]


def test_a_server_that_is_down_falls_back(tmp_path: Path) -> None:
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    out = extractor(f"http://127.0.0.1:{port}/v1").extract(TURNS)
    assert out.llm_calls == 0  # no call got through: nothing reads as LLM extraction
    assert summary(out) == summary(OfflineExtractor().extract(TURNS))


def test_a_server_that_hangs_falls_back_after_the_timeout(scripted: Any) -> None:
    server = scripted(Reply(content=json.dumps(GOOD), delay=1.5))
    out = extractor(server.base_url, timeout=0.3).extract(TURNS)
    assert out.llm_calls == 0  # neither call was answered in time
    assert summary(out) == summary(OfflineExtractor().extract(TURNS))


# -- end to end --------------------------------------------------------------------------------


def test_the_service_uses_the_scripted_model_and_its_facts_become_searchable(
    scripted: Any, tmp_path: Path
) -> None:
    answer = {
        "facts": [
            {
                "subject": "User",
                "relation": "works_at",
                "object": "Quillbright Labs",
                "text": "User works at Quillbright Labs",
                "confidence": 0.95,
                "functional": True,
                "negated": False,
                "turn": 0,
            }
        ],
        "foresight": [
            {"kind": "deadline", "content": "Visa paperwork", "turn": 0, "due": "2030-01-15"}
        ],
    }
    server = scripted(Reply.json(answer))
    env = {
        "TESSERA_LLM_BASE_URL": server.base_url,
        "TESSERA_LLM_MODEL": "scripted-model",
        "TESSERA_LLM_API_KEY": KEY,
    }
    with (
        run_service(tmp_path / "svc", env=env) as service,
        httpx.Client(
            base_url=service.base_url,
            headers={"Authorization": f"Bearer {service.api_key}"},
            timeout=60,
        ) as http,
    ):
        added = http.post(
            "/v1/memories",
            json={
                "user_id": "u-llm",
                "role": "user",
                "content": "Started at the new lab this week, visa paperwork is due mid-January.",
                "mode": "sync",
            },
        )
        assert added.status_code == 200, added.text
        consolidation = added.json()["consolidation"]
        assert consolidation["llm_calls"] >= 1
        assert consolidation["facts_created"] == 1
        assert consolidation["foresight_created"] == 1
        assert consolidation["turns_consolidated"] == 1

        found = http.post("/v1/search", json={"user_id": "u-llm", "query": "Quillbright Labs"})
        assert found.status_code == 200, found.text
        texts = [hit["text"] for hit in found.json()["results"]]
        assert "User works at Quillbright Labs" in texts
        logs = service.logs()
    assert server.script.requests, "the service never called the scripted model"
    assert server.script.requests[0]["body"]["model"] == "scripted-model"
    assert "Started at the new lab" in server.script.requests[0]["body"]["messages"][1]["content"]
    assert KEY not in logs
