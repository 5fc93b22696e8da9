"""Conformance: lifecycle, tenants and keys, turns (including concurrent replays)."""

from __future__ import annotations

import threading
from datetime import timedelta

import numpy as np
from conformance_helpers import T0, StoreFactory, at, turn, vec
from tessera_server.engine.records import Scope
from tessera_server.store import Store


def test_migrate_is_idempotent_and_the_store_is_healthy(store: Store) -> None:
    assert store.migrate() == []
    assert store.ping()
    assert store.integrity_ok()


def test_tenants_are_created_once(store: Store) -> None:
    first, created = store.ensure_tenant("acme", T0)
    again, created_again = store.ensure_tenant("acme", at(5))
    other, _ = store.ensure_tenant("globex", T0)
    assert created and not created_again
    assert first == again != other


def test_keys_are_found_listed_and_revoked(store: Store) -> None:
    tenant, _ = store.ensure_tenant("acme", T0)
    store.insert_key(tenant, "abcd1234", "hash-1", False, T0)
    store.insert_key(tenant, "efgh5678", "hash-2", True, at(1))
    found = store.find_key("hash-2")
    assert found is not None
    assert (found.tenant_name, found.prefix, found.read_only) == ("acme", "efgh5678", True)
    assert found.created_at == at(1) and found.revoked_at is None
    assert store.find_key("nope") is None
    assert store.find_key("nul\x00key") is None
    assert [k.prefix for k in store.list_keys()] == ["abcd1234", "efgh5678"]
    assert store.revoke_key("abcd1234", at(2)) is True
    assert store.revoke_key("abcd1234", at(3)) is False
    revoked = store.find_key("hash-1")
    assert revoked is not None and revoked.revoked_at == at(2)


def test_a_turn_round_trips_every_field(store: Store) -> None:
    tenant, _ = store.ensure_tenant("acme", T0)
    scope = Scope(tenant, "alice", "s1")
    metadata = {"source": "chat", "n": 3, "x": 1.5, "ok": True, "tags": ["a", "ü"], "z": None}
    vector = vec(seed=1)
    stored, created = store.insert_turn(
        turn(scope, "t-1", "Grüße aus Köln 🎉", metadata=metadata, embedding=vector)
    )
    assert created and stored.pk is not None
    got = store.get_turn(scope, "t-1")
    assert got is not None
    assert (got.pk, got.user_id, got.session_id, got.turn_id) == (stored.pk, "alice", "s1", "t-1")
    assert got.content == "Grüße aus Köln 🎉"
    assert got.metadata == metadata
    assert got.event_time == T0 and got.created_at == T0
    assert got.event_time.utcoffset() == timedelta(0)
    assert got.infer is True and got.consolidated is False
    assert got.embedding is not None and got.embedding.dtype == np.float32
    assert np.array_equal(got.embedding, vector)


def test_absent_labels_are_their_own_uniqueness_scope(store: Store) -> None:
    tenant, _ = store.ensure_tenant("acme", T0)
    user_only = Scope(tenant, "alice", None)
    in_session = Scope(tenant, "alice", "s1")
    first, created = store.insert_turn(turn(user_only, "t-1", "first"))
    second, created_2 = store.insert_turn(turn(in_session, "t-1", "second"))
    assert created and created_2 and first.pk != second.pk
    replay, created_3 = store.insert_turn(turn(user_only, "t-1", "changed content"))
    assert not created_3
    assert (replay.pk, replay.content, replay.user_id, replay.session_id) == (
        first.pk,
        "first",
        "alice",
        None,
    )
    # A user scope sees both; `exact` matches the absent session label only.
    loose = store.get_turn(user_only, "t-1")
    exact = store.get_turn(user_only, "t-1", exact=True)
    assert loose is not None and loose.pk == first.pk
    assert exact is not None and exact.pk == first.pk
    exact_session = store.get_turn(in_session, "t-1", exact=True)
    assert exact_session is not None and exact_session.pk == second.pk
    assert store.get_turn(Scope(tenant, "bob", None), "t-1") is None
    assert store.get_turn(user_only, "nul\x00id") is None
    other_tenant, _ = store.ensure_tenant("globex", T0)
    assert store.get_turn(Scope(other_tenant, "alice", None), "t-1") is None


