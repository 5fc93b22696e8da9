"""Writing, listing, getting, correcting, pinning and forgetting memories, end to end."""

from __future__ import annotations

from typing import Any

from server_helpers import Api, nothing_forgotten, problem, unique


def texts(items: list[dict[str, Any]]) -> str:
    return "\n".join(i["text"] for i in items)


# -- add --------------------------------------------------------------------------------


def test_async_add_stores_and_reports_created(api: Api, uid: str) -> None:
    response = api.add(uid, "We talked about the weather.", turn_id="t-1")
    assert response.status_code == 201
    body = response.json()
    assert body == {
        "turn_id": "t-1",
        "created": True,
        "consolidation_queued": False,
        "job": None,
    }
    replay = api.add(uid, "We talked about the weather.", turn_id="t-1")
    assert replay.status_code == 201
    assert replay.json()["created"] is False
    assert replay.json()["consolidation_queued"] is False


def test_async_add_generates_a_turn_id(api: Api, uid: str) -> None:
    first = api.add_ok(uid, "first")
    second = api.add_ok(uid, "second")
    assert first["turn_id"] and second["turn_id"]
    assert first["turn_id"] != second["turn_id"]
    assert first["created"] and second["created"]


def test_async_adds_queue_consolidation_on_the_cadence(api: Api, uid: str) -> None:
    # The service consolidates after 8 unconsolidated turns (TESSERA_CONSOLIDATE_EVERY).
    bodies = [api.add_ok(uid, f"I like sailboat model {i}.") for i in range(8)]
    assert all(not b["consolidation_queued"] for b in bodies[:7])
    assert bodies[7]["consolidation_queued"] is True
    job = bodies[7]["job"]
    assert job["id"].startswith("job_") and job["status"] == "queued"
    done = api.wait_job(job["id"])
    assert done["status"] == "succeeded", done
    assert done["kind"] == "consolidate"
    assert done["error"] is None
    episodes = api.episodes(user_id=uid)
    assert episodes, "the job created no episodes"
    assert "sailboat model 0" in texts(episodes)
    assert "User likes sailboat model 0" in texts(api.facts(user_id=uid))


def test_sync_add_consolidates_inline_and_reports_counts(api: Api, uid: str) -> None:
    response = api.add(uid, "I live in Berlin.", mode="sync", turn_id="home")
    assert response.status_code == 200
    assert response.json() == {
        "turn_id": "home",
        "consolidation": {
            "tesserae_created": 1,
            "facts_created": 1,
            "foresight_created": 0,
            "turns_consolidated": 1,
            "llm_calls": 0,
        },
    }
    facts = api.facts(user_id=uid)
    assert [f["text"] for f in facts] == ["User lives in Berlin"]
    assert facts[0]["metadata"]["tessera"]["source_turn_ids"] == ["home"]


def test_sync_add_also_consolidates_earlier_async_turns(api: Api, uid: str) -> None:
    api.add_ok(uid, "My sister's name is Ana.")
    api.add_ok(uid, "I'm going to Lisbon next week.")
    summary = api.sync_add(uid, "I prefer green tea.")["consolidation"]
    assert summary["turns_consolidated"] == 3
    assert summary["facts_created"] == 2
    assert summary["foresight_created"] == 1
    assert summary["tesserae_created"] >= 1
    assert summary["llm_calls"] == 0
    # Nothing is left pending: a second consolidation finds nothing to do.
    again = api.post("/v1/consolidate?sync=true", {"user_id": uid})
    assert again.status_code == 200
    assert again.json()["turns_consolidated"] == 0


def test_infer_false_is_listable_and_searchable_at_once_verbatim(api: Api, uid: str) -> None:
    content = "Convention: I live in Quuxtown and branch names use kebab-case."
    body = api.note(uid, content, metadata={"kind": "convention"})
    assert body["created"] is True
    assert body["consolidation_queued"] is False and body["job"] is None
    items = api.items(user_id=uid)
    assert len(items) == 1
    item = items[0]
    assert item["type"] == "episode" and item["text"] == content
    assert item["metadata"]["kind"] == "convention"
    assert item["metadata"]["tessera"]["source_turn_ids"] == [body["turn_id"]]
    # Stored verbatim, never interpreted: no fact was drawn from "I live in".
    assert api.facts(user_id=uid) == []
    hits = api.search("Quuxtown kebab-case branch names", user_id=uid)
    assert hits and hits[0]["id"] == item["id"]
    # ... and consolidation leaves it alone.
    summary = api.post("/v1/consolidate?sync=true", {"user_id": uid}).json()
    assert summary["turns_consolidated"] == 0
    assert api.facts(user_id=uid) == []


