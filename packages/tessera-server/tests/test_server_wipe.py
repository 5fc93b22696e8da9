"""Wipe (right to be forgotten): exact totals, and nothing of the scope findable afterwards."""

from __future__ import annotations

from typing import Any

from server_helpers import Api, nothing_forgotten, problem


def fill(api: Api, uid: str, session_id: str | None = None, city: str = "Berlin") -> dict[str, Any]:
    """Write one of everything under a scope; returns what to look for afterwards."""
    scope: dict[str, Any] = {"user_id": uid}
    if session_id:
        scope["session_id"] = session_id
    api.sync_add(
        uid,
        f"I live in {city}. I love {city} food. I'm going to Paris next week.",
        turn_id=f"t-{city}",
        **({"session_id": session_id} if session_id else {}),
    )
    api.note(
        uid,
        f"{city} note: remember the milk",
        turn_id=f"n-{city}",
        **({"session_id": session_id} if session_id else {}),
    )
    procedure = api.post(
        "/v1/procedures",
        {
            **scope,
            "trigger": f"water the {city} plants",
            "steps": ["fill the can"],
            "success": "wet soil",
        },
    ).json()
    resource = api.post(
        "/v1/resources",
        {
            **scope,
            "blob_ref": f"blob-{city}",
            "mime": "image/png",
            "caption": f"photo of {city} skyline",
        },
    ).json()
    return {
        "scope": scope,
        "procedure": procedure,
        "resource": resource,
        "items": api.items(**scope),
    }


def assert_nothing_findable(
    api: Api, uid: str, city: str, before: dict[str, Any], **scope: Any
) -> None:
    """Nothing of the wiped scope is found in it, nor anywhere else under the user."""
    scope = scope or {"user_id": uid}
    assert api.items(**scope) == []
    assert city not in str(api.items(user_id=uid))
    for item in before["items"]:
        problem(api.get(f"/v1/memories/{item['id']}", **scope), 404)
        problem(api.get(f"/v1/memories/{item['id']}", user_id=uid), 404)
    for query in (city, "Paris next week", "milk", "plants", "skyline"):
        assert api.search(query, **scope) == []
        assert city not in str(api.search(query, user_id=uid))
        for mode in ("chat", "reasoning"):
            answer = api.query(query, **scope, mode=mode)
            assert answer["results"] == [] and answer["foresight"] == []
            assert city not in answer["context"] and "Paris" not in answer["context"]
            wide = api.query(query, user_id=uid, mode=mode)
            assert city not in str(wide), wide
    for where in (scope, {"user_id": uid}):
        recalled = api.post(
            "/v1/procedures/recall", {**where, "task": f"water the {city} plants", "k": 100}
        ).json()
        assert city not in str(recalled)
        resources = api.post(
            "/v1/resources/recall", {**where, "query": f"{city} skyline", "k": 100}
        ).json()
        assert city not in str(resources)
    digest = api.post("/v1/compress", {"user_id": uid, "token_budget": 100_000}).json()["digest"]
    assert city not in digest, digest
    outcome = {**scope, "success": True}
    problem(api.post(f"/v1/procedures/{before['procedure']['id']}/outcome", outcome), 404)
    nothing_forgotten(api.delete(f"/v1/memories/turns/t-{city}", scope))


def test_wipe_user_counts_exactly_and_leaves_nothing(api: Api, uid: str) -> None:
    before = fill(api, uid)
    # 2 turns, 4 episodes (episode, note, procedure, resource), 2 facts, 1 foresight, 1 portrait,
    # the user's panels (reindex reports how many), and one finished consolidation job.
    panels = api.post("/v1/reindex", {"user_id": uid}).json()["panels_refreshed"]
    assert panels >= 1
    job = api.post("/v1/consolidate", {"user_id": uid}).json()["job"]
    assert api.wait_job(job["id"])["status"] == "succeeded"
    response = api.delete("/v1/memories", {"user_id": uid})
    assert response.status_code == 200
    assert response.json() == {"total": 2 + 4 + 2 + 1 + 1 + panels + 1}
    assert_nothing_findable(api, uid, "Berlin", before)
    problem(api.get(f"/v1/jobs/{job['id']}"), 404)
    assert api.delete("/v1/memories", {"user_id": uid}).json() == {"total": 0}
    # The scope is usable again, from scratch.
    assert api.note(uid, "fresh start", turn_id="n-Berlin")["created"] is True
    assert [i["text"] for i in api.items(user_id=uid)] == ["fresh start"]


