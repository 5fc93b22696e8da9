"""Conformance: forgetting (with exact counts), wipe, and the durable job queue."""

from __future__ import annotations

import threading
from datetime import timedelta

from conformance_helpers import T0, StoreFactory, at, episode, fact, foresight, panel, turn, vec
from tessera_server.engine.forgetting import remove_episode, remove_orphans
from tessera_server.engine.records import ForgetCounts, Scope
from tessera_server.store import Store

LEASE = timedelta(seconds=60)


def test_deleting_an_episode_takes_its_foresight_and_facts(store: Store) -> None:
    """The rule is the engine's (`remove_episode`); each store finds and deletes the rows."""
    tenant, _ = store.ensure_tenant("acme", T0)
    scope = Scope(tenant, "alice", None)
    ep = store.insert_episode(episode(scope, "trip"))
    keep = store.insert_episode(episode(scope, "other"))
    store.insert_foresight(foresight(scope, "pack", episode_pk=ep.pk))
    store.insert_foresight(foresight(scope, "unrelated", episode_pk=keep.pk))
    store.insert_fact(fact(scope, obj="Rome", episode_id=ep.id))
    store.insert_fact(fact(scope, obj="Oslo", episode_id=ep.id))
    survivor = store.insert_fact(fact(scope, obj="Lima", episode_id=keep.id))
    assert remove_episode(store, ep) == ForgetCounts(episodes=1, facts=2, foresight=1)
    assert store.get_episodes(scope, [ep.id, keep.id])[0].id == keep.id
    assert [f.id for f in store.live_facts(scope)] == [survivor.id]
    assert [f.content for f in store.live_foresight(scope, T0)] == ["unrelated"]
    assert store.delete_fact(survivor) == ForgetCounts(facts=1)
    assert store.live_facts(scope) == []


def test_forgetting_turns_removes_only_what_they_alone_support(store: Store) -> None:
    tenant, _ = store.ensure_tenant("acme", T0)
    scope = Scope(tenant, "alice", None)
    t1, t2, t3 = (store.insert_turn(turn(scope, n, minutes=i))[0].pk for i, n in enumerate("abc"))
    assert t1 is not None and t2 is not None and t3 is not None
    ep = store.insert_episode(episode(scope, "all three", sources=[t1, t2, t3]))
    only_1 = store.insert_fact(fact(scope, obj="only t1", sources=[t1]))
    both = store.insert_fact(fact(scope, obj="t1 and t3", sources=[t1, t3]))
    store.insert_foresight(foresight(scope, "from t1", sources=[t1]))
    kept_fs = store.insert_foresight(foresight(scope, "from t2", sources=[t2]))
    counts = remove_orphans(store, [t1])
    assert counts == ForgetCounts(facts=1, foresight=1)
    assert store.get_facts(scope, [only_1.id]) == []
    [still] = store.get_facts(scope, [both.id])
    assert still.source_turn_pks == [t3]
    assert [f.id for f in store.live_foresight(scope, T0)] == [kept_fs.id]
    assert store.delete_turn_rows(tenant, [t1, 999_999]) == 1
    assert store.get_turn(scope, "a") is None
    [rest] = store.get_episodes(scope, [ep.id])
    assert rest.source_turn_pks == [t2, t3]
    assert store.episodes_for_turns([t1]) == []
    assert store.delete_turn_rows(tenant, []) == 0
    assert remove_orphans(store, []) == ForgetCounts()
    assert store.delete_rows("facts", []) == 0


def _fill(store: Store, scope: Scope, tag: str) -> int:
    """One of everything in a scope; returns how many rows that is (portraits aside)."""
    pk = store.insert_turn(turn(scope, f"{tag}-t", embedding=vec(1)))[0].pk
    ep = store.insert_episode(episode(scope, tag, sources=[pk] if pk else []))
    store.insert_fact(fact(scope, obj=tag, sources=[pk] if pk else [], episode_id=ep.id))
    store.insert_foresight(foresight(scope, tag, episode_pk=ep.pk))
    store.enqueue_job(scope, "consolidate", T0)
    return 5