def test_metadata_and_event_time_are_kept(api: Api, uid: str) -> None:
    api.sync_add(
        uid,
        "I work at Globex.",
        event_time="2023-05-08T09:30:00+02:00",
        metadata={"source": "chat", "n": 3, "nested": {"a": [1, 2]}},
    )
    episode = api.episodes(user_id=uid)[0]
    assert episode["metadata"]["source"] == "chat"
    assert episode["metadata"]["nested"] == {"a": [1, 2]}
    assert episode["metadata"]["tessera"]["event_time"].startswith("2023-05-08T07:30:00")
    assert episode["text"].startswith("[2023-05-08]")
    fact = api.facts(user_id=uid)[0]
    assert fact["metadata"]["tessera"]["t_valid"].startswith("2023-05-08T07:30:00")


def test_session_scope_narrows_and_user_scope_spans_sessions(api: Api, uid: str) -> None:
    api.note(uid, "note in session one", session_id="s1")
    api.note(uid, "note in session two", session_id="s2")
    assert texts(api.items(user_id=uid, session_id="s1")) == "note in session one"
    assert texts(api.items(user_id=uid, session_id="s2")) == "note in session two"
    assert len(api.items(user_id=uid)) == 2


def test_same_turn_id_in_another_scope_is_a_new_turn(api: Api, uid: str) -> None:
    assert api.note(uid, "a", turn_id="shared", session_id="s1")["created"] is True
    assert api.note(uid, "b", turn_id="shared", session_id="s2")["created"] is True
    assert api.note(uid, "c", turn_id="shared", session_id="s2")["created"] is False
    assert len(api.items(user_id=uid)) == 2


# -- batch ------------------------------------------------------------------------------


def test_batch_appends_in_order_and_replays_are_no_ops(api: Api, uid: str) -> None:
    messages = [
        {"role": "user", "content": "I adopted a dog yesterday.", "turn_id": "b1"},
        {"role": "assistant", "content": "Congratulations! What is its name?", "turn_id": "b2"},
        {"role": "user", "content": "My dog's name is Rex.", "turn_id": "b3"},
    ]
    response = api.post("/v1/memories:batch", {"user_id": uid, "messages": messages})
    assert response.status_code == 201
    results = response.json()["results"]
    assert [r["turn_id"] for r in results] == ["b1", "b2", "b3"]
    assert all(r["created"] for r in results)
    assert all(r["consolidation_queued"] is False and r["job"] is None for r in results)

    again = api.post("/v1/memories:batch", {"user_id": uid, "messages": messages[1:]})
    assert again.status_code == 201
    assert [r["created"] for r in again.json()["results"]] == [False, False]

    summary = api.post("/v1/consolidate?sync=true", {"user_id": uid}).json()
    assert summary["turns_consolidated"] == 3
    # Episodes are exchanges: the statement stands alone, the question keeps its reply, and each
    # episode's sources are in the batch's order.
    sources = sorted(e["metadata"]["tessera"]["source_turn_ids"] for e in api.episodes(user_id=uid))
    assert sources == [["b1"], ["b2", "b3"]]
    exchange = next(e["text"] for e in api.episodes(user_id=uid) if "Rex" in e["text"])
    assert exchange.index("What is its name") < exchange.index("Rex")
    assert "User's dog is Rex" in texts(api.facts(user_id=uid))


