"""Search and query: kinds, bounds, filters, time travel and the composed context."""

from __future__ import annotations

from typing import Any

import pytest
from server_helpers import Api, problem


def ids(hits: list[dict[str, Any]]) -> list[str]:
    return [h["id"] for h in hits]


def assert_descending(hits: list[dict[str, Any]]) -> None:
    scores = [h["score"] for h in hits]
    assert scores == sorted(scores, reverse=True), scores


@pytest.fixture
def facts_and_notes(api: Api, uid: str) -> str:
    api.sync_add(uid, "I live in Berlin. My partner's name is Sam.")
    api.sync_add(uid, "I prefer dark roast coffee.")
    api.note(uid, "Berlin apartment lease renews in March.")
    return uid


def test_search_finds_episodes_and_facts_scores_descending(api: Api, facts_and_notes: str) -> None:
    uid = facts_and_notes
    hits = api.search("Where does the user live? Berlin", user_id=uid)
    assert {h["type"] for h in hits} == {"episode", "fact"}
    assert "User lives in Berlin" in [h["text"] for h in hits]
    assert_descending(hits)
    raw = api.search("Where does the user live? Berlin", user_id=uid, rerank=False)
    assert_descending(raw)
    assert set(ids(raw)) <= {i["id"] for i in api.items(user_id=uid)}


def test_search_types_restrict_kinds(api: Api, facts_and_notes: str) -> None:
    uid = facts_and_notes
    facts = api.search("coffee Berlin Sam", user_id=uid, types=["fact"])
    assert facts and all(h["type"] == "fact" for h in facts)
    assert all(h["id"].startswith("ft_") for h in facts)
    episodes = api.search("coffee Berlin Sam", user_id=uid, types=["episode"])
    assert episodes and all(h["type"] == "episode" for h in episodes)
    both = api.search("coffee Berlin Sam", user_id=uid, types=["episode", "fact"])
    assert {h["type"] for h in both} == {"episode", "fact"}
    problem(api.post("/v1/search", {"user_id": uid, "query": "x", "types": ["turn"]}), 422, "types")


def test_top_k_bounds(api: Api, uid: str) -> None:
    for i in range(12):
        api.note(uid, f"harbour crane number {i} was inspected")
    assert len(api.search("harbour crane inspected", user_id=uid)) == 10  # the default k
    assert len(api.search("harbour crane inspected", user_id=uid, top_k=1)) == 1
    assert len(api.search("harbour crane inspected", user_id=uid, top_k=100)) == 12
    for bad in (0, -1, 101, 10**6):
        problem(api.post("/v1/search", {"user_id": uid, "query": "x", "top_k": bad}), 422, "top_k")
        problem(api.post("/v1/query", {"user_id": uid, "query": "x", "top_k": bad}), 422, "top_k")
    problem(api.post("/v1/search", {"user_id": uid, "query": "x", "top_k": "ten"}), 422, "top_k")


def test_empty_and_odd_queries(api: Api, uid: str) -> None:
    api.note(uid, "the quick brown fox")
    problem(api.post("/v1/search", {"user_id": uid, "query": ""}), 422, "query")
    problem(api.post("/v1/search", {"user_id": uid, "query": "   "}), 422, "query")
    problem(api.post("/v1/query", {"user_id": uid, "query": ""}), 422, "query")
    # Full-text syntax in the query is searched for, never interpreted.
    for odd in (
        '"*) OR NEAR(a',
        "fox*",
        "NOT fox",
        "fox AND",
        "'; DROP TABLE episodes; --",
        "!!!",
        "ü ß 東京",
    ):
        hits = api.search(odd, user_id=uid)
        assert len(hits) <= 1
    assert api.search("quick fox", user_id=uid)[0]["text"] == "the quick brown fox"


# -- filters ----------------------------------------------------------------------------


@pytest.fixture
def tagged(api: Api, uid: str) -> str:
    for topic, priority, when in (
        ("alpha", 1, "2020-03-01T10:00:00Z"),
        ("beta", 5, "2022-03-01T10:00:00Z"),
        ("gamma", 9, "2024-03-01T10:00:00Z"),
    ):
        api.note(
            uid,
            f"zebra project status report {topic}",
            metadata={"topic": topic, "priority": priority, "urgent": priority > 4},
            event_time=when,
        )
    api.note(uid, "zebra project reply from the assistant", role="assistant")
    return uid


def filtered(api: Api, uid: str, *clauses: dict[str, Any], **extra: Any) -> list[str]:
    hits = api.search("zebra project", user_id=uid, top_k=50, filters=list(clauses), **extra)
    return sorted(h["text"].rsplit(" ", 1)[-1] for h in hits)