def test_wipe_counts_every_row_and_spares_other_scopes(store: Store) -> None:
    tenant, _ = store.ensure_tenant("acme", T0)
    other, _ = store.ensure_tenant("globex", T0)
    s1, s2 = Scope(tenant, "alice", "s1"), Scope(tenant, "alice", "s2")
    bob, stranger = Scope(tenant, "bob", None), Scope(other, "alice", None)
    for scope, tag in [(s1, "one"), (s2, "two"), (bob, "bob"), (stranger, "far")]:
        _fill(store, scope, tag)
    for t in (tenant, other):
        store.put_portrait(t, "alice", {"name": "Alice"}, T0)
        store.replace_panels(t, "alice", [panel(Scope(t, "alice", None), 0, "p", [], 1)])
    assert sorted(store.users_in_scope(Scope(tenant, None, "s1"))) == ["alice"]
    assert store.users_in_scope(Scope(tenant, "alice", None)) == ["alice"]
    # A session wipe leaves the user's portrait and panels.
    assert store.wipe(s1) == 5
    assert store.get_portrait(tenant, "alice") == {"name": "Alice"}
    assert store.wipe(s1) == 0
    # A user wipe takes the rest of the user, portrait and panels included.
    assert store.wipe(Scope(tenant, "alice", None)) == 5 + 2
    assert store.get_portrait(tenant, "alice") is None and store.get_panels(tenant, "alice") == []
    assert store.list_items(Scope(tenant, "alice", None), None, 10) == []
    assert store.pending_turns(Scope(tenant, "alice", None)) == []
    assert len(store.list_items(bob, None, 10)) == 2
    assert len(store.list_items(stranger, None, 10)) == 2
    assert store.get_portrait(other, "alice") == {"name": "Alice"}
    assert store.users_in_scope(Scope(tenant, None, "s1")) == []


def test_jobs_are_deduplicated_while_queued(store: Store) -> None:
    tenant, _ = store.ensure_tenant("acme", T0)
    scope = Scope(tenant, "alice", None)
    job, created = store.enqueue_job(scope, "consolidate", T0)
    again, created_again = store.enqueue_job(scope, "consolidate", at(1))
    assert created and not created_again and again.pk == job.pk
    assert (job.status, job.attempts, job.user_id, job.session_id) == ("queued", 0, "alice", None)
    other_session, created_other = store.enqueue_job(
        Scope(tenant, "alice", "s1"), "consolidate", at(1)
    )
    assert created_other and other_session.pk != job.pk
    other_kind, _ = store.enqueue_job(scope, "reindex", at(1))
    assert other_kind.pk not in (job.pk, other_session.pk)
    claimed = store.claim_job(at(2), LEASE)
    assert claimed is not None and claimed.pk == job.pk
    # Once running, a new request queues a new job.
    fresh, created_fresh = store.enqueue_job(scope, "consolidate", at(3))
    assert created_fresh and fresh.pk not in (job.pk, other_session.pk, other_kind.pk)


def test_queued_jobs_count_what_waits_for_a_user(store: Store) -> None:
    """Queued jobs of a kind for a user, in any session; a running job does not wait."""
    tenant, _ = store.ensure_tenant("acme", T0)
    other, _ = store.ensure_tenant("other", T0)
    assert store.queued_jobs(tenant, "alice", "consolidate") == 0
    store.enqueue_job(Scope(tenant, "alice", None), "consolidate", T0)
    store.enqueue_job(Scope(tenant, "alice", "s1"), "consolidate", at(1))
    store.enqueue_job(Scope(tenant, "alice", None), "reindex", at(2))
    store.enqueue_job(Scope(tenant, "bob", None), "consolidate", at(3))
    store.enqueue_job(Scope(other, "alice", None), "consolidate", at(4))
    assert store.queued_jobs(tenant, "alice", "consolidate") == 2
    assert store.queued_jobs(tenant, "alice", "reindex") == 1
    assert store.queued_jobs(tenant, "carol", "consolidate") == 0
    claimed = store.claim_job(at(5), LEASE)
    assert claimed is not None and (claimed.user_id, claimed.session_id) == ("alice", None)
    assert store.queued_jobs(tenant, "alice", "consolidate") == 1


def test_jobs_are_claimed_in_order_and_leased(store: Store) -> None:
    """Oldest first by the time they were queued (job ids are random, not a sequence)."""
    tenant, _ = store.ensure_tenant("acme", T0)
    second, _ = store.enqueue_job(Scope(tenant, "b", None), "consolidate", at(1))
    first, _ = store.enqueue_job(Scope(tenant, "a", None), "consolidate", T0)
    now = at(10)
    got = store.claim_job(now, LEASE)
    assert got is not None and (got.pk, got.status, got.attempts) == (first.pk, "running", 1)
    got2 = store.claim_job(now, LEASE)
    assert got2 is not None and got2.pk == second.pk
    assert store.claim_job(now + LEASE - timedelta(seconds=1), LEASE) is None
    # The first worker died: once its lease runs out, the job is claimed again.
    store.finish_job(second.pk, "succeeded", None, now)
    retried = store.claim_job(now + LEASE + timedelta(seconds=1), LEASE)
    assert retried is not None and (retried.pk, retried.attempts) == (first.pk, 2)
    store.finish_job(first.pk, "queued", "RuntimeError during consolidate (attempt 2)", at(20))
    again = store.claim_job(at(20), LEASE)
    assert again is not None and (again.pk, again.attempts) == (first.pk, 3)
    store.finish_job(first.pk, "failed", "gave up", at(21))
    assert store.claim_job(at(10_000), LEASE) is None
    done = store.get_job(tenant, first.pk)
    assert done is not None and (done.status, done.error, done.attempts) == ("failed", "gave up", 3)
    assert done.created_at == T0 and done.updated_at == at(21)
    other, _ = store.ensure_tenant("globex", T0)
    assert store.get_job(other, first.pk) is None


