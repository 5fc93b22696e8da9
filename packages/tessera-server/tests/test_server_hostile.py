"""Hostile and malformed input: every endpoint answers with a clear 4xx problem, never a 500.

(`Api` checks on every response that it is never a 5xx, always carries X-Request-Id and,
when it is an error, is an RFC 9457 problem whose `instance` is that request id.)
"""

from __future__ import annotations

import json
import threading
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest
from server_helpers import Api, check_invariants, nothing_forgotten, problem
from tessera_server.testing import ServiceHandle

# Well-formed ids that no memory has. Fixed (uuid5), not random: the parametrized test ids
# name them, and pytest-xdist workers must collect the same ids.
EP = f"ep_{uuid.uuid5(uuid.NAMESPACE_URL, 'tessera-tests/absent-episode')}"
FT = f"ft_{uuid.uuid5(uuid.NAMESPACE_URL, 'tessera-tests/absent-fact')}"

# (method, path, body-or-query-without-scope) for every operation that takes a scope.
SCOPED: list[tuple[str, str, dict[str, Any]]] = [
    ("POST", "/v1/memories", {"content": "hello", "role": "user"}),
    ("POST", "/v1/memories:batch", {"messages": [{"role": "user", "content": "hi"}]}),
    ("GET", "/v1/memories", {}),
    ("DELETE", "/v1/memories", {}),
    ("DELETE", "/v1/memories/turns/t1", {}),
    ("GET", f"/v1/memories/{EP}", {}),
    ("DELETE", f"/v1/memories/{EP}", {}),
    ("PATCH", f"/v1/memories/{FT}", {"object": "x"}),
    ("POST", f"/v1/memories/{EP}/pin", {}),
    ("DELETE", f"/v1/memories/{EP}/pin", {}),
    ("POST", "/v1/search", {"query": "x"}),
    ("POST", "/v1/query", {"query": "x"}),
    ("POST", "/v1/procedures", {"trigger": "t", "steps": ["s"], "success": "ok"}),
    ("POST", "/v1/procedures/recall", {"task": "x"}),
    ("POST", f"/v1/procedures/{EP}/outcome", {"success": True}),
    ("POST", "/v1/resources", {"blob_ref": "b", "mime": "image/png", "caption": "c"}),
    ("POST", "/v1/resources/recall", {"query": "x"}),
    ("POST", "/v1/consolidate", {}),
    ("POST", "/v1/consolidate?sync=true", {}),
    ("POST", "/v1/reindex", {}),
    ("POST", "/v1/compress", {}),
]


def send(api: Api, method: str, path: str, payload: dict[str, Any]) -> httpx.Response:
    if method == "GET":
        return api.get(path, **payload)
    return api.http.request(method, path, json=payload)


@pytest.mark.parametrize(
    ("method", "path", "payload"), SCOPED, ids=[f"{m} {p}" for m, p, _ in SCOPED]
)
def test_missing_scope_is_422_saying_so(
    api: Api, method: str, path: str, payload: dict[str, Any]
) -> None:
    body = problem(send(api, method, path, payload), 422, "user_id", "session_id")
    assert "scope" in body["type"] or "invalid" in body["type"]
    # Empty labels are no scope either.
    empty = {**payload, "user_id": "", "session_id": ""}
    problem(send(api, method, path, empty), 422, "user_id")


def test_missing_scope_on_upload(api: Api) -> None:
    files = {"file": ("a.png", b"\x89PNG\r\n\x1a\n" + b"0" * 10, "image/png")}
    response = api.http.post("/v1/resources/file", data={"blob_ref": "b"}, files=files)
    problem(response, 422, "user_id")


