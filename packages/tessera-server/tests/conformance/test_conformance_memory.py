"""Conformance: episodes, facts, foresight, portraits and panels."""

from __future__ import annotations

import threading

import numpy as np
from conformance_helpers import T0, StoreFactory, at, episode, fact, foresight, panel, turn, vec
from tessera_server.engine.records import FactEnd, Scope
from tessera_server.store import Store


def _tenant(store: Store, name: str = "acme") -> int:
    return store.ensure_tenant(name, T0)[0]


def test_episodes_round_trip_with_sources_in_time_order(store: Store) -> None:
    scope = Scope(_tenant(store), "alice", "s1")
    late = store.insert_turn(turn(scope, "late", minutes=9))[0].pk
    early = store.insert_turn(turn(scope, "early", minutes=1))[0].pk
    assert late is not None and early is not None
    ep = episode(
        scope,
        "Alice met Bob",
        sources=[late, early],
        embedding=vec(seed=3),
        metadata={"k": "v", "n": 2},
        importance=0.75,
    )
    ep.attrs = {"trigger": "x"}
    ep.pinned = True
    stored = store.insert_episode(ep)
    assert stored.pk is not None
    [got] = store.get_episodes(scope, [ep.id])
    assert got.pk == stored.pk
    assert (got.kind, got.text, got.role, got.importance) == (
        "episode",
        "Alice met Bob",
        "user",
        0.75,
    )
    assert got.metadata == {"k": "v", "n": 2} and got.attrs == {"trigger": "x"} and got.pinned
    assert got.event_time == T0 and got.created_at == T0
    assert got.source_turn_pks == [early, late]
    assert got.source_turn_ids == ["early", "late"]
    assert got.embedding is not None and np.array_equal(got.embedding, vec(seed=3))


def test_get_episodes_keeps_the_order_asked_and_the_scope(store: Store) -> None:
    tenant = _tenant(store)
    alice, bob = Scope(tenant, "alice", None), Scope(tenant, "bob", None)
    a1 = store.insert_episode(episode(alice, "one"))
    a2 = store.insert_episode(episode(Scope(tenant, "alice", "s9"), "two"))
    b1 = store.insert_episode(episode(bob, "three"))
    got = store.get_episodes(alice, [a2.id, b1.id, "ep_missing", a1.id])
    assert [e.id for e in got] == [a2.id, a1.id]
    assert [e.id for e in store.get_episodes(Scope(tenant, None, "s9"), [a1.id, a2.id])] == [a2.id]
    other = _tenant(store, "globex")
    assert store.get_episodes(Scope(other, "alice", None), [a1.id]) == []
    assert store.get_episodes(alice, []) == []


def test_episodes_in_scope_filter_kinds_newest_event_first(store: Store) -> None:
    scope = Scope(_tenant(store), "alice", None)
    e1 = store.insert_episode(episode(scope, "old", minutes=1))
    n1 = store.insert_episode(episode(scope, "note", kind="note", minutes=5))
    e2 = store.insert_episode(episode(scope, "new", minutes=9))
    store.insert_episode(episode(scope, "proc", kind="procedure", minutes=7))
    got = store.episodes_in_scope(scope, ["episode", "note"])
    assert [e.id for e in got] == [e2.id, n1.id, e1.id]
    assert [e.id for e in store.episodes_in_scope(scope, ["episode"], limit=1)] == [e2.id]


def test_episode_updates_pins_and_attributes(store: Store) -> None:
    scope = Scope(_tenant(store), "alice", None)
    t1 = store.insert_turn(turn(scope, "a", minutes=1))[0].pk
    t2 = store.insert_turn(turn(scope, "b", minutes=2))[0].pk
    assert t1 is not None and t2 is not None
    ep = store.insert_episode(episode(scope, "first text", sources=[t1, t2], embedding=vec(1)))
    assert [e.id for e in store.episodes_for_turns([t2])] == [ep.id]
    ep.text, ep.source_turn_pks, ep.embedding = "second text", [t2], vec(0, 1)
    ep.metadata, ep.importance = {"edited": True}, 0.9
    store.update_episode(ep)
    [got] = store.get_episodes(scope, [ep.id])
    assert (got.text, got.source_turn_pks, got.metadata, got.importance) == (
        "second text",
        [t2],
        {"edited": True},
        0.9,
    )
    assert got.embedding is not None and np.array_equal(got.embedding, vec(0, 1))
    assert store.episodes_for_turns([t1]) == []
    assert store.set_pinned(scope, ep.id, True) is True
    assert store.set_pinned(scope, ep.id, True) is False
    assert store.set_pinned(scope, "ep_missing", True) is None
    assert store.set_pinned(Scope(scope.tenant_id, "bob", None), ep.id, False) is None
    assert store.update_attrs(scope, ep.id, {"uses": 2}) is True
    assert store.update_attrs(Scope(scope.tenant_id, "bob", None), ep.id, {"uses": 3}) is False
    [got] = store.get_episodes(scope, [ep.id])
    assert got.pinned and got.attrs == {"uses": 2}