def test_job_ids_are_never_reused_after_a_wipe(store: Store) -> None:
    tenant, _ = store.ensure_tenant("acme", T0)
    scope = Scope(tenant, "alice", None)
    job, _ = store.enqueue_job(scope, "consolidate", T0)
    store.wipe(scope)
    assert store.get_job(tenant, job.pk) is None
    new, _ = store.enqueue_job(scope, "consolidate", T0)
    assert new.pk != job.pk
    # Ids are random 63-bit numbers: nothing about them counts other jobs.
    assert 0 < new.pk < 2**63 and 0 < job.pk < 2**63


def test_recovering_interrupted_jobs(store: Store, backend: str) -> None:
    """The embedded store has one worker, so at start-up anything running is an orphan and
    is requeued; PostgreSQL shares jobs between processes and relies on lease expiry."""
    tenant, _ = store.ensure_tenant("acme", T0)
    job, _ = store.enqueue_job(Scope(tenant, "alice", None), "consolidate", T0)
    assert store.claim_job(T0, LEASE) is not None
    recovered = store.recover_interrupted_jobs(at(1))
    state = store.get_job(tenant, job.pk)
    assert state is not None
    if backend == "sqlite":
        assert recovered == 1 and state.status == "queued"
    else:
        assert recovered == 0 and state.status == "running"
        assert store.claim_job(at(0.5), LEASE) is None
        assert store.claim_job(T0 + LEASE + timedelta(seconds=1), LEASE) is not None


def test_concurrent_claims_take_each_job_once(backend: str, make_store: StoreFactory) -> None:
    first = make_store(backend)
    second = make_store(backend, same_as=first)
    tenant, _ = first.ensure_tenant("acme", T0)
    jobs = 24
    for i in range(jobs):
        first.enqueue_job(Scope(tenant, f"user{i}", None), "consolidate", T0)
    claimed: list[int] = []
    lock = threading.Lock()
    barrier = threading.Barrier(6)

    def worker(index: int) -> None:
        handle = first if index % 2 else second
        barrier.wait()
        while (job := handle.claim_job(at(1), LEASE)) is not None:
            with lock:
                claimed.append(job.pk)
            handle.finish_job(job.pk, "succeeded", None, at(1))

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(claimed) == jobs and len(set(claimed)) == jobs


def test_concurrent_enqueues_make_one_job(backend: str, make_store: StoreFactory) -> None:
    first = make_store(backend)
    second = make_store(backend, same_as=first)
    tenant, _ = first.ensure_tenant("acme", T0)
    scope = Scope(tenant, "alice", None)
    results: list[tuple[int, bool]] = []
    barrier = threading.Barrier(6)

    def enqueue(index: int) -> None:
        handle = first if index % 2 else second
        barrier.wait()
        job, created = handle.enqueue_job(scope, "consolidate", T0)
        results.append((job.pk, created))

    threads = [threading.Thread(target=enqueue, args=(i,)) for i in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sum(c for _, c in results) == 1 and len({pk for pk, _ in results}) == 1


def test_claims_go_round_robin_between_tenants(store: Store) -> None:
    """`served` lists the tenants a worker served, least recently first: a tenant not in it
    goes first, then in its order; within a tenant, the oldest job first."""
    a, _ = store.ensure_tenant("backlog", T0)
    b, _ = store.ensure_tenant("other", T0)
    c, _ = store.ensure_tenant("third", T0)
    jobs = {
        name: store.enqueue_job(Scope(tenant, user, None), "consolidate", at(minute))[0].pk
        for name, tenant, user, minute in [
            ("a1", a, "u1", 0),
            ("a2", a, "u2", 1),
            ("a3", a, "u3", 2),
            ("b1", b, "u1", 3),
            ("b2", b, "u2", 4),
            ("c1", c, "u1", 5),
        ]
    }
    name_of = {pk: name for name, pk in jobs.items()}
    served: list[int] = []
    order = []
    while (job := store.claim_job(at(10), LEASE, served)) is not None:
        order.append(name_of[job.pk])
        store.finish_job(job.pk, "succeeded", None, at(10))
        served = [t for t in served if t != job.tenant_id] + [job.tenant_id]
    assert order == ["a1", "b1", "c1", "a2", "b2", "a3"]
    # Without `served`, the oldest job first, whoever's it is.
    fresh, _ = store.enqueue_job(Scope(b, "u3", None), "consolidate", at(20))
    older, _ = store.enqueue_job(Scope(a, "u4", None), "consolidate", at(19))
    got = store.claim_job(at(30), LEASE)
    assert got is not None and got.pk == older.pk
    got = store.claim_job(at(30), LEASE, [b, a])  # a served last: b's job goes first
    assert got is not None and got.pk == fresh.pk