def test_concurrent_replays_store_one_turn(backend: str, make_store: StoreFactory) -> None:
    """The same turn sent at once from many threads over two store handles (as two
    processes would) is stored exactly once, and every caller gets that one turn back."""
    first = make_store(backend)
    second = make_store(backend, same_as=first)
    tenant, _ = first.ensure_tenant("acme", T0)
    scope = Scope(tenant, "alice", None)
    rounds, threads = 5, 8
    for r in range(rounds):
        barrier = threading.Barrier(threads)
        results: list[tuple[int | None, bool]] = []
        errors: list[BaseException] = []

        def replay(
            index: int,
            r: int = r,
            barrier: threading.Barrier = barrier,
            results: list[tuple[int | None, bool]] = results,
            errors: list[BaseException] = errors,
        ) -> None:
            handle = first if index % 2 else second
            try:
                barrier.wait()
                with handle.transaction():
                    stored, created = handle.insert_turn(turn(scope, f"t-{r}", f"round {r}"))
                results.append((stored.pk, created))
            except BaseException as exc:
                errors.append(exc)

        workers = [threading.Thread(target=replay, args=(i,)) for i in range(threads)]
        for w in workers:
            w.start()
        for w in workers:
            w.join()
        assert not errors, errors
        assert sum(created for _, created in results) == 1
        assert len({pk for pk, _ in results}) == 1
    assert first.count_pending(scope) == rounds


def test_pending_turns_claims_and_counts(store: Store) -> None:
    tenant, _ = store.ensure_tenant("acme", T0)
    a1, a2, b = (
        Scope(tenant, "alice", "s1"),
        Scope(tenant, "alice", "s2"),
        Scope(tenant, "bob", None),
    )
    pks = {}
    for scope, tid, minutes in [(a2, "x", 3), (a1, "y", 2), (a1, "z", 1), (b, "w", 0)]:
        pks[tid] = store.insert_turn(turn(scope, tid, minutes=minutes))[0].pk
    store.insert_turn(turn(a1, "verbatim", infer=False))
    alice = Scope(tenant, "alice", None)
    # Ordered by user, session, event time: what consolidation segments on.
    assert [t.turn_id for t in store.pending_turns(alice)] == ["z", "y", "x"]
    assert [t.turn_id for t in store.pending_turns(alice, limit=2)] == ["z", "y"]
    assert store.count_pending(alice) == 3
    assert store.count_pending(Scope(tenant, None, "s1")) == 2
    assert sorted((s.user_id, s.session_id) for s in store.scopes_with_pending_turns()) == [
        ("alice", "s1"),
        ("alice", "s2"),
        ("bob", None),
    ]
    assert store.claim_turns([pks["z"], pks["y"]]) == 2
    assert store.claim_turns([pks["y"], pks["x"]]) == 1
    assert store.claim_turns([]) == 0
    assert store.count_pending(alice) == 0
    claimed = store.turns_by_pk([pks["x"]])
    assert claimed[0].consolidated
    assert [(s.user_id, s.session_id) for s in store.scopes_with_pending_turns()] == [("bob", None)]


def test_turn_embeddings_are_filled_and_read_back(store: Store) -> None:
    tenant, _ = store.ensure_tenant("acme", T0)
    scope = Scope(tenant, "alice", None)
    p1 = store.insert_turn(turn(scope, "a", minutes=5))[0].pk
    p2 = store.insert_turn(turn(scope, "b", minutes=1, embedding=vec(1)))[0].pk
    assert p1 is not None and p2 is not None
    assert [t.pk for t in store.turns_missing_embeddings(scope)] == [p1]
    store.set_turn_embeddings([(p1, vec(0, 1))])
    assert store.turns_missing_embeddings(scope) == []
    vectors = store.turn_vectors([p1, p2, 999_999])
    assert set(vectors) == {p1, p2}
    assert np.array_equal(vectors[p1], vec(0, 1))
    # turns_by_pk orders by event time.
    assert [t.turn_id for t in store.turns_by_pk([p1, p2])] == ["b", "a"]
    assert store.turns_by_pk([]) == []


def test_a_failed_transaction_leaves_nothing(store: Store) -> None:
    tenant, _ = store.ensure_tenant("acme", T0)
    scope = Scope(tenant, "alice", None)
    try:
        with store.transaction():
            store.insert_turn(turn(scope, "doomed"))
            with store.transaction():  # nested: joins the outer one
                store.enqueue_job(scope, "consolidate", T0)
            raise RuntimeError("boom")
    except RuntimeError:
        pass
    assert store.get_turn(scope, "doomed") is None
    assert store.claim_job(at(1), timedelta(seconds=60)) is None
    # The store is still usable afterwards.
    assert store.insert_turn(turn(scope, "doomed"))[1] is True
    assert store.get_turn(scope, "doomed") is not None