def test_missing_item_embeddings_are_listed_and_set(store: Store) -> None:
    tenant = _tenant(store)
    scope = Scope(tenant, "alice", None)
    ep = store.insert_episode(episode(scope, "no vector yet"))
    ft = store.insert_fact(fact(scope, obj="Paris"))
    store.insert_episode(episode(scope, "has one", embedding=vec(1)))
    assert store.episodes_missing_embeddings(scope) == [(ep.id, "no vector yet")]
    assert store.facts_missing_embeddings(scope) == [(ft.id, ft.text)]
    store.set_item_embeddings(tenant, [(ep.id, vec(0, 0, 1)), (ft.id, vec(0, 1))])
    assert store.episodes_missing_embeddings(scope) == []
    assert store.facts_missing_embeddings(scope) == []
    [got] = store.get_facts(scope, [ft.id])
    assert got.embedding is not None and np.array_equal(got.embedding, vec(0, 1))


def test_facts_round_trip_and_close_without_deleting(store: Store) -> None:
    scope = Scope(_tenant(store), "alice", "s1")
    src = store.insert_turn(turn(scope, "t"))[0].pk
    assert src is not None
    f = store.insert_fact(
        fact(
            scope,
            obj="Berlin",
            valid=1,
            known=2,
            sources=[src],
            episode_id="ep_x",
            embedding=vec(1),
        )
    )
    [got] = store.get_facts(scope, [f.id])
    assert (got.subject, got.relation, got.object, got.functional) == (
        "User",
        "lives_in",
        "Berlin",
        True,
    )
    assert (got.t_valid, got.t_created, got.t_invalid, got.t_expired) == (at(1), at(2), None, None)
    assert (got.episode_id, got.superseded_by, got.confidence) == ("ep_x", None, 0.9)
    assert got.source_turn_pks == [src] and got.source_turn_ids == ["t"]
    store.close_fact(f.id, scope.tenant_id, FactEnd(t_invalid=at(5), superseded_by="ft_next"))
    store.close_fact(f.id, scope.tenant_id, FactEnd(t_expired=at(6)))
    [got] = store.get_facts(scope, [f.id])
    assert (got.t_invalid, got.t_expired, got.superseded_by) == (at(5), at(6), "ft_next")


def test_live_facts_by_subject_and_relation(store: Store) -> None:
    scope = Scope(_tenant(store), "alice", None)
    berlin = store.insert_fact(fact(scope, obj="Berlin", valid=2))
    store.insert_fact(fact(scope, obj="Rome", valid=1, invalid=2))
    store.insert_fact(fact(scope, obj="Oslo", valid=1, expired=3))
    job = store.insert_fact(fact(scope, relation="works_at", obj="Acme", valid=0))
    other = store.insert_fact(fact(scope, subject="Bob", obj="Paris", valid=3))
    assert [f.id for f in store.live_facts(scope)] == [job.id, berlin.id, other.id]
    assert [f.id for f in store.live_facts(scope, "User", "lives_in")] == [berlin.id]
    assert [f.id for f in store.live_facts(scope, subject="Bob")] == [other.id]
    assert store.live_facts(Scope(scope.tenant_id, "carol", None)) == []