@pytest.mark.parametrize(
    ("path", "body", "needle"),
    [
        ("/v1/memories", {"content": "x", "role": "robot"}, "role"),
        ("/v1/memories", {"content": "x", "role": "user", "mode": "later"}, "mode"),
        ("/v1/memories:batch", {"messages": [{"role": "bot", "content": "x"}]}, "role"),
        (
            "/v1/memories:batch",
            {"messages": [{"role": "user", "content": "x"}], "mode": "sync"},
            "mode",
        ),
        ("/v1/search", {"query": "x", "types": ["procedure"]}, "types"),
        ("/v1/query", {"query": "x", "mode": "creative"}, "mode"),
        (
            "/v1/search",
            {"query": "x", "filters": [{"field": "role", "op": "~", "value": "user"}]},
            "op",
        ),
    ],
)
def test_bad_enums(api: Api, uid: str, path: str, body: dict[str, Any], needle: str) -> None:
    problem(api.post(path, {"user_id": uid, **body}), 422, needle)


# -- ids --------------------------------------------------------------------------------


def test_unknown_ids_are_404_or_idempotent_deletes(api: Api, uid: str) -> None:
    scope = {"user_id": uid}
    problem(api.get(f"/v1/memories/{EP}", **scope), 404)
    problem(api.get(f"/v1/memories/{FT}", **scope), 404)
    nothing_forgotten(api.delete(f"/v1/memories/{EP}", scope))
    nothing_forgotten(api.delete(f"/v1/memories/{FT}", scope))
    problem(api.patch(f"/v1/memories/{FT}", {**scope, "object": "x"}), 404)
    problem(api.post(f"/v1/memories/{EP}/pin", scope), 404)
    problem(api.delete(f"/v1/memories/{EP}/pin", scope), 404)
    problem(api.post(f"/v1/procedures/{EP}/outcome", {**scope, "success": True}), 404)
    nothing_forgotten(api.delete("/v1/memories/turns/never-stored", scope))
    problem(api.get("/v1/jobs/job_987654321"), 404)
    problem(api.get(f"/v1/jobs/job_{2**63 - 1}"), 404)


def test_outcome_on_an_episode_that_is_not_a_procedure_is_404(api: Api, uid: str) -> None:
    api.note(uid, "just a note")
    note = api.items(user_id=uid)[0]
    problem(
        api.post(f"/v1/procedures/{note['id']}/outcome", {"user_id": uid, "success": True}), 404
    )


def test_wrong_id_kind_is_422(api: Api, uid: str) -> None:
    api.sync_add(uid, "I live in Ghent.")
    fact = api.facts(user_id=uid)[0]["id"]
    episode = api.episodes(user_id=uid)[0]["id"]
    scope = {"user_id": uid}
    problem(api.patch(f"/v1/memories/{episode}", {**scope, "object": "x"}), 422, "fact")
    problem(api.post(f"/v1/memories/{fact}/pin", scope), 422, "episode")
    problem(api.delete(f"/v1/memories/{fact}/pin", scope), 422, "episode")
    problem(api.post(f"/v1/procedures/{fact}/outcome", {**scope, "success": True}), 422, "episode")
    # Nothing changed.
    assert {i["id"] for i in api.items(user_id=uid)} == {fact, episode}


GARBAGE_IDS = [
    "123",
    "ep_",
    "ep_not-a-uuid",
    f"EP_{EP[3:]}",
    f"{EP}x",
    f"fs_{EP[3:]}",
    f"job_{EP[3:]}",
    "ep_%00",
    "x" * 300,
    "ep_' OR 1=1 --",
]


@pytest.mark.parametrize("bad", GARBAGE_IDS)
def test_garbage_item_ids_are_422(api: Api, uid: str, bad: str) -> None:
    from urllib.parse import quote

    item = quote(bad, safe="")
    scope = {"user_id": uid}
    problem(api.get(f"/v1/memories/{item}", **scope), 422, "id")
    problem(api.delete(f"/v1/memories/{item}", scope), 422, "id")
    problem(api.patch(f"/v1/memories/{item}", {**scope, "object": "x"}), 422, "id")
    problem(api.post(f"/v1/memories/{item}/pin", scope), 422, "id")
    problem(api.delete(f"/v1/memories/{item}/pin", scope), 422, "id")
    problem(api.post(f"/v1/procedures/{item}/outcome", {**scope, "success": True}), 422, "id")