def test_metadata_filters(api: Api, tagged: str) -> None:
    uid = tagged
    assert filtered(api, uid, {"field": "metadata.topic", "op": "eq", "value": "alpha"}) == [
        "alpha"
    ]
    assert filtered(api, uid, {"field": "metadata.topic", "op": "ne", "value": "alpha"}) == [
        "beta",
        "gamma",
    ]
    assert filtered(
        api, uid, {"field": "metadata.topic", "op": "in", "value": ["alpha", "gamma"]}
    ) == ["alpha", "gamma"]
    assert filtered(api, uid, {"field": "metadata.priority", "op": "gte", "value": 5}) == [
        "beta",
        "gamma",
    ]
    assert filtered(api, uid, {"field": "metadata.priority", "op": "lt", "value": 5}) == ["alpha"]
    assert filtered(api, uid, {"field": "metadata.priority", "op": "gt", "value": 9}) == []
    assert filtered(api, uid, {"field": "metadata.priority", "op": "lte", "value": 1.5}) == [
        "alpha"
    ]
    assert filtered(api, uid, {"field": "metadata.urgent", "op": "eq", "value": True}) == [
        "beta",
        "gamma",
    ]
    # Clauses are ANDed.
    assert filtered(
        api,
        uid,
        {"field": "metadata.topic", "op": "in", "value": ["beta", "gamma"]},
        {"field": "metadata.priority", "op": "lt", "value": 9},
    ) == ["beta"]
    assert filtered(api, uid, {"field": "metadata.missing", "op": "eq", "value": "x"}) == []


def test_intrinsic_filters(api: Api, tagged: str) -> None:
    uid = tagged
    assert filtered(api, uid, {"field": "role", "op": "eq", "value": "assistant"}) == ["assistant"]
    assert len(filtered(api, uid, {"field": "role", "op": "in", "value": ["user", "system"]})) == 3
    assert filtered(
        api, uid, {"field": "event_time", "op": "lt", "value": "2021-01-01T00:00:00Z"}
    ) == ["alpha"]
    assert filtered(
        api, uid, {"field": "event_time", "op": "gte", "value": "2022-03-01T12:00:00+02:00"}
    ) == ["assistant", "beta", "gamma"]  # the assistant's note is from today
    between = filtered(
        api,
        uid,
        {"field": "event_time", "op": "gt", "value": "2021-01-01T00:00:00Z"},
        {"field": "event_time", "op": "lt", "value": "2023-01-01T00:00:00Z"},
    )
    assert between == ["beta"]
    assert filtered(api, uid, {"field": "importance", "op": "gte", "value": 0.9}) == []
    assert len(filtered(api, uid, {"field": "importance", "op": "lte", "value": 0.5})) == 4
    assert (
        filtered(api, uid, {"field": "created_at", "op": "gt", "value": "2999-01-01T00:00:00Z"})
        == []
    )
    # `confidence` exists only on facts, so it restricts the search to facts.
    api.sync_add(uid, "I prefer zebra project meetings in the morning.")
    hits = api.search(
        "zebra project",
        user_id=uid,
        filters=[{"field": "confidence", "op": "gte", "value": 0}],
    )
    assert hits and all(h["type"] == "fact" for h in hits)


def test_query_accepts_filters(api: Api, tagged: str) -> None:
    answer = api.query(
        "zebra project",
        user_id=tagged,
        filters=[{"field": "metadata.topic", "op": "eq", "value": "beta"}],
    )
    assert [h["text"] for h in answer["results"]] == ["zebra project status report beta"]