def test_batch_queues_consolidation_on_the_cadence(api: Api, uid: str) -> None:
    messages = [{"role": "user", "content": f"I enjoy puzzle number {i}."} for i in range(9)]
    results = api.post("/v1/memories:batch", {"user_id": uid, "messages": messages}).json()[
        "results"
    ]
    assert len(results) == 9
    queued = [r for r in results if r["consolidation_queued"]]
    assert len(queued) == 1 and queued[0]["job"]["id"].startswith("job_")
    assert api.wait_job(queued[0]["job"]["id"])["status"] == "succeeded"
    assert api.episodes(user_id=uid)


def test_batch_with_infer_false_stores_each_message_verbatim(api: Api, uid: str) -> None:
    messages = [{"role": "user", "content": f"verbatim line {i}"} for i in range(3)]
    body = {"user_id": uid, "messages": messages, "infer": False, "metadata": {"src": "import"}}
    assert api.post("/v1/memories:batch", body).status_code == 201
    items = api.items(user_id=uid)
    assert sorted(i["text"] for i in items) == [f"verbatim line {i}" for i in range(3)]
    assert all(i["metadata"]["src"] == "import" for i in items)


# -- list and get -----------------------------------------------------------------------


def test_list_is_newest_first_with_stable_keyset_pages(api: Api, uid: str) -> None:
    for i in range(7):
        api.note(uid, f"old note {i}")
    seen: list[dict[str, Any]] = []
    cursor = None
    pages = 0
    while True:
        response = api.get("/v1/memories", user_id=uid, limit=3, cursor=cursor)
        assert response.status_code == 200
        page = response.json()
        assert len(page["items"]) <= 3
        seen.extend(page["items"])
        pages += 1
        # New memories arrive while the client is paging.
        api.note(uid, f"new note during page {pages}")
        if not page["has_more"]:
            assert page["next_cursor"] is None
            break
        assert page["next_cursor"]
        cursor = page["next_cursor"]
    assert pages == 3
    assert [i["text"] for i in seen] == [f"old note {i}" for i in reversed(range(7))]
    assert len({i["id"] for i in seen}) == 7
    stamps = [i["created_at"] for i in seen]
    assert stamps == sorted(stamps, reverse=True)
    # The newcomers are all there on a fresh listing, ahead of the old ones.
    everything = api.items(user_id=uid)
    assert [i["text"] for i in everything[:3]] == [f"new note during page {p}" for p in (3, 2, 1)]
    assert len(everything) == 10


def test_list_default_and_bounds(api: Api, uid: str) -> None:
    empty = api.get("/v1/memories", user_id=uid).json()
    assert empty == {"items": [], "has_more": False, "next_cursor": None}
    problem(api.get("/v1/memories", user_id=uid, limit=0), 422, "limit")
    problem(api.get("/v1/memories", user_id=uid, limit=201), 422, "limit")
    problem(api.get("/v1/memories", user_id=uid, limit="ten"), 422, "limit")
    assert api.get("/v1/memories", user_id=uid, limit=200).status_code == 200


def test_cursor_is_bound_to_its_scope_and_tamper_proof(api: Api, uid: str) -> None:
    for i in range(3):
        api.note(uid, f"n{i}")
    cursor = api.get("/v1/memories", user_id=uid, limit=1).json()["next_cursor"]
    problem(api.get("/v1/memories", user_id=unique(), cursor=cursor), 422, "cursor")
    for bad in ("garbage", "x" * 600, "eyJ0IjoxfQ", "%%%", cursor[:-3]):
        problem(api.get("/v1/memories", user_id=uid, cursor=bad), 422, "cursor")


def test_get_returns_item_with_provenance(api: Api, uid: str) -> None:
    api.sync_add(uid, "I live in Oslo.", turn_id="oslo")
    for item in api.items(user_id=uid):
        response = api.get(f"/v1/memories/{item['id']}", user_id=uid)
        assert response.status_code == 200
        got = response.json()
        assert got == item
        assert got["metadata"]["tessera"]["source_turn_ids"] == ["oslo"]
    fact = api.facts(user_id=uid)[0]
    tessera = fact["metadata"]["tessera"]
    assert tessera["subject"] == "User" and tessera["relation"] == "lives_in"
    assert tessera["object"] == "Oslo" and tessera["t_expired"] is None