@pytest.mark.parametrize(
    "bad", ["job_0", "job_", "job_-1", "job_abc", "job_1.5", EP, "1", f"job_{10**20}"]
)
def test_malformed_job_ids_are_422(api: Api, bad: str) -> None:
    problem(api.get(f"/v1/jobs/{bad}"), 422, "job")


def test_overlong_or_odd_turn_ids(api: Api, uid: str) -> None:
    problem(api.add(uid, "x", turn_id="t" * 257), 422, "turn_id")
    problem(api.add(uid, "x", turn_id=""), 422, "turn_id")
    problem(api.add(uid, "x", turn_id="   "), 422, "turn_id")
    problem(api.add(uid, "x", turn_id="line\nbreak"), 422, "turn_id")
    problem(api.add(uid, "x", turn_id="nul\x00"), 422, "turn_id")
    batch = {"user_id": uid, "messages": [{"role": "user", "content": "x", "turn_id": "a\tb"}]}
    problem(api.post("/v1/memories:batch", batch), 422, "turn_id")
    assert api.add_ok(uid, "x", turn_id="t" * 256)["created"] is True
    assert api.add_ok(uid, "x", turn_id="ünïcödé/turn id #1")["created"] is True
    response = api.delete("/v1/memories/turns/" + "t" * 300, {"user_id": uid})
    assert response.status_code in (404, 422)
    # Only the two accepted turns are there (found at once, before consolidation); none of
    # the refused ones was half-written.
    listed = api.items(user_id=uid)
    assert len(listed) == 2 and all(i["text"].endswith("User: x") for i in listed), listed


# -- sizes ------------------------------------------------------------------------------


def test_content_size_limits(api: Api, uid: str) -> None:
    # A turn may be a pasted document (TESSERA_MAX_TURN_CHARS, 200,000): one past it is refused.
    problem(api.add(uid, "x" * 200_001), 413, "200000")
    assert api.add_ok(uid, "x" * 200_000)["created"] is True
    problem(api.add(uid, ""), 422, "content")
    problem(api.add(uid, " \n\t "), 422, "content")
    messages = [{"role": "user", "content": "ok"}, {"role": "user", "content": "y" * 200_001}]
    problem(api.post("/v1/memories:batch", {"user_id": uid, "messages": messages}), 413)
    # A refused batch stores none of its messages.
    summary = api.post("/v1/consolidate?sync=true", {"user_id": uid}).json()
    assert summary["turns_consolidated"] == 1


def test_huge_bodies_are_413(api: Api, uid: str) -> None:
    huge = json.dumps({"user_id": uid, "role": "user", "content": "z" * 2_100_000}).encode()
    problem(api.raw("POST", "/v1/memories", huge, "application/json"), 413, "larger")

    def chunks() -> Any:
        # No Content-Length: the limit holds for streamed bodies too.
        yield b'{"user_id": "' + uid.encode() + b'", "role": "user", "content": "'
        for _ in range(50):
            yield b"q" * 50_000
        yield b'"}'

    response = api.http.post(
        "/v1/memories", content=chunks(), headers={"Content-Type": "application/json"}
    )
    problem(response, 413)
    problem(
        api.post(
            "/v1/memories:batch",
            {"user_id": uid, "messages": [{"role": "user", "content": "m"}] * 501},
        ),
        413,
        "500",
    )
    problem(api.add(uid, "x", metadata={"blob": "b" * 17_000}), 413, "metadata")
    problem(api.post("/v1/search", {"user_id": uid, "query": "w" * 32_001}), 422, "query")
    assert api.items(user_id=uid) == []


def test_metadata_shape_limits(api: Api, uid: str) -> None:
    deep: dict[str, Any] = {"a": {"b": {"c": {"d": {"e": 1}}}}}
    problem(api.add(uid, "x", metadata=deep), 422, "nested")
    problem(api.add(uid, "x", metadata=["not", "an", "object"]), 422, "metadata")
    problem(api.add(uid, "x", metadata={"n": 10**30}), 422, "metadata")
    for literal in ("NaN", "Infinity"):
        raw = f'{{"user_id": "{uid}", "role": "user", "content": "x", "metadata": {{"v": {literal}}}}}'
        problem(api.raw("POST", "/v1/memories", raw.encode(), "application/json"), 422, "metadata")
    assert api.items(user_id=uid) == []


