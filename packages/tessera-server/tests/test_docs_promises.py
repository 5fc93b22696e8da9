"""What the docs promise in prose, checked against the real service on loopback.

The runnable examples of the docs are executed by `docs/test_docs_examples.py`; these are the
promises stated in sentences and tables instead: the title of each kind of problem, the
address of the console, and that a value of the wrong JSON type is refused rather than
coerced. Each was found broken by reading the docs as a user and calling the service.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import httpx
import pytest
from server_helpers import Api, unique
from tessera_server.testing import ServiceHandle

ERRORS_PAGE = Path(__file__).resolve().parents[3] / "docs" / "errors.md"
HEADING = re.compile(r"^## (?P<status>\d{3}) · (?P<title>.+?) \{#(?P<slug>[a-z-]+)\}$", re.M)


def documented_titles() -> dict[str, str]:
    """slug -> title, from the headings of the Errors page (`## 422 · Invalid input {#…}`)."""
    found = {m["slug"]: m["title"] for m in HEADING.finditer(ERRORS_PAGE.read_text("utf-8"))}
    assert len(found) >= 14, "the Errors page lost its headings"
    return found


def check_titled(response: httpx.Response, status: int, slug: str) -> None:
    assert response.status_code == status, response.text
    body: dict[str, Any] = response.json()
    assert body["type"].endswith(f"/errors/#{slug}"), body
    assert body["title"] == documented_titles()[slug], body


# -- every problem carries the title its kind has on the Errors page ------------------------


def test_framework_problems_have_the_title_of_their_kind(
    service: ServiceHandle, api: Api, readonly: Api, anonymous: Api, uid: str
) -> None:
    """A problem's `title` names its kind (its slug), whichever layer raised it: the
    framework's own errors (validation, unknown route, wrong method) and the request
    middleware's (media type, body size) read like the engine's, not the HTTP phrase."""
    check_titled(api.get("/v1/nope"), 404, "not-found")
    check_titled(api.http.put("/v1/memories", json={}), 405, "method-not-allowed")
    check_titled(api.raw("POST", "/v1/search", b"{bad", "application/json"), 422, "invalid-input")
    check_titled(
        api.post("/v1/query", {"query": "x", "user_id": uid, "mode": "fast"}), 422, "invalid-input"
    )
    check_titled(api.post("/v1/memories", {"user_id": uid, "role": "user"}), 422, "invalid-input")
    check_titled(api.raw("POST", "/v1/search", b"{}", "text/plain"), 415, "unsupported-media-type")
    huge = b'{"query": "' + b"a" * 2_000_010 + b'"}'  # over TESSERA_MAX_BODY_BYTES (2 MB)
    check_titled(api.raw("POST", "/v1/search", huge, "application/json"), 413, "payload-too-large")
    check_titled(anonymous.post("/v1/search", {"query": "x", "user_id": uid}), 401, "unauthorized")
    check_titled(readonly.add(uid, "x"), 403, "forbidden")
    # The engine's kinds, for completeness: they already had their own titles.
    check_titled(api.post("/v1/search", {"query": "x"}), 422, "missing-scope")
    check_titled(api.get("/v1/jobs/ep_1"), 422, "wrong-id-kind")
    ghost = "ep_00000000-0000-0000-0000-000000000000"
    check_titled(api.get(f"/v1/memories/{ghost}", user_id=uid), 404, "not-found")


# -- the console is where the README says it is ----------------------------------------------


def test_console_answers_at_the_address_the_docs_give(service: ServiceHandle) -> None:
    """README and docs/console.md send a user to `http://…/console` (no slash): it leads to
    the console's sign-in page, not to a 404."""
    with httpx.Client(base_url=service.base_url, timeout=30.0) as http:
        first = http.get("/console")
        assert first.status_code in (301, 302, 303, 307, 308), first.text
        assert first.headers["location"].endswith("/console/")
        landed = http.get("/console", follow_redirects=True)
        assert landed.status_code == 200
        assert str(landed.url).endswith("/console/login")
        assert "text/html" in landed.headers["content-type"]
        # Not an API route: absent from the contract.
        assert "/console" not in http.get("/openapi.json").json()["paths"]


# -- a value of the wrong type is a 422, never coerced -------------------------------------