def test_wipe_one_session_keeps_the_others(api: Api, uid: str) -> None:
    before = fill(api, uid, session_id="s1", city="Berlin")
    kept = fill(api, uid, session_id="s2", city="Oslo")
    total = api.delete("/v1/memories", {"user_id": uid, "session_id": "s1"}).json()["total"]
    assert total == 2 + 4 + 2 + 1  # turns, episodes, facts, foresight of s1
    assert_nothing_findable(api, uid, "Berlin", before, user_id=uid, session_id="s1")
    assert {i["id"] for i in api.items(user_id=uid)} == {i["id"] for i in kept["items"]}
    answer = api.query("where do I live", user_id=uid)
    assert answer["portrait"] == {"User": {"lives_in": "Oslo", "likes": ["Oslo food"]}}


def test_wipe_by_session_label_alone(api: Api, uid: str) -> None:
    session = f"{uid}-sess"
    before = fill(api, uid, session_id=session, city="Tartu")
    kept = fill(api, uid, session_id="other", city="Riga")
    total = api.delete("/v1/memories", {"session_id": session}).json()["total"]
    assert total == 2 + 4 + 2 + 1
    assert_nothing_findable(api, uid, "Tartu", before, session_id=session)
    assert {i["id"] for i in api.items(user_id=uid)} == {i["id"] for i in kept["items"]}


def test_wipe_touches_no_other_user(api: Api, uid: str) -> None:
    fill(api, uid + "-a", city="Lyon")
    keep = fill(api, uid + "-b", city="Nice")
    assert api.delete("/v1/memories", {"user_id": uid + "-a"}).json()["total"] > 0
    assert {i["id"] for i in api.items(user_id=uid + "-b")} == {i["id"] for i in keep["items"]}
    portrait = api.query("Nice", user_id=uid + "-b")["portrait"]
    assert portrait == {"User": {"lives_in": "Nice", "likes": ["Nice food"]}}


def test_wipe_needs_a_scope_and_a_body(api: Api) -> None:
    problem(api.delete("/v1/memories", {}), 422, "user_id")
    problem(api.http.delete("/v1/memories"), 422)


def test_forgetting_by_session_label_refreshes_the_owners_profile_and_digest(
    api: Api, uid: str
) -> None:
    session = f"{uid}-s"
    api.sync_add(uid, "I love Gdansk pierogi.", session_id=session, turn_id="g1")
    api.sync_add(uid, "I love Krakow bagels.", session_id=session, turn_id="k1")
    portrait = api.query("food", user_id=uid)["portrait"]
    assert portrait == {"User": {"likes": ["Gdansk pierogi", "Krakow bagels"]}}
    # Forget one turn and delete one fact, naming only the session.
    assert api.delete("/v1/memories/turns/g1", {"session_id": session}).json()["turns_deleted"] == 1
    assert "Gdansk" not in str(api.query("food", user_id=uid))
    assert "Gdansk" not in api.post("/v1/compress", {"user_id": uid}).json()["digest"]
    krakow = next(f for f in api.facts(user_id=uid) if "Krakow" in f["text"])
    response = api.delete(f"/v1/memories/{krakow['id']}", {"session_id": session})
    assert response.json()["facts_deleted"] == 1
    assert api.query("food", user_id=uid)["portrait"] is None