BAD_FILTERS: list[tuple[Any, str]] = [
    ({"field": "colour", "op": "eq", "value": "red"}, "unknown filter field"),
    ({"field": "text", "op": "eq", "value": "x"}, "unknown filter field"),
    ({"field": "importance; DROP TABLE episodes", "op": "eq", "value": 1}, "unknown"),
    ({"field": "importance", "op": "eq", "value": "high"}, "number"),
    ({"field": "importance", "op": "eq", "value": True}, "number"),
    ({"field": "importance", "op": "eq", "value": None}, "number"),
    ({"field": "importance", "op": "gt", "value": 10**30}, "importance"),
    ({"field": "importance", "op": "in", "value": [0.5, 10**30]}, "importance"),
    ({"field": "metadata.n", "op": "eq", "value": 10**30}, "metadata.n"),
    ({"field": "metadata.n", "op": "eq", "value": -(10**19)}, "metadata.n"),
    ({"field": "importance", "op": "eq", "value": [0.5]}, "in"),
    ({"field": "role", "op": "ne", "value": ["user"]}, "in"),
    ({"field": "importance", "op": "in", "value": 0.5}, "list"),
    ({"field": "importance", "op": "in", "value": []}, "list"),
    ({"field": "importance", "op": "in", "value": list(range(101))}, "list"),
    ({"field": "importance", "op": "like", "value": 1}, "op"),
    ({"field": "importance", "value": 1}, "op"),
    ({"field": "importance", "op": "eq"}, "value"),
    ({"op": "eq", "value": 1}, "field"),
    ({"field": "importance", "op": "eq", "value": 1, "extra": 1}, "extra"),
    ({"field": "event_time", "op": "gt", "value": "2024-01-01T00:00:00"}, "timezone"),
    ({"field": "event_time", "op": "gt", "value": "yesterday"}, "iso 8601"),
    ({"field": "event_time", "op": "gt", "value": 1700000000}, "iso 8601"),
    ({"field": "event_time", "op": "gt", "value": "0001-01-01T00:00:00+14:00"}, "event_time"),
    ({"field": "role", "op": "eq", "value": "robot"}, "role"),
    ({"field": "role", "op": "gt", "value": "user"}, "role"),
    ({"field": "metadata.", "op": "eq", "value": 1}, "metadata"),
    ({"field": "metadata.a b", "op": "eq", "value": 1}, "metadata"),
    ({"field": "metadata.x') OR 1=1 --", "op": "eq", "value": 1}, "metadata"),
    ({"field": 'metadata.a"b', "op": "eq", "value": 1}, "metadata"),
    ({"field": "metadata.k", "op": "eq", "value": {"a": 1}}, "metadata.k"),
    ({"field": "metadata.k", "op": "eq", "value": None}, "metadata.k"),
    ({"field": "metadata.k", "op": "gt", "value": True}, "metadata.k"),
    ({"field": "metadata.k", "op": "in", "value": [[1]]}, "metadata.k"),
    ("importance > 0.5", "filters"),
]


@pytest.mark.parametrize(("clause", "needle"), BAD_FILTERS)
def test_bad_filters_are_422(api: Api, uid: str, clause: Any, needle: str) -> None:
    # A metadata key and an unknown name are the caller's text: the detail names the clause
    # by its place instead of repeating them (docs/errors.md).
    if needle.startswith("metadata.") or needle == "extra":
        needle = "filters"
    for path in ("/v1/search", "/v1/query"):
        response = api.post(path, {"user_id": uid, "query": "x", "filters": [clause]})
        problem(response, 422, needle)


@pytest.mark.parametrize("literal", ["NaN", "Infinity", "-Infinity", "1e999"])
def test_non_finite_filter_values_are_422(api: Api, uid: str, literal: str) -> None:
    for field in ("importance", "metadata.score"):
        clause = f'{{"field": "{field}", "op": "gt", "value": {literal}}}'
        body = f'{{"user_id": "{uid}", "query": "x", "filters": [{clause}]}}'
        problem(api.raw("POST", "/v1/search", body.encode(), "application/json"), 422, "finite")


def test_too_many_filters(api: Api, uid: str) -> None:
    clause = {"field": "importance", "op": "gte", "value": 0}
    assert (
        api.post("/v1/search", {"user_id": uid, "query": "x", "filters": [clause] * 16}).status_code
        == 200
    )
    problem(
        api.post("/v1/search", {"user_id": uid, "query": "x", "filters": [clause] * 17}), 422, "16"
    )


def test_filters_must_be_a_list_of_clauses(api: Api, uid: str) -> None:
    for bad in ({"field": "importance"}, "importance", 3):
        problem(
            api.post("/v1/search", {"user_id": uid, "query": "x", "filters": bad}), 422, "filters"
        )


# -- time travel ------------------------------------------------------------------------


def test_as_of_shows_the_fact_valid_then(api: Api, uid: str) -> None:
    api.sync_add(uid, "I live in Berlin.", event_time="2024-01-10T12:00:00Z")
    api.sync_add(uid, "I moved to Munich.", event_time="2024-06-10T12:00:00Z")
    question = "where does the user live"

    def where(**travel: str) -> list[str]:
        return [h["text"] for h in api.search(question, user_id=uid, types=["fact"], **travel)]

    assert where() == ["User lives in Munich"]
    assert where(as_of="2024-03-01T00:00:00Z") == ["User lives in Berlin"]
    assert where(as_of="2024-07-01T00:00:00+02:00") == ["User lives in Munich"]
    assert where(as_of="2023-01-01T00:00:00Z") == []
    # The old fact's validity was closed, not deleted.
    berlin = next(
        f
        for f in api.get("/v1/memories", user_id=uid).json()["items"]
        if "Berlin" in f["text"] and f["type"] == "fact"
    )
    assert berlin["metadata"]["tessera"]["t_invalid"].startswith("2024-06-10T12:00:00")
    # The portrait and the composed context speak of the present.
    answer = api.query(question, user_id=uid)
    assert answer["portrait"]["User"]["lives_in"] == "Munich"
    assert "User lives in Munich" in answer["context"]
    past = api.query(question, user_id=uid, as_of="2024-03-01T00:00:00Z")
    assert [f["text"] for f in past["facts"]] == ["User lives in Berlin"]