def test_get_scoped_by_session(api: Api, uid: str) -> None:
    api.note(uid, "in s1", session_id="s1")
    item = api.items(user_id=uid)[0]
    assert api.get(f"/v1/memories/{item['id']}", user_id=uid, session_id="s1").status_code == 200
    problem(api.get(f"/v1/memories/{item['id']}", user_id=uid, session_id="s2"), 404)
    problem(api.get(f"/v1/memories/{item['id']}", user_id=unique()), 404)


# -- delete -----------------------------------------------------------------------------


def test_delete_fact_counts_exactly(api: Api, uid: str) -> None:
    api.sync_add(uid, "I live in Prague.")
    fact = api.facts(user_id=uid)[0]
    response = api.delete(f"/v1/memories/{fact['id']}", {"user_id": uid})
    assert response.status_code == 200
    assert response.json() == {
        "turns_deleted": 0,
        "tesserae_deleted": 0,
        "facts_deleted": 1,
        "foresight_deleted": 0,
    }
    problem(api.get(f"/v1/memories/{fact['id']}", user_id=uid), 404)
    nothing_forgotten(api.delete(f"/v1/memories/{fact['id']}", {"user_id": uid}))
    assert api.search("Prague", user_id=uid, types=["fact"]) == []
    assert len(api.episodes(user_id=uid)) == 1
    # The portrait forgot it too.
    assert api.query("Prague", user_id=uid)["portrait"] in (None, {})


def test_delete_episode_takes_its_facts_and_foresight(api: Api, uid: str) -> None:
    summary = api.sync_add(uid, "I live in Madrid. I'm going to Rome next week.")["consolidation"]
    assert summary == {
        "tesserae_created": 1,
        "facts_created": 1,
        "foresight_created": 1,
        "turns_consolidated": 1,
        "llm_calls": 0,
    }
    episode = api.episodes(user_id=uid)[0]
    response = api.delete(f"/v1/memories/{episode['id']}", {"user_id": uid})
    assert response.status_code == 200
    assert response.json() == {
        "turns_deleted": 0,
        "tesserae_deleted": 1,
        "facts_deleted": 1,
        "foresight_deleted": 1,
    }
    assert api.items(user_id=uid) == []
    answer = api.query("Rome Madrid", user_id=uid)
    assert answer["foresight"] == [] and answer["results"] == []


def test_delete_note_also_deletes_its_turn(api: Api, uid: str) -> None:
    body = api.note(uid, "a verbatim note", turn_id="n1")
    note = api.items(user_id=uid)[0]
    response = api.delete(f"/v1/memories/{note['id']}", {"user_id": uid})
    assert response.json() == {
        "turns_deleted": 1,
        "tesserae_deleted": 1,
        "facts_deleted": 0,
        "foresight_deleted": 0,
    }
    nothing_forgotten(api.delete(f"/v1/memories/turns/{body['turn_id']}", {"user_id": uid}))
    # The turn is gone, so its id can be used again.
    assert api.note(uid, "a verbatim note", turn_id="n1")["created"] is True


# -- forget_turn ------------------------------------------------------------------------


def test_forget_turn_of_its_own_episode(api: Api, uid: str) -> None:
    api.sync_add(uid, "I live in Vienna. I'm going to Graz tomorrow.", turn_id="v1")
    api.sync_add(uid, "I prefer black coffee.", turn_id="v2")
    response = api.delete("/v1/memories/turns/v1", {"user_id": uid})
    assert response.status_code == 200
    assert response.json() == {
        "turns_deleted": 1,
        "tesserae_deleted": 1,
        "facts_deleted": 1,
        "foresight_deleted": 1,
    }
    remaining = api.items(user_id=uid)
    assert "Vienna" not in texts(remaining) and "Graz" not in texts(remaining)
    assert "black coffee" in texts(remaining)
    nothing_forgotten(api.delete("/v1/memories/turns/v1", {"user_id": uid}))
    answer = api.query("Vienna Graz", user_id=uid)
    assert "Vienna" not in answer["context"] and "Graz" not in answer["context"]
    assert answer["foresight"] == []
    assert "Vienna" not in str(answer["portrait"])