# -- malformed bodies -------------------------------------------------------------------


@pytest.mark.parametrize(
    "raw",
    [
        b"{",
        b'{"user_id": "u", "content": "x", "role": "user",}',
        b"\xff\xfe",
        b"null",
        b"[]",
        b'"text"',
        b"",
        b"{'a': 1}",
    ],
)
def test_malformed_json_is_422(api: Api, raw: bytes) -> None:
    for path in ("/v1/memories", "/v1/search", "/v1/procedures", "/v1/consolidate"):
        response = api.raw("POST", path, raw, "application/json")
        problem(response, 422)


def test_non_json_content_type(api: Api, uid: str) -> None:
    body = json.dumps({"user_id": uid, "content": "x", "role": "user"}).encode()
    response = api.raw("POST", "/v1/memories", body, "text/plain")
    assert 400 <= response.status_code < 500
    response = api.raw(
        "POST", "/v1/memories", b"user_id=u&content=x", "application/x-www-form-urlencoded"
    )
    assert 400 <= response.status_code < 500
    assert api.items(user_id=uid) == []


@pytest.mark.parametrize(
    ("path", "body", "needle"),
    [
        ("/v1/memories", {"content": 5, "role": "user"}, "content"),
        ("/v1/memories", {"content": ["x"], "role": "user"}, "content"),
        ("/v1/memories", {"content": "x", "role": "user", "infer": "perhaps"}, "infer"),
        (
            "/v1/memories",
            {"content": "x", "role": "user", "event_time": "last tuesday"},
            "event_time",
        ),
        ("/v1/memories", {"content": "x", "role": "user", "turn_id": 7}, "turn_id"),
        ("/v1/memories", {"content": "x", "role": "user", "user_id": ["a"]}, "user_id"),
        ("/v1/memories:batch", {"messages": "hi"}, "messages"),
        ("/v1/memories:batch", {"messages": []}, "messages"),
        ("/v1/memories:batch", {"messages": [{"role": "user"}]}, "content"),
        ("/v1/search", {"query": 42}, "query"),
        ("/v1/search", {"query": "x", "rerank": "sometimes"}, "rerank"),
        ("/v1/search", {"query": "x", "types": "fact"}, "types"),
        ("/v1/procedures", {"trigger": "t", "steps": "one step", "success": "ok"}, "steps"),
        ("/v1/procedures", {"trigger": "t", "steps": [], "success": "ok"}, "steps"),
        ("/v1/procedures", {"trigger": "t", "steps": [1, 2], "success": "ok"}, "steps"),
        ("/v1/procedures/recall", {"task": "x", "k": "three"}, "k"),
        ("/v1/procedures/recall", {"task": "x", "min_similarity": "high"}, "min_similarity"),
        ("/v1/resources", {"blob_ref": 1, "mime": "image/png", "caption": "c"}, "blob_ref"),
        ("/v1/resources/recall", {"query": "x", "k": 1.5}, "k"),
        ("/v1/compress", {"token_budget": "lots"}, "token_budget"),
        ("/v1/compress", {"token_budget": 0}, "token_budget"),
    ],
)
def test_wrong_types_are_422(
    api: Api, uid: str, path: str, body: dict[str, Any], needle: str
) -> None:
    problem(api.post(path, {"user_id": uid, **body}), 422, needle)


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("POST", "/v1/memories", {"content": "x", "role": "user", "tags": ["a"]}),
        (
            "POST",
            "/v1/memories:batch",
            {"messages": [{"role": "user", "content": "x", "name": "n"}]},
        ),
        (
            "POST",
            "/v1/memories:batch",
            {"messages": [{"role": "user", "content": "x"}], "sync": True},
        ),
        ("POST", "/v1/search", {"query": "x", "limit": 5}),
        ("POST", "/v1/query", {"query": "x", "temperature": 0}),
        ("POST", "/v1/procedures", {"trigger": "t", "steps": ["s"], "success": "ok", "id": "x"}),
        ("POST", "/v1/procedures/recall", {"task": "x", "top_k": 3}),
        (
            "POST",
            "/v1/resources",
            {"blob_ref": "b", "mime": "image/png", "caption": "c", "url": "u"},
        ),
        ("POST", "/v1/resources/recall", {"query": "x", "top_k": 3}),
        ("POST", "/v1/consolidate", {"force": True}),
        ("POST", "/v1/reindex", {"model": "x"}),
        ("POST", "/v1/compress", {"budget": 5}),
        ("DELETE", "/v1/memories", {"everything": True}),
        ("DELETE", "/v1/memories/turns/t", {"cascade": False}),
    ],
)
def test_unknown_fields_are_422(
    api: Api, uid: str, method: str, path: str, body: dict[str, Any]
) -> None:
    response = api.http.request(method, path, json={"user_id": uid, **body})
    problem(response, 422, "not a field")


