"""Conformance: export and import are lossless, within a backend and across backends."""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import pytest
from conformance_helpers import (
    T0,
    StoreFactory,
    at,
    episode,
    fact,
    foresight,
    needs_postgres,
    panel,
    turn,
    vec,
)
from tessera_server.engine.records import FactEnd, Scope
from tessera_server.store import Store
from tessera_server.store.portable import ImportRefused


def fill(store: Store) -> None:
    """A tenant with one of everything, in odd shapes: closed facts, pins, attributes,
    unicode and nested metadata, missing vectors, consolidated and verbatim turns."""
    acme, _ = store.ensure_tenant("acme", at(-60))
    other, _ = store.ensure_tenant("globex", at(-30))
    alice, alice_s, bob = (
        Scope(acme, "alice", None),
        Scope(acme, "alice", "s1"),
        Scope(acme, "bob", None),
    )
    session_only = Scope(acme, None, "kiosk")
    meta = {"source": "Köln 🎉", "n": 7, "x": 0.1, "deep": {"list": [1, "two", None, True]}}
    t = [
        store.insert_turn(
            turn(alice, "t1", "I live in Berlin", minutes=1, metadata=meta, embedding=vec(seed=1))
        )[0],
        store.insert_turn(turn(alice_s, "t2", "I moved to Rome", minutes=2, embedding=vec(seed=2)))[
            0
        ],
        store.insert_turn(turn(alice, "t3", "remember: milk", minutes=3, infer=False))[0],
        store.insert_turn(
            turn(bob, "t1", "Bob here", minutes=4, embedding=vec(seed=4), role="assistant")
        )[0],
        store.insert_turn(turn(session_only, "k1", "anonymous kiosk turn", minutes=5))[0],
    ]
    pks = [x.pk for x in t]
    assert all(pk is not None for pk in pks)
    store.claim_turns([pks[0], pks[1]])
    ep = episode(
        alice,
        "Alice lives in Berlin, then Rome",
        sources=[pks[1], pks[0]],
        embedding=vec(seed=5),
        metadata=meta,
        minutes=2,
    )
    ep.attrs, ep.pinned = {"trigger": "moving", "steps": ["a", "b"]}, True
    ep = store.insert_episode(ep)
    note = store.insert_episode(
        episode(alice, "remember: milk", kind="note", sources=[pks[2]], minutes=3)
    )
    store.insert_episode(
        episode(bob, "Bob here", sources=[pks[3]], embedding=vec(seed=6), minutes=4)
    )
    store.insert_episode(episode(session_only, "kiosk", sources=[pks[4]], minutes=5))
    berlin = store.insert_fact(
        fact(
            alice,
            obj="Berlin",
            valid=1,
            known=1,
            sources=[pks[0]],
            episode_id=ep.id,
            embedding=vec(seed=7),
        )
    )
    rome = store.insert_fact(
        fact(
            alice_s,
            obj="Rome",
            valid=2,
            known=2,
            sources=[pks[1]],
            episode_id=ep.id,
            embedding=vec(seed=8),
            metadata=meta,
            confidence=0.123456789,
        )
    )
    store.close_fact(berlin.id, acme, FactEnd(t_invalid=at(2), superseded_by=rome.id))
    store.insert_fact(fact(alice, relation="likes", obj="tea", valid=0, known=0, expired=3))
    store.insert_foresight(
        foresight(
            alice,
            "buy milk",
            due=60,
            expires=120,
            episode_pk=note.pk,
            sources=[pks[2]],
            embedding=vec(seed=9),
        )
    )
    store.insert_foresight(foresight(alice, "no episode", created=7))
    store.put_portrait(acme, "alice", {"name": "Alice", "city": "Rome", "facts": 2}, at(8))
    store.replace_panels(
        acme,
        "alice",
        [panel(alice, 0, "moves", [ep.id, note.id], 9), panel(alice, 1, "life", [], 10)],
    )
    store.insert_turn(
        turn(Scope(other, "carol", None), "c1", "another tenant", embedding=vec(seed=11))
    )
    store.enqueue_job(alice, "consolidate", T0)


def body(rows: list[dict[str, Any]]) -> list[str]:
    """The rows as canonical JSON, without the header's moment and source backend."""
    out = []
    for row in rows:
        if row["type"] == "header":
            row = {k: v for k, v in row.items() if k not in ("exported_at", "backend")}
        out.append(json.dumps(row, sort_keys=True, ensure_ascii=False))
    return out


