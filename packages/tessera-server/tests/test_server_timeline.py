"""Facts on the valid timeline, over HTTP: placed by when they held, whatever order they
arrive in (single turns, batches, corrections, forgetting), dated as people say them, and
the composed context read as of one instant."""

from __future__ import annotations

from typing import Any

from server_helpers import Api

QUESTION = "where does the user live"


def where(api: Api, uid: str, **travel: str) -> list[str]:
    return sorted(
        h["text"] for h in api.search(QUESTION, user_id=uid, types=["fact"], top_k=20, **travel)
    )


def fact_named(api: Api, uid: str, word: str) -> dict[str, Any]:
    return next(f for f in api.facts(user_id=uid) if word in f["text"])


def timeline_of(fact: dict[str, Any]) -> tuple[str, str | None]:
    t = fact["metadata"]["tessera"]
    return t["t_valid"][:10], (t["t_invalid"] or "")[:10] or None


def test_an_older_fact_imported_after_a_newer_one_is_closed_where_the_newer_begins(
    api: Api, uid: str
) -> None:
    api.sync_add(uid, "I moved to Lisbon.", event_time="2024-06-01T09:00:00Z")
    api.sync_add(uid, "I live in Berlin.", event_time="2023-01-10T09:00:00Z")

    assert where(api, uid) == ["User lives in Lisbon"]
    assert where(api, uid, as_of="2023-06-01T00:00:00Z") == ["User lives in Berlin"]
    assert where(api, uid, as_of="2022-06-01T00:00:00Z") == []
    berlin, lisbon = fact_named(api, uid, "Berlin"), fact_named(api, uid, "Lisbon")
    assert timeline_of(berlin) == ("2023-01-10", "2024-06-01")
    assert berlin["metadata"]["tessera"]["superseded_by"] == lisbon["id"]
    assert timeline_of(lisbon) == ("2024-06-01", None)

    now = api.query(QUESTION, user_id=uid)
    assert now["portrait"]["User"]["lives_in"] == "Lisbon"
    assert "User lives in Berlin (since" not in now["context"]
    assert "User lives in Lisbon (since 1 Jun 2024)" in now["context"]


def test_a_batch_of_old_messages_in_any_order_lands_at_its_own_times(api: Api, uid: str) -> None:
    now_batch = api.post(
        "/v1/memories:batch",
        {
            "user_id": uid,
            "session_id": "recent",
            "messages": [
                {
                    "role": "user",
                    "content": "I work at Initech.",
                    "event_time": "2024-09-01T10:00:00Z",
                }
            ],
        },
    )
    assert now_batch.status_code == 201, now_batch.text
    assert api.post("/v1/consolidate?sync=true", {"user_id": uid}).status_code == 200
    old_batch = api.post(
        "/v1/memories:batch",
        {
            "user_id": uid,
            "session_id": "archive",
            "messages": [
                {
                    "role": "user",
                    "content": "I work at Hooli.",
                    "event_time": "2023-05-01T10:00:00Z",
                },
                {
                    "role": "user",
                    "content": "I work at Acme.",
                    "event_time": "2022-05-01T10:00:00Z",
                },
            ],
        },
    )
    assert old_batch.status_code == 201, old_batch.text
    assert api.post("/v1/consolidate?sync=true", {"user_id": uid}).status_code == 200

    def works(**travel: str) -> list[str]:
        hits = api.search("where does the user work", user_id=uid, types=["fact"], **travel)
        return [h["text"] for h in hits]

    assert works() == ["User works at Initech"]
    assert works(as_of="2023-06-01T00:00:00Z") == ["User works at Hooli"]
    assert works(as_of="2022-06-01T00:00:00Z") == ["User works at Acme"]
    assert timeline_of(fact_named(api, uid, "Acme")) == ("2022-05-01", "2023-05-01")
    assert timeline_of(fact_named(api, uid, "Hooli")) == ("2023-05-01", "2024-09-01")


def test_correcting_a_past_fact_keeps_the_correction_in_the_past(api: Api, uid: str) -> None:
    api.sync_add(uid, "I live in Berlin.", event_time="2023-01-10T09:00:00Z")
    api.sync_add(uid, "I moved to Lisbon.", event_time="2024-06-01T09:00:00Z")
    berlin = fact_named(api, uid, "Berlin")

    fixed = api.patch(f"/v1/memories/{berlin['id']}", {"user_id": uid, "object": "Munich"})
    assert fixed.status_code == 200, fixed.text
    assert where(api, uid) == ["User lives in Lisbon"]
    assert where(api, uid, as_of="2023-06-01T00:00:00Z") == ["User lives in Munich"]
    munich = fact_named(api, uid, "Munich")
    assert timeline_of(munich) == ("2023-01-10", "2024-06-01")
    # the retired fact cannot be corrected twice
    again = api.patch(f"/v1/memories/{berlin['id']}", {"user_id": uid, "object": "Bonn"})
    assert again.status_code == 409


def test_a_correction_with_an_earlier_valid_time_is_placed_there(api: Api, uid: str) -> None:
    api.sync_add(uid, "I live in Berlin.", event_time="2023-01-10T09:00:00Z")
    api.sync_add(uid, "I moved to Lisbon.", event_time="2024-06-01T09:00:00Z")
    lisbon = fact_named(api, uid, "Lisbon")
    fixed = api.patch(
        f"/v1/memories/{lisbon['id']}",
        {"user_id": uid, "object": "Porto", "t_valid": "2024-03-01T00:00:00Z"},
    )
    assert fixed.status_code == 200, fixed.text
    assert timeline_of(fact_named(api, uid, "Berlin")) == ("2023-01-10", "2024-03-01")
    assert where(api, uid) == ["User lives in Porto"]
    assert where(api, uid, as_of="2024-04-01T00:00:00Z") == ["User lives in Porto"]