def test_forget_turn_renarrates_a_shared_episode(api: Api, uid: str) -> None:
    messages = [
        # A question and its reply make one episode (an exchange).
        {"role": "user", "content": "I live in Lisbon. Have you been there?", "turn_id": "m1"},
        {"role": "user", "content": "My sister's name is Ana.", "turn_id": "m2"},
    ]
    api.post("/v1/memories:batch", {"user_id": uid, "messages": messages})
    summary = api.post("/v1/consolidate?sync=true", {"user_id": uid}).json()
    assert summary["tesserae_created"] == 1 and summary["facts_created"] == 2
    episode = api.episodes(user_id=uid)[0]
    assert "Lisbon" in episode["text"] and "Ana" in episode["text"]

    response = api.delete("/v1/memories/turns/m1", {"user_id": uid})
    assert response.json() == {
        "turns_deleted": 1,
        "tesserae_deleted": 0,
        "facts_deleted": 1,
        "foresight_deleted": 0,
    }
    after = api.get(f"/v1/memories/{episode['id']}", user_id=uid).json()
    assert "Lisbon" not in after["text"] and "Ana" in after["text"]
    assert after["metadata"]["tessera"]["source_turn_ids"] == ["m2"]
    assert [f["text"] for f in api.facts(user_id=uid)] == ["User's sister is Ana"]
    assert all("Lisbon" not in h["text"] for h in api.search("Lisbon", user_id=uid))


def test_forget_turn_that_is_pending(api: Api, uid: str) -> None:
    api.add_ok(uid, "I live in Turin.", turn_id="p1")
    response = api.delete("/v1/memories/turns/p1", {"user_id": uid})
    assert response.json() == {
        "turns_deleted": 1,
        "tesserae_deleted": 0,
        "facts_deleted": 0,
        "foresight_deleted": 0,
    }
    summary = api.post("/v1/consolidate?sync=true", {"user_id": uid}).json()
    assert summary["turns_consolidated"] == 0
    assert api.items(user_id=uid) == []


# -- correct ----------------------------------------------------------------------------


def test_correct_creates_a_successor_and_expires_the_old_fact(api: Api, uid: str) -> None:
    api.sync_add(uid, "I live in Berlin.")
    old = api.facts(user_id=uid)[0]
    response = api.patch(f"/v1/memories/{old['id']}", {"user_id": uid, "object": "Hamburg"})
    assert response.status_code == 200
    new = response.json()
    assert new["id"].startswith("ft_") and new["id"] != old["id"]
    assert new["type"] == "fact"
    assert new["text"] == "User lives in Hamburg"
    assert new["confidence"] == 1.0
    assert new["t_valid"]

    expired = api.get(f"/v1/memories/{old['id']}", user_id=uid).json()["metadata"]["tessera"]
    assert expired["t_expired"] is not None
    assert expired["superseded_by"] == new["id"]
    current = api.facts(user_id=uid)
    assert [f["id"] for f in current] == [new["id"]]
    assert current[0]["metadata"]["corrects"] == old["id"]
    assert [
        h["id"] for h in api.search("where does the user live", user_id=uid, types=["fact"])
    ] == [new["id"]]
    assert api.query("home", user_id=uid)["portrait"]["User"]["lives_in"] == "Hamburg"

    again = api.patch(f"/v1/memories/{old['id']}", {"user_id": uid, "object": "Bremen"})
    problem(again, 409, "superseded")
    # The current fact can still be corrected, with an explicit confidence and t_valid.
    third = api.patch(
        f"/v1/memories/{new['id']}",
        {"user_id": uid, "object": "Kiel", "confidence": 0.5, "t_valid": "2024-01-01T00:00:00Z"},
    )
    assert third.status_code == 200
    assert third.json()["confidence"] == 0.5
    assert third.json()["t_valid"].startswith("2024-01-01T00:00:00")