def exported(
    store: Store, tenant: str | None = None, user_id: str | None = None
) -> list[dict[str, Any]]:
    # Through JSON text, as the CLI writes and reads it.
    return [json.loads(json.dumps(r)) for r in store.export_rows(tenant, user_id)]


def test_export_import_round_trip_in_one_backend(backend: str, make_store: StoreFactory) -> None:
    source = make_store(backend)
    fill(source)
    rows = exported(source)
    kinds = [r["type"] for r in rows]
    assert kinds.count("tenant") == 2 and kinds.count("turn") == 6 and kinds.count("panel") == 2
    target = make_store(backend)
    counts = target.import_rows(rows)
    assert counts == {
        "tenant": 2,
        "turn": 6,
        "episode": 4,
        "fact": 3,
        "foresight": 2,
        "portrait": 1,
        "panel": 2,
        "skipped": 0,
    }
    assert body(exported(target)) == body(rows)
    # Importing again stores nothing twice (panels and portraits are replaced in place).
    again = target.import_rows(rows)
    assert again["turn"] == again["episode"] == again["fact"] == again["foresight"] == 0
    assert again["skipped"] == 6 + 4 + 3 + 2
    assert body(exported(target)) == body(rows)


def test_the_records_survive_import(backend: str, make_store: StoreFactory) -> None:
    source = make_store(backend)
    fill(source)
    target = make_store(backend)
    target.import_rows(exported(source))
    for store in (source, target):
        acme = store.ensure_tenant("acme", T0)[0]
        alice = Scope(acme, "alice", None)
        [ep] = [e for e in store.episodes_in_scope(alice, ["episode"])]
        assert ep.pinned and ep.attrs == {"trigger": "moving", "steps": ["a", "b"]}
        assert ep.source_turn_ids == ["t1", "t2"] and ep.embedding is not None
        assert np.array_equal(ep.embedding, vec(seed=5))
        live = store.live_facts(alice)
        assert sorted(f.object for f in live) == ["Rome"] and live[0].confidence == 0.123456789
        assert store.count_pending(alice) == 0  # t1, t2 consolidated; t3 is verbatim
        assert store.count_pending(Scope(acme, None, "kiosk")) == 1
        fs = store.live_foresight(alice, at(30))
        assert [f.content for f in fs] == ["no episode", "buy milk"]
        assert fs[1].episode_pk is not None and fs[0].episode_pk is None
        assert store.get_portrait(acme, "alice") == {"name": "Alice", "city": "Rome", "facts": 2}
        assert [p.summary for p in store.get_panels(acme, "alice")] == ["life", "moves"]


def test_export_of_one_tenant_or_one_user(backend: str, make_store: StoreFactory) -> None:
    source = make_store(backend)
    fill(source)
    only_bob = exported(source, "acme", "bob")
    assert [r["type"] for r in only_bob] == ["header", "tenant", "turn", "episode"]
    assert only_bob[0]["user_id"] == "bob"
    globex = exported(source, "globex")
    assert [r["type"] for r in globex] == ["header", "tenant", "turn"]
    with pytest.raises(LookupError):
        list(source.export_rows("nobody", None))
    target = make_store(backend)
    assert target.import_rows(only_bob)["turn"] == 1
    assert body(exported(target, "acme", "bob"))[1:] == body(only_bob)[1:]


def test_import_refuses_what_it_cannot_store(backend: str, make_store: StoreFactory) -> None:
    source = make_store(backend)
    fill(source)
    rows = exported(source)
    target = make_store(backend)
    with pytest.raises(ImportRefused, match="dimensional"):
        target.import_rows([{**rows[0], "dim": 384 + 1}, *rows[1:]])
    with pytest.raises(ImportRefused, match="header"):
        target.import_rows(rows[1:])
    with pytest.raises(ImportRefused, match="row type"):
        target.import_rows([rows[0], rows[1], {"type": "mystery"}])
    # All or nothing: a refused file leaves no trace.
    assert [r["type"] for r in exported(target)] == ["header"]


@needs_postgres
def test_sqlite_to_postgres_and_back_is_lossless(make_store: StoreFactory) -> None:
    sqlite = make_store("sqlite")
    fill(sqlite)
    first = exported(sqlite)
    postgres = make_store("postgres")
    postgres.import_rows(first)
    second = exported(postgres)
    assert second[0]["backend"] == "postgres"
    assert body(second) == body(first)
    back = make_store("sqlite")
    back.import_rows(second)
    assert body(exported(back)) == body(first)