def test_forgetting_a_turn_from_the_middle_of_a_chain_re_links_its_neighbours(
    api: Api, uid: str
) -> None:
    # newest first, as a history import into a live memory delivers them
    api.sync_add(uid, "I moved to Lisbon.", event_time="2024-06-01T09:00:00Z", turn_id="t-lis")
    api.sync_add(uid, "I moved to Berlin.", event_time="2023-06-01T09:00:00Z", turn_id="t-ber")
    api.sync_add(uid, "I moved to Munich.", event_time="2022-06-01T09:00:00Z", turn_id="t-mun")
    assert timeline_of(fact_named(api, uid, "Munich")) == ("2022-06-01", "2023-06-01")

    gone = api.delete("/v1/memories/turns/t-ber", {"user_id": uid})
    assert gone.status_code == 200, gone.text
    assert timeline_of(fact_named(api, uid, "Munich")) == ("2022-06-01", "2024-06-01")
    assert where(api, uid) == ["User lives in Lisbon"]
    assert where(api, uid, as_of="2023-09-01T00:00:00Z") == ["User lives in Munich"]

    api.delete("/v1/memories/turns/t-lis", {"user_id": uid})
    assert timeline_of(fact_named(api, uid, "Munich")) == ("2022-06-01", None)
    assert where(api, uid) == ["User lives in Munich"]


def test_a_fact_said_with_a_past_date_holds_from_that_date(api: Api, uid: str) -> None:
    api.sync_add(uid, "I moved to Lisbon last month.", event_time="2024-11-25T10:00:00Z")
    assert timeline_of(fact_named(api, uid, "Lisbon")) == ("2024-10-01", None)
    assert where(api, uid, as_of="2024-10-15T00:00:00Z") == ["User lives in Lisbon"]

    other = uid + "-plan"
    api.sync_add(other, "I'm moving to Porto next month.", event_time="2024-11-25T10:00:00Z")
    for fact in api.facts(user_id=other):
        assert timeline_of(fact)[0] == "2024-11-25"  # a plan does not date a fact back


def test_notes_are_dated_in_the_context(api: Api, uid: str) -> None:
    api.note(uid, "Parking spot is number 42 on level B.", event_time="2023-05-04T08:00:00Z")
    context = api.query("parking spot", user_id=uid)["context"]
    assert "[2023-05-04] Parking spot is number 42 on level B." in context


def test_a_past_as_of_gives_profile_facts_and_foresight_of_that_instant(api: Api, uid: str) -> None:
    api.sync_add(uid, "I live in Berlin.", event_time="2023-01-10T09:00:00Z")
    api.sync_add(uid, "I'm flying to Rome next Friday.", event_time="2023-05-30T09:00:00Z")
    api.sync_add(uid, "I moved to Lisbon.", event_time="2024-06-01T09:00:00Z")
    api.sync_add(uid, "I'm flying to Tokyo next Friday.", event_time="2024-06-03T09:00:00Z")

    past = api.query("where do I live and travel", user_id=uid, as_of="2023-06-01T00:00:00Z")
    assert past["portrait"]["User"]["lives_in"] == "Berlin"
    profile_and_facts = past["context"].split("## Episodes")[0]
    assert "Berlin" in profile_and_facts and "Lisbon" not in profile_and_facts
    assert [f["text"] for f in past["facts"]] == ["User lives in Berlin"]
    trips = " ".join(f["content"] for f in past["foresight"])
    assert "Rome" in trips and "Tokyo" not in trips

    now = api.query("where do I live and travel", user_id=uid)
    assert now["portrait"]["User"]["lives_in"] == "Lisbon"
    assert "Rome" not in " ".join(f["content"] for f in now["foresight"])


def test_a_move_dated_back_still_wins_over_a_value_stated_in_between(api: Api, uid: str) -> None:
    api.sync_add(uid, "I live in Berlin.", event_time="2024-11-01T10:00:00Z")
    api.sync_add(uid, "I moved to Lisbon last month.", event_time="2024-11-25T10:00:00Z")
    assert where(api, uid) == ["User lives in Lisbon"]
    assert api.query(QUESTION, user_id=uid)["portrait"]["User"]["lives_in"] == "Lisbon"


def test_a_past_known_as_of_gives_the_profile_believed_then(api: Api, uid: str) -> None:
    api.sync_add(uid, "I work at Initech.")
    old = api.facts(user_id=uid)[0]
    believed_at = old["metadata"]["tessera"]["t_created"]
    fixed = api.patch(f"/v1/memories/{old['id']}", {"user_id": uid, "object": "Hooli"})
    assert fixed.status_code == 200, fixed.text

    before = api.query("where do I work", user_id=uid, known_as_of=believed_at)
    assert before["portrait"]["User"]["works_at"] == "Initech"
    assert "Hooli" not in before["context"].split("## Episodes")[0]
    assert api.query("where do I work", user_id=uid)["portrait"]["User"]["works_at"] == "Hooli"