def test_datetimes_need_timezones(api: Api, uid: str) -> None:
    problem(api.add(uid, "x", event_time="2024-05-01T12:00:00"), 422, "event_time", "timezone")
    problem(api.add(uid, "x", event_time="2024-05-01"), 422, "event_time")
    assert api.add_ok(uid, "x", event_time="2024-05-01T12:00:00-07:00")["created"]


@pytest.mark.parametrize(
    "when",
    [
        "0001-01-01T00:00:00+14:00",
        "9999-12-31T23:59:59-14:00",
        "0001-01-01T00:00:00Z",
        "9999-12-31T23:59:59Z",
    ],
)
def test_extreme_event_times_never_crash(api: Api, uid: str, when: str) -> None:
    response = api.add(
        uid, "Yesterday I said I'm going to Paris next week.", event_time=when, mode="sync"
    )
    assert response.status_code in (200, 422), response.text
    if response.status_code == 422:
        problem(response, 422, "event_time")


@pytest.mark.parametrize(
    "content",
    [
        "I'm going to Mars in 99999 years.",
        "The deadline is 9999-12-31, I need to finish the report by then.",
        "I will see her on December 31, 9999.",
        "That happened 100000000 days ago.",
        "We met 99999999999999999999 weeks ago.",
        "I'm moving there in 9000 years and 99999 months.",
        "I moved to Y in 0001-01-01.",
    ],
)
def test_absurd_dates_in_content_never_crash_consolidation(
    api: Api, uid: str, content: str
) -> None:
    summary = api.sync_add(uid, content)["consolidation"]
    assert summary["turns_consolidated"] == 1
    assert api.query("when", user_id=uid)["context"]


def test_control_characters(api: Api, uid: str) -> None:
    problem(api.add(uid, "nul \x00 inside"), 422, "NUL")
    odd = "bell \x07 escape \x1b[31m rtl \u202e zero-width \u200b emoji \U0001f9e0 CRLF \r\n end"
    api.note(uid, odd)
    assert api.items(user_id=uid)[0]["text"] == odd
    assert api.search("emoji bell escape", user_id=uid)[0]["text"] == odd
    api.sync_add(uid, "I live in Zürich\x1b[0m.")
    assert api.post("/v1/search", {"user_id": uid, "query": "nul\x00query"}).status_code == 200