def test_live_foresight_skips_expired_and_orders_by_due(store: Store) -> None:
    scope = Scope(_tenant(store), "alice", None)
    src = store.insert_turn(turn(scope, "t"))[0].pk
    ep = store.insert_episode(episode(scope))
    later = store.insert_foresight(foresight(scope, "later", due=50, episode_pk=ep.pk))
    soon = store.insert_foresight(foresight(scope, "soon", due=10, sources=[src] if src else []))
    undated = store.insert_foresight(foresight(scope, "undated", created=20, embedding=vec(1)))
    store.insert_foresight(foresight(scope, "gone", due=5, expires=30))
    got = store.live_foresight(scope, at(40))
    assert [f.id for f in got] == [soon.id, undated.id, later.id]
    assert got[2].episode_pk == ep.pk and got[2].due_at == at(50)
    assert got[1].embedding is not None and np.array_equal(got[1].embedding, vec(1))
    assert got[0].source_turn_pks == [src] and got[1].source_turn_pks == []
    assert len(store.live_foresight(scope, at(0))) == 4


def test_portraits_and_panels(store: Store) -> None:
    tenant = _tenant(store)
    scope = Scope(tenant, "alice", None)
    assert store.get_portrait(tenant, "alice") is None
    store.put_portrait(tenant, "alice", {"name": "Alice", "likes": ["tea"]}, T0)
    store.put_portrait(tenant, "alice", {"name": "Alice B."}, at(1))
    assert store.get_portrait(tenant, "alice") == {"name": "Alice B."}
    store.put_portrait(tenant, "alice", {}, at(2))
    assert store.get_portrait(tenant, "alice") is None
    first = [panel(scope, 0, "old", ["ep_1"], 1)]
    assert store.replace_panels(tenant, "alice", first) == 1
    second = [panel(scope, 0, "a", ["ep_1", "ep_2"], 1), panel(scope, 1, "b", ["ep_3"], 5)]
    assert store.replace_panels(tenant, "alice", second) == 2
    got = store.get_panels(tenant, "alice")
    assert [(p.summary, p.level, p.members) for p in got] == [
        ("b", 1, ["ep_3"]),
        ("a", 0, ["ep_1", "ep_2"]),
    ]
    assert got[0].updated_at == at(5) and np.array_equal(got[0].centroid, vec(seed=101))
    assert store.get_panels(tenant, "bob") == []


def test_read_then_write_in_a_transaction_loses_no_update(
    backend: str, make_store: StoreFactory
) -> None:
    """What a procedure's outcome does: read an episode, rewrite its attributes. Done at
    once from many threads over two handles, every increment survives."""
    first = make_store(backend)
    second = make_store(backend, same_as=first)
    scope = Scope(_tenant(first), "alice", None)
    ep = first.insert_episode(episode(scope, "proc", kind="procedure"))
    barrier = threading.Barrier(8)
    errors: list[BaseException] = []

    def bump(index: int) -> None:
        handle = first if index % 2 else second
        try:
            barrier.wait()
            with handle.transaction():
                [current] = handle.get_episodes(scope, [ep.id])
                uses = int(current.attrs.get("uses", 0)) + 1
                handle.update_attrs(scope, ep.id, {**current.attrs, "uses": uses})
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=bump, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors
    assert first.get_episodes(scope, [ep.id])[0].attrs == {"uses": 8}


def test_one_of_many_concurrent_corrections_wins(backend: str, make_store: StoreFactory) -> None:
    """What a fact correction does: read the fact, refuse if already superseded, else close
    it and insert its successor. Exactly one of many concurrent corrections goes through."""
    first = make_store(backend)
    second = make_store(backend, same_as=first)
    tenant = _tenant(first)
    scope = Scope(tenant, "alice", None)
    old = first.insert_fact(fact(scope, obj="Berlin"))
    barrier = threading.Barrier(6)
    outcomes: list[str] = []

    def correct(index: int) -> None:
        handle = first if index % 2 else second
        barrier.wait()
        with handle.transaction():
            [current] = handle.get_facts(scope, [old.id])
            if current.superseded_by is not None:
                outcomes.append("conflict")
                return
            new = fact(scope, obj=f"City {index}", known=1)
            handle.close_fact(old.id, tenant, FactEnd(t_expired=at(1), superseded_by=new.id))
            handle.insert_fact(new)
            outcomes.append("corrected")

    threads = [threading.Thread(target=correct, args=(i,)) for i in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(outcomes) == ["conflict"] * 5 + ["corrected"]
    assert len(first.live_facts(scope)) == 1
