"""What the service writes down: no keys and no request content in logs or error bodies."""

from __future__ import annotations

import json
import uuid

from server_helpers import Api, problem
from tessera_server.testing import ServiceHandle


def test_no_content_or_key_in_logs_or_error_bodies(
    api: Api, service: ServiceHandle, other_key: str, uid: str
) -> None:
    canary = f"canary{uuid.uuid4().hex}"
    fake_key = f"tsk_live_{canary}"
    # Accepted requests carrying the canary.
    api.sync_add(uid, f"I live in {canary}ville. My secret is {canary}.", metadata={"tag": canary})
    api.note(uid, f"note {canary}")
    api.search(f"where is {canary}", user_id=uid)
    api.query(f"what is {canary}", user_id=uid)
    # Refused requests carrying the canary: their problems must not echo it.
    refusals = [
        api.add(uid, f"{canary}\x00"),
        api.add(uid, canary * 6000),  # past TESSERA_MAX_TURN_CHARS (200,000)
        api.add(uid, canary, role=canary),
        api.add(uid, canary, mode=canary),
        api.add(uid, canary, event_time=canary),
        api.add(uid, canary, metadata={"deep": {"a": {"b": {"c": {"d": canary}}}}}),
        api.post("/v1/memories", {"user_id": uid, "content": {"text": canary}, "role": "user"}),
        api.post("/v1/memories", {"user_id": uid, "content": "x", "role": "user", "extra": canary}),
        api.post("/v1/search", {"user_id": uid, "query": canary, "top_k": canary}),
        api.post(
            "/v1/search",
            {
                "user_id": uid,
                "query": "x",
                "filters": [{"field": "importance", "op": "eq", "value": canary}],
            },
        ),
        api.post(
            "/v1/search",
            {
                "user_id": uid,
                "query": "x",
                "filters": [{"field": "role", "op": "eq", "value": canary}],
            },
        ),
        api.post("/v1/search", {"user_id": uid, "query": "x", "as_of": canary}),
        api.post(
            "/v1/procedures", {"user_id": uid, "trigger": canary, "steps": [], "success": canary}
        ),
        api.raw("POST", "/v1/memories", f'{{"content": "{canary}", '.encode(), "application/json"),
        api.post(
            "/v1/resources",
            {
                "user_id": uid,
                "blob_ref": canary,
                "mime": "image/png",
                "image_url": f"https://{canary}.example/x.png",
            },
        ),
    ]
    stranger = Api(service.base_url, fake_key)
    refusals.append(stranger.get("/v1/memories", user_id=uid))
    refusals.append(stranger.post("/v1/search", {"user_id": uid, "query": canary}))
    stranger.close()
    for response in refusals:
        assert 400 <= response.status_code < 500, response.text
        assert canary not in response.text, response.text
    logs = service.logs()
    assert canary not in logs
    for key in (service.api_key, other_key, fake_key):
        assert key not in logs
    assert "Traceback" not in logs


def test_problem_details_are_sanitized(api: Api, uid: str) -> None:
    body = problem(
        api.post(
            "/v1/search",
            {
                "user_id": uid,
                "query": "x",
                "filters": [{"field": "importance", "op": "gt", "value": 10**40}],
            },
        ),
        422,
    )
    text = json.dumps(body).lower()
    for leak in ("traceback", "sqlite", "select", "overflowerror", ".py"):
        assert leak not in text