@pytest.mark.parametrize("label", ["user_id", "session_id"])
def test_scope_labels_are_bounded_and_printable(api: Api, uid: str, label: str) -> None:
    base = {"user_id": uid} if label == "session_id" else {}
    for bad in ("u" * 257, "a\x00b", "tab\there", "new\nline"):
        problem(
            api.post("/v1/memories", {**base, label: bad, "content": "x", "role": "user"}),
            422,
            label,
        )
        problem(api.post("/v1/search", {**base, label: bad, "query": "x"}), 422, label)
        problem(api.get("/v1/memories", **{**base, label: bad}), 422, label)
    ok = "u" * 256 if label == "user_id" else "s" * 256
    assert (
        api.post(
            "/v1/memories", {**base, label: ok, "content": "x", "role": "user", "infer": False}
        ).status_code
        == 201
    )
    assert len(api.items(**{**base, label: ok})) == 1
    unicode_label = "repo:tessera/ünï code 東京"
    assert (
        api.post(
            "/v1/memories",
            {**base, label: unicode_label, "content": "y", "role": "user", "infer": False},
        ).status_code
        == 201
    )
    assert [i["text"] for i in api.items(**{**base, label: unicode_label})] == ["y"]


# -- routes -----------------------------------------------------------------------------


def test_unknown_route_and_wrong_method_are_problems(api: Api) -> None:
    problem(api.get("/v1/nothing-here"), 404, "route")
    problem(api.get("/v1"), 404)
    problem(api.http.put("/v1/memories", json={}), 405)
    problem(api.http.get("/v1/search"), 405)
    problem(api.http.post("/health"), 405)


# -- concurrent replays -----------------------------------------------------------------


def hammer(
    service: ServiceHandle, call: Callable[[httpx.Client], httpx.Response], n: int = 16
) -> list[httpx.Response]:
    """Fire `n` calls at once from `n` threads, each with its own connection."""
    barrier = threading.Barrier(n)
    headers = {"Authorization": f"Bearer {service.api_key}"}

    def one(_: int) -> httpx.Response:
        with httpx.Client(base_url=service.base_url, headers=headers, timeout=120) as client:
            barrier.wait()
            response = call(client)
            check_invariants(response, [service.api_key])
            return response

    with ThreadPoolExecutor(n) as pool:
        return list(pool.map(one, range(n)))


@pytest.mark.parametrize("infer", [True, False])
def test_concurrent_replays_store_exactly_one_turn(
    api: Api, service: ServiceHandle, uid: str, infer: bool
) -> None:
    body = {
        "user_id": uid,
        "content": "I live in Tallinn.",
        "role": "user",
        "turn_id": "same",
        "infer": infer,
    }
    responses = hammer(service, lambda c: c.post("/v1/memories", json=body))
    assert all(r.status_code == 201 for r in responses), [r.text for r in responses]
    assert all(r.json()["turn_id"] == "same" for r in responses)
    assert sum(r.json()["created"] for r in responses) == 1
    if infer:
        summary = api.post("/v1/consolidate?sync=true", {"user_id": uid}).json()
        assert summary["turns_consolidated"] == 1
        assert [f["text"] for f in api.facts(user_id=uid)] == ["User lives in Tallinn"]
        assert len(api.episodes(user_id=uid)) == 1
    else:
        assert [i["text"] for i in api.items(user_id=uid)] == ["I live in Tallinn."]
    forgotten = api.delete("/v1/memories/turns/same", {"user_id": uid}).json()
    assert forgotten["turns_deleted"] == 1


def test_concurrent_sync_replays_consolidate_once(
    api: Api, service: ServiceHandle, uid: str
) -> None:
    body = {
        "user_id": uid,
        "content": "My brother's name is Tom.",
        "role": "user",
        "turn_id": "s1",
        "mode": "sync",
    }
    responses = hammer(service, lambda c: c.post("/v1/memories", json=body), n=8)
    assert all(r.status_code == 200 for r in responses), [r.text for r in responses]
    totals = [r.json()["consolidation"] for r in responses]
    assert sum(t["turns_consolidated"] for t in totals) == 1
    assert sum(t["facts_created"] for t in totals) == 1
    assert [f["text"] for f in api.facts(user_id=uid)] == ["User's brother is Tom"]
    assert len(api.episodes(user_id=uid)) == 1