def test_correct_rejects_bad_values(api: Api, uid: str) -> None:
    api.sync_add(uid, "I live in Porto.")
    fact = api.facts(user_id=uid)[0]
    path = f"/v1/memories/{fact['id']}"
    problem(api.patch(path, {"user_id": uid, "object": ""}), 422, "object")
    problem(api.patch(path, {"user_id": uid, "object": "x", "confidence": 1.5}), 422, "confidence")
    problem(api.patch(path, {"user_id": uid, "object": "x", "confidence": -0.1}), 422)
    problem(
        api.patch(path, {"user_id": uid, "object": "x", "t_valid": "2024-01-01T00:00:00"}),
        422,
        "timezone",
    )
    problem(api.patch(path, {"user_id": uid}), 422, "object")
    # Nothing changed.
    assert [f["id"] for f in api.facts(user_id=uid)] == [fact["id"]]


# -- pin --------------------------------------------------------------------------------


def test_pin_and_unpin_report_changes(api: Api, uid: str) -> None:
    api.note(uid, "pin me")
    episode = api.items(user_id=uid)[0]
    path = f"/v1/memories/{episode['id']}/pin"
    assert api.post(path, {"user_id": uid}).json() == {
        "id": episode["id"],
        "pinned": True,
        "changed": True,
    }
    assert api.post(path, {"user_id": uid}).json()["changed"] is False
    got = api.get(f"/v1/memories/{episode['id']}", user_id=uid).json()
    assert got["metadata"]["tessera"]["pinned"] is True
    assert api.delete(path, {"user_id": uid}).json() == {
        "id": episode["id"],
        "pinned": False,
        "changed": True,
    }
    assert api.delete(path, {"user_id": uid}).json()["changed"] is False
    got = api.get(f"/v1/memories/{episode['id']}", user_id=uid).json()
    assert got["metadata"]["tessera"]["pinned"] is False


def test_sync_add_with_infer_false_answers_with_the_sync_body(api: Api, uid: str) -> None:
    response = api.add(uid, "verbatim and synchronous", mode="sync", infer=False, turn_id="vs")
    assert response.status_code == 200
    assert response.json() == {
        "turn_id": "vs",
        "consolidation": {
            "tesserae_created": 1,
            "facts_created": 0,
            "foresight_created": 0,
            "turns_consolidated": 0,
            "llm_calls": 0,
        },
    }
    replay = api.add(uid, "verbatim and synchronous", mode="sync", infer=False, turn_id="vs")
    assert replay.status_code == 200
    assert replay.json()["consolidation"]["tesserae_created"] == 0
    assert [i["text"] for i in api.items(user_id=uid)] == ["verbatim and synchronous"]


def test_pages_split_items_created_in_the_same_instant(api: Api, uid: str) -> None:
    # One consolidation writes its episode and facts with one timestamp.
    api.sync_add(uid, "I live in Bonn. My wife's name is Ida. I prefer tea. I speak Dutch.")
    api.sync_add(uid, "I love jazz. I play the piano. I'm allergic to nuts.")
    everything = api.items(user_id=uid)
    assert len(everything) >= 8
    paged: list[dict[str, Any]] = []
    cursor = None
    while True:
        page = api.get("/v1/memories", user_id=uid, limit=1, cursor=cursor).json()
        paged.extend(page["items"])
        if not page["has_more"]:
            break
        cursor = page["next_cursor"]
    assert [i["id"] for i in paged] == [i["id"] for i in everything]
    for size in (2, 3, 5):
        ids: list[str] = []
        cursor = None
        while True:
            page = api.get("/v1/memories", user_id=uid, limit=size, cursor=cursor).json()
            ids.extend(i["id"] for i in page["items"])
            if not page["has_more"]:
                break
            cursor = page["next_cursor"]
        assert ids == [i["id"] for i in everything]


def test_duplicate_turn_ids_inside_one_batch(api: Api, uid: str) -> None:
    messages = [
        {"role": "user", "content": "first", "turn_id": "dup"},
        {"role": "user", "content": "second", "turn_id": "dup"},
        {"role": "user", "content": "third", "turn_id": "other"},
    ]
    body = {"user_id": uid, "messages": messages, "infer": False}
    results = api.post("/v1/memories:batch", body).json()["results"]
    assert [r["created"] for r in results] == [True, False, True]
    assert sorted(i["text"] for i in api.items(user_id=uid)) == ["first", "third"]


