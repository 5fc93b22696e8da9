"""Two tenants using the same user_id labels: nothing crosses the key boundary."""

from __future__ import annotations

from typing import Any

from server_helpers import Api, nothing_forgotten, problem


def seed(api: Api, uid: str) -> dict[str, Any]:
    api.sync_add(
        uid, "I live in Geneva. I'm going to Milan next week.", turn_id="t1", session_id="s"
    )
    api.note(uid, "The vault code is in the blue binder.", turn_id="t2", session_id="s")
    procedure = api.post(
        "/v1/procedures",
        {
            "user_id": uid,
            "trigger": "open the vault",
            "steps": ["find the binder"],
            "success": "door opens",
        },
    ).json()
    resource = api.post(
        "/v1/resources",
        {"user_id": uid, "blob_ref": "vault.png", "mime": "image/png", "caption": "the vault door"},
    ).json()
    job = api.post("/v1/consolidate", {"user_id": uid}).json()["job"]
    api.wait_job(job["id"])
    return {
        "items": api.items(user_id=uid),
        "procedure": procedure,
        "resource": resource,
        "job": job,
        "portrait": api.query("home", user_id=uid)["portrait"],
        "digest": api.post("/v1/compress", {"user_id": uid}).json()["digest"],
        "cursor": api.get("/v1/memories", user_id=uid, limit=1).json()["next_cursor"],
    }


def test_another_tenant_sees_nothing(api: Api, other: Api, uid: str) -> None:
    mine = seed(api, uid)
    assert len(mine["items"]) >= 4
    for scope in ({"user_id": uid}, {"session_id": "s"}, {"user_id": uid, "session_id": "s"}):
        assert other.items(**scope) == []
        for item in mine["items"]:
            problem(other.get(f"/v1/memories/{item['id']}", **scope), 404)
        for query in ("Geneva", "vault binder", "Milan"):
            assert other.search(query, **scope) == []
            answer = other.query(query, **scope)
            assert answer["context"] == "" and answer["results"] == []
            assert answer["foresight"] == [] and answer["portrait"] is None
        recalled = other.post("/v1/procedures/recall", {**scope, "task": "open the vault"}).json()
        assert recalled == {"results": []}
        resources = other.post("/v1/resources/recall", {**scope, "query": "vault door"}).json()
        assert resources == {"results": []}
    assert other.post("/v1/compress", {"user_id": uid}).json() == {"digest": ""}
    assert other.post("/v1/reindex", {"user_id": uid}).json() == {
        "turns_backfilled": 0,
        "panels_refreshed": 0,
    }
    summary = other.post("/v1/consolidate?sync=true", {"user_id": uid}).json()
    assert summary["turns_consolidated"] == 0
    problem(other.get(f"/v1/jobs/{mine['job']['id']}"), 404)
    # A cursor is bound to its tenant too.
    problem(other.get("/v1/memories", user_id=uid, cursor=mine["cursor"]), 422, "cursor")


def test_another_tenant_can_change_or_delete_nothing(api: Api, other: Api, uid: str) -> None:
    mine = seed(api, uid)
    scope = {"user_id": uid}
    fact = next(i for i in mine["items"] if i["type"] == "fact")
    episode = next(i for i in mine["items"] if i["type"] == "episode")
    for item in mine["items"]:
        nothing_forgotten(other.delete(f"/v1/memories/{item['id']}", scope))
    problem(other.patch(f"/v1/memories/{fact['id']}", {**scope, "object": "Bern"}), 404)
    # Another tenant's episode is not found, exactly as one that never existed.
    problem(other.post(f"/v1/memories/{episode['id']}/pin", scope), 404)
    problem(other.delete(f"/v1/memories/{episode['id']}/pin", scope), 404)
    problem(
        other.post(f"/v1/procedures/{mine['procedure']['id']}/outcome", {**scope, "success": True}),
        404,
    )
    for turn in ("t1", "t2"):
        nothing_forgotten(other.delete(f"/v1/memories/turns/{turn}", scope))
        nothing_forgotten(other.delete(f"/v1/memories/turns/{turn}", {**scope, "session_id": "s"}))
    assert other.delete("/v1/memories", scope).json() == {"total": 0}
    assert other.delete("/v1/memories", {"session_id": "s"}).json() == {"total": 0}
    # The same turn id is a new turn in the other tenant, and stays there.
    assert other.note(uid, "other tenant's note", turn_id="t2", session_id="s")["created"] is True
    assert [i["text"] for i in other.items(user_id=uid)] == ["other tenant's note"]

    # Everything of the first tenant is exactly as it was.
    assert api.items(user_id=uid) == mine["items"]
    assert api.query("home", user_id=uid)["portrait"] == mine["portrait"]
    assert api.post("/v1/compress", {"user_id": uid}).json()["digest"] == mine["digest"]
    recalled = api.post("/v1/procedures/recall", {"user_id": uid, "task": "open the vault"}).json()
    assert recalled["results"][0]["procedure"]["uses"] == 0
    pinned = api.get(f"/v1/memories/{episode['id']}", user_id=uid).json()
    assert pinned["metadata"]["tessera"]["pinned"] == episode["metadata"]["tessera"]["pinned"]
    assert api.note(uid, "again", turn_id="t2", session_id="s")["created"] is False

    # And the other tenant's wipe of its own data leaves the first tenant's alone.
    assert other.delete("/v1/memories", scope).json()["total"] >= 2
    assert api.items(user_id=uid) == mine["items"]