def test_concurrent_batches_with_overlapping_turn_ids(
    api: Api, service: ServiceHandle, uid: str
) -> None:
    messages = [{"role": "user", "content": f"fact {i}", "turn_id": f"b{i}"} for i in range(5)]
    body = {"user_id": uid, "messages": messages, "infer": False}
    responses = hammer(service, lambda c: c.post("/v1/memories:batch", json=body), n=8)
    assert all(r.status_code == 201 for r in responses)
    created = [res["created"] for r in responses for res in r.json()["results"]]
    assert sum(created) == 5
    assert sorted(i["text"] for i in api.items(user_id=uid)) == [f"fact {i}" for i in range(5)]


@pytest.mark.parametrize(
    "turn_id", ["a/b", "/leading", "trailing/", "ünï/x #1?&=", "a%2Fb", "...", "50%"]
)
def test_any_stored_turn_id_can_be_forgotten(api: Api, uid: str, turn_id: str) -> None:
    from urllib.parse import quote

    assert api.note(uid, "to be forgotten", turn_id=turn_id)["created"] is True
    assert api.note(uid, "to be kept", turn_id="keep")["created"] is True
    response = api.delete(f"/v1/memories/turns/{quote(turn_id, safe='')}", {"user_id": uid})
    assert response.status_code == 200, response.text
    assert response.json()["turns_deleted"] == 1
    assert [i["text"] for i in api.items(user_id=uid)] == ["to be kept"]


def test_dot_segment_turn_ids_are_refused(api: Api, uid: str) -> None:
    # A client would send DELETE /v1/memories/turns/.. as DELETE /v1/memories (a wipe),
    # so such turns could never be forgotten one by one: they are refused up front.
    for turn_id in (".", ".."):
        problem(api.add(uid, "x", turn_id=turn_id), 422, "turn_id")
        batch = {"user_id": uid, "messages": [{"role": "user", "content": "x", "turn_id": turn_id}]}
        problem(api.post("/v1/memories:batch", batch), 422, "turn_id")
    assert api.items(user_id=uid) == []


def test_concurrent_sync_adds_consolidate_each_turn_exactly_once(
    api: Api, service: ServiceHandle, uid: str
) -> None:
    counter = iter(range(1000))
    lock = threading.Lock()

    def add(client: httpx.Client) -> httpx.Response:
        with lock:
            i = next(counter)
        body = {
            "user_id": uid,
            "content": f"I like board game {i}.",
            "role": "user",
            "turn_id": f"g{i}",
        }
        if i % 2:
            body["mode"] = "sync"
        return client.post("/v1/memories", json=body)

    responses = hammer(service, add, n=12)
    assert sorted(r.status_code for r in responses) == [200] * 6 + [201] * 6
    api.post("/v1/consolidate?sync=true", {"user_id": uid})
    sources = [
        turn
        for e in api.episodes(user_id=uid)
        for turn in e["metadata"]["tessera"]["source_turn_ids"]
    ]
    assert sorted(sources) == sorted(f"g{i}" for i in range(12))  # each turn in one episode
    facts = sorted(f["text"] for f in api.facts(user_id=uid))
    assert facts == sorted(f"User likes board game {i}" for i in range(12))


def test_concurrent_outcomes_lose_no_update(api: Api, service: ServiceHandle, uid: str) -> None:
    procedure = api.post(
        "/v1/procedures", {"user_id": uid, "trigger": "t", "steps": ["s"], "success": "ok"}
    ).json()
    path = f"/v1/procedures/{procedure['id']}/outcome"
    responses = hammer(
        service, lambda c: c.post(path, json={"user_id": uid, "success": True}), n=10
    )
    assert all(r.status_code == 200 for r in responses)
    assert sorted(r.json()["uses"] for r in responses) == list(range(1, 11))


def test_concurrent_corrections_of_one_fact(api: Api, service: ServiceHandle, uid: str) -> None:
    api.sync_add(uid, "I live in Riga.")
    fact = api.facts(user_id=uid)[0]["id"]
    counter = iter(range(100))
    lock = threading.Lock()

    def correct(client: httpx.Client) -> httpx.Response:
        with lock:
            city = f"City{next(counter)}"
        return client.patch(f"/v1/memories/{fact}", json={"user_id": uid, "object": city})

    responses = hammer(service, correct, n=8)
    assert sorted(r.status_code for r in responses) == [200] + [409] * 7
    winner = next(r.json() for r in responses if r.status_code == 200)
    assert [f["id"] for f in api.facts(user_id=uid)] == [winner["id"]]