def test_forgetting_a_superseding_statement_restores_the_earlier_fact(api: Api, uid: str) -> None:
    api.sync_add(uid, "I live in Berlin.", turn_id="berlin", event_time="2024-01-01T00:00:00Z")
    api.sync_add(uid, "I moved to Munich.", turn_id="munich", event_time="2024-06-01T00:00:00Z")
    assert api.query("home", user_id=uid)["portrait"] == {"User": {"lives_in": "Munich"}}
    forgotten = api.delete("/v1/memories/turns/munich", {"user_id": uid}).json()
    assert forgotten["facts_deleted"] == 1
    # What the forgotten turn alone brought about is undone: Berlin is current again.
    assert api.query("home", user_id=uid)["portrait"] == {"User": {"lives_in": "Berlin"}}
    berlin = api.facts(user_id=uid)[0]["metadata"]["tessera"]
    assert berlin["t_invalid"] is None and berlin["superseded_by"] is None
    hits = api.search("where does the user live", user_id=uid, types=["fact"])
    assert [h["text"] for h in hits] == ["User lives in Berlin"]
    # The same holds when the superseding fact itself is deleted.
    api.sync_add(uid, "I moved to Hamburg.", turn_id="hamburg")
    hamburg = next(f for f in api.facts(user_id=uid) if "Hamburg" in f["text"])
    api.delete(f"/v1/memories/{hamburg['id']}", {"user_id": uid})
    assert api.query("home", user_id=uid)["portrait"] == {"User": {"lives_in": "Berlin"}}


def test_forgetting_the_middle_of_a_chain_links_the_ends(api: Api, uid: str) -> None:
    for turn_id, city, when in (
        ("a", "Berlin", "2024-01-01T00:00:00Z"),
        ("b", "Paris", "2024-02-01T00:00:00Z"),
        ("c", "Rome", "2024-03-01T00:00:00Z"),
    ):
        api.sync_add(uid, f"I moved to {city}.", turn_id=turn_id, event_time=when)
    api.delete("/v1/memories/turns/b", {"user_id": uid})
    facts = {f["text"]: f for f in api.facts(user_id=uid)}
    assert set(facts) == {"User lives in Berlin", "User lives in Rome"}
    berlin = facts["User lives in Berlin"]["metadata"]["tessera"]
    assert berlin["superseded_by"] == facts["User lives in Rome"]["id"]
    assert berlin["t_invalid"].startswith("2024-03-01T00:00:00")
    assert api.query("home", user_id=uid)["portrait"] == {"User": {"lives_in": "Rome"}}
    feb = api.search(
        "where does the user live", user_id=uid, types=["fact"], as_of="2024-02-15T00:00:00Z"
    )
    assert [h["text"] for h in feb] == ["User lives in Berlin"]


def test_forged_cursors_are_422(api: Api, service: Any, uid: str) -> None:
    import base64
    import hashlib
    import json
    import sqlite3
    from contextlib import closing

    database = service.env["TESSERA_DATABASE_URL"].removeprefix("sqlite:///")
    with closing(sqlite3.connect(database)) as db:
        tenant = db.execute("SELECT id FROM tenants WHERE name = 'test'").fetchone()[0]
    owner = hashlib.sha256(f"{tenant}|{uid}|".encode()).hexdigest()[:16]
    api.note(uid, "n")

    def forge(data: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(data).encode()).decode().rstrip("=")

    good = forge({"t": "2999-01-01T00:00:00+00:00", "i": "ep_x", "s": owner})
    assert len(api.get("/v1/memories", user_id=uid, cursor=good).json()["items"]) == 1
    for data in (
        {"t": "0001-01-01T00:00:00+14:00", "i": "ep_x", "s": owner},
        {"t": "9999-12-31T23:59:59-14:00", "i": "ep_x", "s": owner},
        {"t": "2024-01-01T00:00:00", "i": "ep_x", "s": owner},
        {"t": 5, "i": "ep_x", "s": owner},
        {"t": "2024-01-01T00:00:00Z", "i": None, "s": owner},
        {"t": "2024-01-01T00:00:00Z", "s": owner},
        [1, 2, 3],
    ):
        problem(api.get("/v1/memories", user_id=uid, cursor=forge(data)), 422, "cursor")