def test_known_as_of_shows_what_was_believed_before_a_correction(api: Api, uid: str) -> None:
    api.sync_add(uid, "I work at Initech.")
    old = api.facts(user_id=uid)[0]
    believed_at = old["metadata"]["tessera"]["t_created"]
    new = api.patch(f"/v1/memories/{old['id']}", {"user_id": uid, "object": "Hooli"}).json()
    question = "where does the user work"

    def works(**travel: str) -> list[str]:
        return [h["text"] for h in api.search(question, user_id=uid, types=["fact"], **travel)]

    assert works() == ["User works at Hooli"]
    assert works(known_as_of=believed_at) == ["User works at Initech"]
    assert works(known_as_of="2000-01-01T00:00:00Z") == []
    new_created = api.get(f"/v1/memories/{new['id']}", user_id=uid).json()["metadata"]["tessera"][
        "t_created"
    ]
    assert works(known_as_of=new_created) == ["User works at Hooli"]


def test_time_travel_needs_timezones(api: Api, uid: str) -> None:
    for field in ("as_of", "known_as_of"):
        for path in ("/v1/search", "/v1/query"):
            body = {"user_id": uid, "query": "x", field: "2024-01-01T00:00:00"}
            problem(api.post(path, body), 422, field)
            body[field] = "not a date"
            problem(api.post(path, body), 422, field)
            body[field] = "0001-01-01T00:00:00+14:00"
            problem(api.post(path, body), 422, field)


# -- query ------------------------------------------------------------------------------


def test_query_chat_composes_portrait_facts_episodes_and_foresight(api: Api, uid: str) -> None:
    api.sync_add(uid, "I live in Berlin. My partner's name is Sam.")
    api.sync_add(uid, "I'm going to Paris next week for a conference.")
    answer = api.query("What do you know about me and my plans?", user_id=uid)
    context = answer["context"]
    for section in ("## Profile", "## Facts", "## Episodes", "## Upcoming"):
        assert section in context, context
    assert context.index("## Profile") < context.index("## Facts") < context.index("## Episodes")
    assert answer["portrait"] == {"User": {"lives_in": "Berlin", "partner": "Sam"}}
    assert [f["kind"] for f in answer["foresight"]] == ["plan"]
    assert "Paris" in answer["foresight"][0]["content"]
    assert answer["foresight"][0]["id"]
    assert answer["provenance"] == {"route": None, "verifier": None, "repaired": False}
    assert all(h["type"] == "fact" for h in answer["facts"])
    assert all(h["type"] == "episode" for h in answer["episodes"])
    assert {h["id"] for h in answer["results"]} == {
        h["id"] for h in answer["facts"] + answer["episodes"]
    }
    assert "User lives in Berlin" in context and "Paris" in context


def test_query_reasoning_is_lean(api: Api, uid: str) -> None:
    api.sync_add(uid, "I live in Berlin. I'm going to Paris next week.")
    answer = api.query("where do I live", user_id=uid, mode="reasoning")
    assert answer["portrait"] is None
    assert answer["foresight"] == []
    assert "## Profile" not in answer["context"] and "## Upcoming" not in answer["context"]
    assert "## Facts" in answer["context"]
    assert answer["provenance"]["route"] is None
    assert answer["results"]


def test_query_on_an_empty_scope(api: Api, uid: str) -> None:
    for mode in ("chat", "reasoning"):
        answer = api.query("anything at all", user_id=uid, mode=mode)
        assert answer["context"] == ""
        assert answer["results"] == answer["facts"] == answer["episodes"] == []
        assert answer["foresight"] == []
        assert answer["portrait"] is None
    problem(api.post("/v1/query", {"user_id": uid, "query": "x", "mode": "fast"}), 422, "mode")


def test_query_context_stays_under_its_budget(api: Api, uid: str) -> None:
    for i in range(12):
        api.note(uid, f"long report {i}: " + "the turbine blade inspection found wear " * 70)
    answer = api.query("turbine blade inspection", user_id=uid, top_k=12)
    assert len(answer["results"]) == 12
    assert 0 < len(answer["context"]) <= 2000 * 4