@pytest.mark.parametrize(
    ("path", "raw"),
    [
        ("/v1/memories", '{"user_id": "U", "content": "\\ud800", "role": "user"}'),
        ("/v1/memories", '{"user_id": "\\udfff", "content": "x", "role": "user"}'),
        ("/v1/memories", '{"user_id": "U", "content": "x", "role": "user", "turn_id": "\\ud800"}'),
        (
            "/v1/memories",
            '{"user_id": "U", "content": "x", "role": "user", "metadata": {"\\ud800": 1}}',
        ),
        (
            "/v1/memories",
            '{"user_id": "U", "content": "x", "role": "user", "metadata": {"a": ["\\ud800"]}}',
        ),
        (
            "/v1/memories:batch",
            '{"user_id": "U", "messages": [{"role": "user", "content": "a\\udc00b"}]}',
        ),
        ("/v1/search", '{"user_id": "U", "query": "\\ud800 x"}'),
        (
            "/v1/search",
            '{"user_id": "U", "query": "x", "filters": [{"field": "metadata.k", "op": "eq", "value": "\\ud800"}]}',
        ),
        ("/v1/query", '{"user_id": "U", "query": "\\ud800"}'),
        (
            "/v1/procedures",
            '{"user_id": "U", "trigger": "\\ud800", "steps": ["a"], "success": "b"}',
        ),
        ("/v1/procedures/recall", '{"user_id": "U", "task": "\\ud800"}'),
        (
            "/v1/resources",
            '{"user_id": "U", "blob_ref": "\\ud800", "mime": "image/png", "caption": "c"}',
        ),
        ("/v1/resources/recall", '{"user_id": "U", "query": "\\ud800"}'),
    ],
)
def test_lone_surrogates_are_422(api: Api, uid: str, path: str, raw: str) -> None:
    body = raw.replace('"U"', json.dumps(uid)).encode()
    problem(api.raw("POST", path, body, "application/json"), 422, "unicode")
    assert api.items(user_id=uid) == []


def test_lone_surrogate_in_a_correction_is_422(api: Api, uid: str) -> None:
    api.sync_add(uid, "I live in Narva.")
    fact = api.facts(user_id=uid)[0]["id"]
    raw = json.dumps({"user_id": uid, "object": "X"}).replace('"X"', '"\\ud800"').encode()
    problem(api.raw("PATCH", f"/v1/memories/{fact}", raw, "application/json"), 422, "unicode")
    assert [f["id"] for f in api.facts(user_id=uid)] == [fact]


def test_invalid_utf8_in_paths_and_queries_is_harmless(api: Api, uid: str) -> None:
    nothing_forgotten(
        api.http.request("DELETE", "/v1/memories/turns/%ED%A0%80", json={"user_id": uid})
    )
    assert api.http.get("/v1/memories?user_id=%ED%A0%80%FF").status_code == 200
    problem(api.http.get("/v1/jobs/%FF"), 422)
    problem(api.http.get("/v1/memories/%ED%A0%80?user_id=x"), 422)


def test_an_empty_id_never_reaches_the_scope_wide_routes(api: Api, uid: str) -> None:
    api.note(uid, "still here")
    for method in ("GET", "DELETE", "PATCH"):
        response = api.http.request(method, "/v1/memories/", json={"user_id": uid, "object": "x"})
        problem(response, 404)
    problem(
        api.http.request("DELETE", "/v1/memories/turns/", json={"user_id": uid}), 422, "turn_id"
    )
    problem(api.http.request("POST", "/v1/memories//pin", json={"user_id": uid}), 404)
    assert [i["text"] for i in api.items(user_id=uid)] == ["still here"]
