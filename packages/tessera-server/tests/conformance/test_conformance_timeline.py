"""Conformance: facts placed on the valid timeline by the engine, persisted by each backend.

Supersession is decided once, in `engine/timeline.py`; these tests hold both backends to
what it decides: facts placed by valid time whatever order they arrive in, negations, and
chains re-linked after a deletion. Times are minutes after T0 (`at`).
"""

from __future__ import annotations

from conformance_helpers import T0, at, fact, vec
from tessera_server.engine import timeline
from tessera_server.engine.records import FactPool, FactRecord, Scope, TimeTravel
from tessera_server.store import Store


def _alice(store: Store) -> Scope:
    return Scope(store.ensure_tenant("acme", T0)[0], "alice", None)


def _links(store: Store, scope: Scope, *facts: FactRecord) -> list[tuple[str, object, object]]:
    got = {f.id: f for f in store.get_facts(scope, [f.id for f in facts])}
    return [(got[f.id].object, got[f.id].t_invalid, got[f.id].superseded_by) for f in facts]


def test_an_older_fact_added_after_a_newer_one_is_closed_at_the_newer_start(
    store: Store,
) -> None:
    scope = _alice(store)
    lisbon = fact(scope, obj="Lisbon", valid=20, known=1, embedding=vec(1))
    berlin = fact(scope, obj="Berlin", valid=10, known=2, embedding=vec(1, 0.1))
    assert timeline.place(store, lisbon)
    assert timeline.place(store, berlin)
    assert _links(store, scope, berlin, lisbon) == [
        ("Berlin", at(20), lisbon.id),
        ("Lisbon", None, None),
    ]
    # one in between, arriving last, takes its place in the chain
    oslo = fact(scope, obj="Oslo", valid=15, known=3)
    assert timeline.place(store, oslo)
    assert _links(store, scope, berlin, oslo, lisbon) == [
        ("Berlin", at(15), oslo.id),
        ("Oslo", at(20), lisbon.id),
        ("Lisbon", None, None),
    ]
    assert [f.object for f in store.live_facts(scope, "User", "lives_in")] == ["Lisbon"]


def test_search_sees_only_the_fact_valid_at_the_instant_asked(store: Store) -> None:
    scope = _alice(store)
    timeline.place(store, fact(scope, obj="Lisbon", valid=20, embedding=vec(1)))
    timeline.place(store, fact(scope, obj="Berlin", valid=10, embedding=vec(1, 0.1)))

    def seen(as_of: float | None) -> list[str]:
        travel = TimeTravel(at(as_of) if as_of is not None else None, None)
        dense = store.dense_facts(FactPool(scope, travel, at(100)), vec(1), 10)
        words = store.lexical_facts(FactPool(scope, travel, at(100)), ["user", "lives"], 10)
        ids = {i for i, _ in dense} | {i for i, _ in words}
        return sorted(f.object for f in store.get_facts(scope, list(ids)))

    assert seen(None) == ["Lisbon"]
    assert seen(12) == ["Berlin"]
    assert seen(5) == []


def test_restating_what_holds_then_adds_nothing_but_an_earlier_value_is_placed(
    store: Store,
) -> None:
    scope = _alice(store)
    assert timeline.place(store, fact(scope, obj="Lisbon", valid=20))
    assert not timeline.place(store, fact(scope, obj="lisbon", valid=30))
    assert timeline.place(store, fact(scope, obj="Berlin", valid=10))
    assert not timeline.place(store, fact(scope, obj="Berlin", valid=12))
    assert [f.object for f in store.believed_facts(scope, "User", "lives_in")] == [
        "Berlin",
        "Lisbon",
    ]


def test_a_negation_ends_the_value_it_names_and_a_later_value_still_follows(
    store: Store,
) -> None:
    scope = _alice(store)
    berlin = fact(scope, obj="Berlin", valid=10)
    timeline.place(store, berlin)
    assert timeline.end(store, scope, "User", "lives_in", "berlin", at(15)) == 1
    assert _links(store, scope, berlin) == [("Berlin", at(15), None)]
    lisbon = fact(scope, obj="Lisbon", valid=20)
    timeline.place(store, lisbon)  # starts after the end: Berlin stays ended at 15
    assert _links(store, scope, berlin, lisbon) == [
        ("Berlin", at(15), None),
        ("Lisbon", None, None),
    ]
    oslo = fact(scope, obj="Oslo", valid=12)  # starts before the end: closes Berlin there
    timeline.place(store, oslo)
    assert _links(store, scope, berlin, oslo) == [
        ("Berlin", at(12), oslo.id),
        ("Oslo", at(20), lisbon.id),
    ]


def test_a_fact_deleted_from_the_middle_of_a_chain_re_links_it_by_valid_time(
    store: Store,
) -> None:
    scope = _alice(store)
    # arrival order newest first, as when a history is imported into a live memory
    lisbon, berlin, munich = (
        fact(scope, obj="Lisbon", valid=30),
        fact(scope, obj="Berlin", valid=20),
        fact(scope, obj="Munich", valid=10),
    )
    for f in (lisbon, berlin, munich):
        timeline.place(store, f)
    assert _links(store, scope, munich, berlin) == [
        ("Munich", at(20), berlin.id),
        ("Berlin", at(30), lisbon.id),
    ]
    store.delete_fact(berlin)
    assert timeline.relink_dangling(store, scope.tenant_id) == 1
    assert _links(store, scope, munich) == [("Munich", at(30), lisbon.id)]
    store.delete_fact(lisbon)
    assert timeline.relink_dangling(store, scope.tenant_id) == 1
    assert _links(store, scope, munich) == [("Munich", None, None)]
    assert timeline.relink_dangling(store, scope.tenant_id) == 0


def test_chains_are_per_owner_subject_and_relation(store: Store) -> None:
    scope = _alice(store)
    bob = Scope(scope.tenant_id, "bob", None)
    timeline.place(store, fact(scope, obj="Lisbon", valid=20))
    timeline.place(store, fact(bob, obj="Berlin", valid=10))
    timeline.place(store, fact(scope, relation="works_at", obj="Acme", valid=10))
    timeline.place(store, fact(scope, subject="Priya", obj="Rome", valid=10))
    assert sorted(f.object for f in store.live_facts(scope)) == ["Acme", "Lisbon", "Rome"]
    assert [f.object for f in store.live_facts(bob)] == ["Berlin"]


def test_a_start_dated_back_by_its_sentence_does_not_slip_under_a_value_stated_since(
    store: Store,
) -> None:
    scope = _alice(store)
    berlin = fact(scope, obj="Berlin", valid=20)  # "I live in Berlin", said at 20
    timeline.place(store, berlin)
    # said at 30: "I moved to Lisbon last month", which would date it back to 10
    lisbon = fact(scope, obj="Lisbon", valid=10)
    assert timeline.place(store, lisbon, said_at=at(30))
    assert [f.object for f in store.live_facts(scope, "User", "lives_in")] == ["Lisbon"]
    [got] = store.get_facts(scope, [lisbon.id])
    assert got.t_valid == at(20)
    # without a value stated in between, the start reaches back as said
    oslo = fact(scope, relation="works_in", obj="Oslo", valid=10)
    timeline.place(store, oslo, said_at=at(30))
    [got] = store.get_facts(scope, [oslo.id])
    assert got.t_valid == at(10)