WRONG_TYPES = [
    ("/v1/search", {"query": "x", "top_k": "5"}, "top_k"),
    ("/v1/search", {"query": "x", "top_k": 5.0}, "top_k"),
    ("/v1/search", {"query": "x", "top_k": True}, "top_k"),
    ("/v1/search", {"query": "x", "rerank": 1}, "rerank"),
    ("/v1/search", {"query": "x", "rerank": "yes"}, "rerank"),
    ("/v1/query", {"query": "x", "top_k": "3"}, "top_k"),
    ("/v1/memories", {"content": "x", "role": "user", "infer": "false"}, "infer"),
    ("/v1/memories", {"content": "x", "role": "user", "infer": 0}, "infer"),
    ("/v1/memories:batch", {"messages": [{"role": "user", "content": 7}]}, "content"),
    ("/v1/procedures/recall", {"task": "x", "k": "3"}, "k"),
    ("/v1/procedures/recall", {"task": "x", "min_similarity": "0.3"}, "min_similarity"),
    ("/v1/resources/recall", {"query": "x", "k": 2.0}, "k"),
    ("/v1/compress", {"token_budget": "100"}, "token_budget"),
]


@pytest.mark.parametrize(("path", "body", "field"), WRONG_TYPES)
def test_a_value_of_the_wrong_type_is_refused(
    api: Api, uid: str, path: str, body: dict[str, Any], field: str
) -> None:
    """docs/errors.md: "a value of the wrong type … is 422 invalid-input", field by field.
    A string for a number, a number for a boolean, a boolean for a number were coerced
    (`"infer": "false"` stored a note, `"top_k": true` asked for one hit)."""
    response = api.post(path, {**body, "user_id": uid})
    check_titled(response, 422, "invalid-input")
    assert field in response.json()["detail"]
    assert api.items(user_id=uid) == []  # nothing was stored on the way


def test_wrong_type_on_a_correction_and_an_outcome(api: Api, uid: str) -> None:
    fact_owner = unique("facts")
    api.sync_add(fact_owner, "I live in Berlin.")
    fact = api.facts(user_id=fact_owner)[0]
    response = api.patch(
        f"/v1/memories/{fact['id']}", {"object": "Rome", "confidence": "1", "user_id": fact_owner}
    )
    check_titled(response, 422, "invalid-input")
    assert [f["text"] for f in api.facts(user_id=fact_owner)] == [fact["text"]]

    made = api.post(
        "/v1/procedures", {"trigger": "ship it", "steps": ["tag"], "success": "out", "user_id": uid}
    )
    assert made.status_code == 201, made.text
    outcome = api.post(
        f"/v1/procedures/{made.json()['id']}/outcome", {"success": "true", "user_id": uid}
    )
    check_titled(outcome, 422, "invalid-input")


def test_what_json_carries_as_text_is_still_read(api: Api, uid: str) -> None:
    """Strict types keep what JSON can only send as text or as an integer: times as ISO 8601
    strings, filter operators as strings, and a whole number where a fraction is allowed."""
    added = api.add(uid, "I live in Oslo.", mode="sync", event_time="2024-05-01T09:00:00+02:00")
    assert added.status_code == 200, added.text
    hits = api.search(
        "where does the user live",
        user_id=uid,
        as_of="2025-01-01T00:00:00Z",
        known_as_of="2030-01-01T00:00:00Z",
        filters=[{"field": "importance", "op": "gte", "value": 0}],
    )
    assert hits
    fact = api.facts(user_id=uid)[0]
    fixed = api.patch(
        f"/v1/memories/{fact['id']}",
        {"object": "Bergen", "confidence": 1, "t_valid": "2024-05-01T07:00:00Z", "user_id": uid},
    )
    assert fixed.status_code == 200, fixed.text
    assert fixed.json()["confidence"] == 1.0


# -- a plan's date is not the start of a fact ----------------------------------------------


def test_a_plan_dates_foresight_not_the_fact_it_names(api: Api, uid: str) -> None:
    """docs/getting-started.md and docs/concepts/time.md: "My sister Ana is visiting on 14
    March" gives the fact `sister is Ana` from when it was said and a plan due on the 14
    March ahead. The plan's year-less date, read in the turn's own year, fell before the
    turn and became the fact's start (14 March of the year before the plan)."""
    said = "2024-11-25T10:00:00Z"
    api.sync_add(uid, "My sister Ana is visiting on 14 March.", event_time=said)
    (fact,) = [f for f in api.facts(user_id=uid) if "Ana" in f["text"]]
    assert fact["metadata"]["tessera"]["t_valid"].startswith("2024-11-25T10:00:00")
    # As of a week after it was said, the plan was still ahead.
    context = api.query("When is Ana visiting?", user_id=uid, as_of="2024-12-02T00:00:00Z")
    assert "(since 25 Nov 2024)" in context["context"]
    assert "due 14 Mar 2025" in context["context"]
