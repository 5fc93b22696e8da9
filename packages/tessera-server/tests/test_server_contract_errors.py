"""The errors the contract and the errors page promise, for each class of request.

- `pin`/`unpin` of an episode that is not in the caller's scope is 404, one and the same 404
  whether the id never existed, is another user's or another tenant's (both backends).
- A body in a media type the route does not read is 415 `unsupported-media-type`.
- A problem's `detail` never repeats a value the caller sent.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

import httpx
import pytest
from server_helpers import Api, problem
from tessera_server.testing import ServiceHandle

MISSING = "ep_00000000-0000-4000-8000-000000000000"


def _without_instance(response: httpx.Response) -> dict[str, Any]:
    body: dict[str, Any] = response.json()
    body.pop("instance")
    return body


def test_pin_and_unpin_give_one_404_for_every_episode_outside_the_scope(
    either: ServiceHandle, uid: str
) -> None:
    mine = Api(either.base_url, either.api_key)
    theirs = Api(either.base_url, either.create_key("pin-neighbour"), secrets=[either.api_key])
    try:
        own = mine.note(uid, "my own note") and mine.episodes(user_id=uid)[0]["id"]
        mine.note(f"{uid}-b", "another user's note")
        other_users = mine.episodes(user_id=f"{uid}-b")[0]["id"]
        theirs.note(uid, "another tenant's note")
        other_tenants = theirs.episodes(user_id=uid)[0]["id"]
        for method in ("POST", "DELETE"):
            answers = [
                mine.http.request(method, f"/v1/memories/{item}/pin", json={"user_id": uid})
                for item in (MISSING, other_users, other_tenants)
            ]
            for response in answers:
                problem(response, 404)
                assert response.json()["type"].endswith("#not-found")
            bodies = [_without_instance(r) for r in answers]
            assert bodies[0] == bodies[1] == bodies[2]
        # The neighbours' episodes are untouched and the caller's own pin works as before.
        assert theirs.get(f"/v1/memories/{other_tenants}", user_id=uid).status_code == 200
        first = mine.post(f"/v1/memories/{own}/pin", {"user_id": uid})
        assert first.status_code == 200 and first.json() == {
            "id": own,
            "pinned": True,
            "changed": True,
        }
        again = mine.post(f"/v1/memories/{own}/pin", {"user_id": uid})
        assert again.status_code == 200 and again.json()["changed"] is False
        off = mine.delete(f"/v1/memories/{own}/pin", {"user_id": uid})
        assert off.status_code == 200 and off.json()["pinned"] is False
    finally:
        mine.close()
        theirs.close()


def _operations(api: Api) -> list[tuple[str, str, str]]:
    """(method, path, media type) of every operation that takes a body."""
    spec = api.get("/openapi.json").json()
    out = []
    for path, ops in spec["paths"].items():
        for method, op in ops.items():
            for media in op.get("requestBody", {}).get("content", {}):
                out.append((method.upper(), path, media))
    return out


def _concrete(path: str) -> str:
    return path.replace("{item_id}", MISSING).replace("{turn_id}", "t1")


def test_a_body_in_a_media_type_the_route_does_not_read_is_415(api: Api, uid: str) -> None:
    as_json = json.dumps({"user_id": uid, "content": "x", "role": "user"}).encode()
    wrong_for_json: list[tuple[str | None, bytes]] = [
        ("application/x-www-form-urlencoded", b"user_id=u&content=x&role=user"),
        ("text/plain", as_json),
        (None, as_json),
        ("multipart/form-data; boundary=b", b"--b\r\n\r\nx\r\n--b--\r\n"),
        ("application/xml", b"<a/>"),
    ]
    wrong_for_upload: list[tuple[str | None, bytes]] = [
        ("application/json", as_json),
        ("text/plain", b"x"),
        ("application/x-www-form-urlencoded", b"blob_ref=b"),
        (None, b"x"),
    ]
    operations = _operations(api)
    assert len(operations) > 15
    for method, path, media in operations:
        cases = wrong_for_upload if media == "multipart/form-data" else wrong_for_json
        for ctype, content in cases:
            headers = {"Content-Type": ctype} if ctype else {}
            response = api.http.request(method, _concrete(path), content=content, headers=headers)
            body = problem(response, 415, media)
            assert body["type"].endswith("#unsupported-media-type")
    # JSON with parameters, or a +json type, is JSON.
    for ctype in ("application/json; charset=utf-8", "application/merge-patch+json"):
        response = api.raw(
            "POST", "/v1/search", json.dumps({"user_id": uid, "query": "x"}).encode(), ctype
        )
        assert response.status_code == 200, response.text
    assert api.items(user_id=uid) == []


def test_problem_details_never_repeat_what_the_caller_sent(api: Api, uid: str) -> None:
    mark = f"zz{uuid.uuid4().hex[:12]}"
    search = {"user_id": uid, "query": "x"}
    refused = [
        api.post("/v1/memories", {"user_id": uid, "content": "x", "role": "user", mark: 1}),
        api.post("/v1/search", {**search, "filters": [{"field": mark, "op": "eq", "value": 1}]}),
        api.post(
            "/v1/search",
            {**search, "filters": [{"field": f"metadata.{mark}!", "op": "eq", "value": 1}]},
        ),
        api.post(
            "/v1/search",
            {**search, "filters": [{"field": f"metadata.{mark}", "op": "eq", "value": [mark]}]},
        ),
        api.post(
            "/v1/search",
            {**search, "filters": [{"field": f"metadata.{mark}", "op": "gt", "value": True}]},
        ),
        api.post(
            "/v1/search",
            {**search, "filters": [{"field": "event_time", "op": "gt", "value": mark}]},
        ),
        api.post(
            "/v1/search", {**search, "filters": [{"field": "role", "op": "eq", "value": mark}]}
        ),
        api.post("/v1/search", {**search, "filters": [{"field": mark, "op": "in", "value": 1}]}),
        api.get(f"/v1/memories/ep_{mark}", user_id=uid),
        api.get(f"/v1/memories/{mark}", user_id=uid),
        api.get(f"/v1/memories/ft_{mark}", user_id=uid),
        api.patch(f"/v1/memories/{MISSING}", {"user_id": uid, "object": mark}),
        api.post(f"/v1/memories/ft_{mark}/pin", {"user_id": uid}),
        api.get(f"/v1/jobs/job_{mark}"),
        api.get(f"/v1/jobs/{mark}"),
        api.get("/v1/memories", user_id=uid, cursor=mark),
        api.http.get("/v1/memories", params=[("user_id", mark), ("user_id", mark)]),
        api.post("/v1/memories", {"user_id": f"{mark}\x01", "content": "x", "role": "user"}),
        api.post("/v1/memories", {"user_id": uid, "content": "x", "role": mark}),
        api.post(
            "/v1/memories", {"user_id": uid, "content": "x", "role": "user", "event_time": mark}
        ),
        api.post("/v1/memories", {"user_id": uid, "content": "x", "role": "user", "turn_id": "."}),
        api.post(f"/v1/{mark}", {"user_id": uid}),
        api.http.put("/v1/memories", json={"user_id": mark}),
        api.raw("POST", "/v1/memories", f'{{"user_id": "{mark}"'.encode(), "application/json"),
        api.raw("POST", "/v1/memories", mark.encode(), f"text/{mark}"),
    ]
    for response in refused:
        assert 400 <= response.status_code < 500, response.text
        assert mark not in response.json()["detail"], response.json()["detail"]


@pytest.mark.parametrize("field", ["user_id", "session_id"])
def test_scope_label_errors_name_the_field_not_the_value(api: Api, field: str) -> None:
    mark = f"yy{uuid.uuid4().hex[:12]}"
    body = {"content": "x", "role": "user", field: mark * 40}
    detail = problem(api.post("/v1/memories", body), 422, field)["detail"]
    assert mark not in detail
