"""Conformance: the reads behind the memory console (scope summaries, recent jobs, a scope's
fact history at a vantage, a key by its prefix) agree on every backend."""

from __future__ import annotations

from conformance_helpers import T0, at, episode, fact, foresight, turn
from tessera_server.engine.records import Scope, TimeTravel
from tessera_server.store import Store


def test_scope_summaries_count_each_user_and_session_of_the_tenant_only(store: Store) -> None:
    tenant, _ = store.ensure_tenant("acme", T0)
    other, _ = store.ensure_tenant("globex", T0)
    s1, s2 = Scope(tenant, "alice", "s1"), Scope(tenant, "alice", "s2")
    solo = Scope(tenant, None, "kiosk")
    for i in range(3):
        store.insert_turn(turn(s1, f"a{i}", minutes=i))
    store.insert_turn(turn(s2, "b0", minutes=50))
    store.insert_turn(turn(solo, "k0", minutes=20))
    store.insert_turn(turn(Scope(other, "alice", "s1"), "x0", minutes=99))
    store.insert_episode(episode(s1, "one", minutes=1))
    store.insert_fact(fact(s1, obj="Rome"))
    store.insert_fact(fact(s1, obj="Oslo", expired=5))  # no longer believed: not counted
    store.insert_foresight(foresight(s2, "dentist", created=51))

    rows = store.scope_summaries(tenant, None, 10)
    got = [(r.user_id, r.session_id, r.turns, r.episodes, r.facts, r.foresight) for r in rows]
    assert got == [
        ("alice", "s2", 1, 0, 0, 1),
        (None, "kiosk", 1, 0, 0, 0),
        ("alice", "s1", 3, 1, 1, 0),
    ]
    assert rows[0].last_activity == at(51)
    only = store.scope_summaries(tenant, "alice", 10)
    assert [(r.session_id, r.turns) for r in only] == [("s2", 1), ("s1", 3)]
    assert len(store.scope_summaries(tenant, None, 1)) == 1
    assert store.scope_summaries(tenant, "nobody", 10) == []


def test_recent_jobs_are_the_tenants_newest_first(store: Store) -> None:
    tenant, _ = store.ensure_tenant("acme", T0)
    other, _ = store.ensure_tenant("globex", T0)
    first, _ = store.enqueue_job(Scope(tenant, "alice", None), "consolidate", T0)
    store.enqueue_job(Scope(other, "bob", None), "consolidate", at(1))
    second, _ = store.enqueue_job(Scope(tenant, "carol", None), "consolidate", at(2))
    assert [j.pk for j in store.recent_jobs(tenant, 10)] == [second.pk, first.pk]
    assert [j.pk for j in store.recent_jobs(tenant, 1)] == [second.pk]


def test_fact_history_keeps_superseded_facts_and_travels_in_both_times(store: Store) -> None:
    tenant, _ = store.ensure_tenant("acme", T0)
    scope = Scope(tenant, "alice", None)
    # Berlin held from 0 to 100 and was believed from 10 on; Lisbon from 100, believed from 110.
    # A wrong belief (Paris) was held from 20 to 30 of known time, then retracted.
    berlin = store.insert_fact(fact(scope, obj="Berlin", valid=0, invalid=100, known=10))
    lisbon = store.insert_fact(fact(scope, obj="Lisbon", valid=100, known=110))
    paris = store.insert_fact(fact(scope, obj="Paris", valid=0, known=20, expired=30))
    store.insert_fact(fact(Scope(tenant, "bob", None), obj="Oslo"))

    every = store.fact_history(scope, None, at(200), 10)
    assert [f.id for f in every] == [lisbon.id, paris.id, berlin.id]
    assert store.fact_history(scope, None, at(200), 2) == every[:2]

    def seen(as_of: float | None, known: float | None) -> list[str]:
        travel = TimeTravel(
            at(as_of) if as_of is not None else None, at(known) if known is not None else None
        )
        return sorted(f.object for f in store.fact_history(scope, travel, at(200), 10))

    assert seen(50, None) == ["Berlin"]
    assert seen(None, None) == ["Lisbon"]
    assert seen(50, 25) == ["Berlin", "Paris"]
    assert seen(50, 5) == []
    assert seen(150, 105) == []


def test_a_key_is_found_by_its_prefix_with_its_hash(store: Store) -> None:
    tenant, _ = store.ensure_tenant("acme", T0)
    store.insert_key(tenant, "abcd1234", "hash-1", True, T0)
    found = store.find_key_by_prefix("abcd1234")
    assert found is not None
    record, secret = found
    assert (record.tenant_id, record.tenant_name, record.read_only, secret) == (
        tenant,
        "acme",
        True,
        "hash-1",
    )
    assert store.find_key_by_prefix("zzzz9999") is None
