"""Conformance: the lexical and dense arms (scoped, filtered, time-travelled) and listing.

Search tests run on `search_store`, which adds PostgreSQL with exact search switched off,
so the HNSW path with iterative scans must give the same answers under filters.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

import pytest
from conformance_helpers import T0, at, episode, fact, turn, vec
from tessera_server.engine.records import (
    EpisodePool,
    EpisodeRecord,
    FactPool,
    FilterSpec,
    ListCursor,
    Scope,
    TimeTravel,
)
from tessera_server.store import Store

KINDS = ("episode", "note", "procedure", "resource")


def _ids(ranked: list[tuple[str, float]]) -> list[str]:
    return [i for i, _ in ranked]


@dataclass
class World:
    store: Store
    acme: int
    items: dict[str, EpisodeRecord]


@pytest.fixture
def world(search_store: Store) -> World:
    """Two tenants; alice (two sessions) and bob in the first, alice again in the second."""
    store = search_store
    acme, _ = store.ensure_tenant("acme", T0)
    globex, _ = store.ensure_tenant("globex", T0)
    alice, alice_s2 = Scope(acme, "alice", "s1"), Scope(acme, "alice", "s2")
    bob, stranger = Scope(acme, "bob", None), Scope(globex, "alice", None)
    items = {
        "hiking": store.insert_episode(
            episode(
                alice,
                "Alice went hiking in the Alps",
                embedding=vec(1, 0.1),
                importance=0.9,
                metadata={"topic": "travel", "rating": 5, "ok": True},
                minutes=1,
            )
        ),
        "running": store.insert_episode(
            episode(
                alice_s2,
                "Alice is running a marathon",
                embedding=vec(1, 0.3),
                importance=0.2,
                metadata={"topic": "sport", "rating": 3, "ok": False},
                minutes=2,
                role="assistant",
            )
        ),
        "note": store.insert_episode(
            episode(
                alice,
                "note: hiking boots size 39",
                kind="note",
                embedding=vec(1, 0.5),
                metadata={"topic": "travel", "rating": "n/a"},
                minutes=3,
            )
        ),
        "procedure": store.insert_episode(
            episode(
                alice,
                "procedure: pack for hiking",
                kind="procedure",
                embedding=vec(1, 0.05),
                minutes=4,
            )
        ),
        "bob": store.insert_episode(
            episode(bob, "Bob went hiking too", embedding=vec(1, 0.0), minutes=5)
        ),
        "stranger": store.insert_episode(
            episode(stranger, "Another tenant's hiking trip", embedding=vec(1, 0.0), minutes=6)
        ),
    }
    return World(store, acme, items)


def test_lexical_episodes_are_scoped_and_stemmed(world: World) -> None:
    store, items = world.store, world.items
    acme = world.acme
    alice = Scope(acme, "alice", None)
    got = _ids(store.lexical_episodes(EpisodePool(alice, ["episode", "note"]), ["hiking"], 10))
    assert sorted(got) == sorted([items["hiking"].id, items["note"].id])
    # "runs" and "running" share a stem in both backends' English stemmers.
    assert _ids(store.lexical_episodes(EpisodePool(alice, KINDS), ["runs"], 10)) == [
        items["running"].id
    ]
    assert _ids(
        store.lexical_episodes(
            EpisodePool(Scope(acme, None, "s2"), KINDS), ["hiking", "marathon"], 10
        )
    ) == [items["running"].id]
    assert _ids(
        store.lexical_episodes(EpisodePool(Scope(acme, "bob", None), KINDS), ["hiking"], 10)
    ) == [items["bob"].id]
    assert store.lexical_episodes(EpisodePool(alice, KINDS), ["zebra"], 10) == []
    # Terms are words, never query syntax; odd characters do no harm.
    for odd in (['"hiking" OR *'], ["AND", "-x", "NEAR(a b)"], ["'", "\\"]):
        assert isinstance(store.lexical_episodes(EpisodePool(alice, KINDS), odd, 10), list)
    assert len(store.lexical_episodes(EpisodePool(alice, KINDS), ["hiking"], 1)) == 1


def test_lexical_scores_rank_better_matches_first(search_store: Store) -> None:
    store = search_store
    tenant, _ = store.ensure_tenant("acme", T0)
    scope = Scope(tenant, "u", None)
    weak = store.insert_episode(
        episode(scope, "a long story where tea appears once among many other words")
    )
    strong = store.insert_episode(episode(scope, "tea tea tea: green tea"))
    ranked = store.lexical_episodes(EpisodePool(scope, KINDS), ["tea"], 10)
    assert _ids(ranked) == [strong.id, weak.id]
    assert ranked[0][1] > ranked[1][1]


def test_dense_episodes_are_exact_scoped_and_kind_filtered(world: World) -> None:
    store, items = world.store, world.items
    acme = world.acme
    alice = Scope(acme, "alice", None)
    query = vec(1, 0)
    ranked = store.dense_episodes(EpisodePool(alice, KINDS), query, 10)
    assert _ids(ranked) == [
        items["procedure"].id,
        items["hiking"].id,
        items["running"].id,
        items["note"].id,
    ]
    expected = float(vec(1, 0.05) @ query)
    assert ranked[0][1] == pytest.approx(expected, abs=1e-5)
    assert _ids(store.dense_episodes(EpisodePool(alice, ["episode"]), query, 1)) == [
        items["hiking"].id
    ]
    assert _ids(store.dense_episodes(EpisodePool(Scope(acme, None, "s2"), KINDS), query, 10)) == [
        items["running"].id
    ]
    assert _ids(store.dense_episodes(EpisodePool(Scope(acme, "bob", None), KINDS), query, 10)) == [
        items["bob"].id
    ]
    assert store.dense_episodes(EpisodePool(Scope(acme, "nobody", None), KINDS), query, 10) == []


def test_filters_on_columns_and_metadata(world: World) -> None:
    store, items = world.store, world.items
    alice = Scope(world.acme, "alice", None)
    q = vec(1, 0)

    def both(*filters: FilterSpec) -> list[str]:
        dense = sorted(_ids(store.dense_episodes(EpisodePool(alice, KINDS, list(filters)), q, 10)))
        words = sorted(
            _ids(
                store.lexical_episodes(
                    EpisodePool(alice, KINDS, list(filters)),
                    ["alice", "hiking", "note", "procedure"],
                    10,
                )
            )
        )
        assert dense == words, (filters, dense, words)
        return dense

    def ids(*names: str) -> list[str]:
        return sorted(items[n].id for n in names)

    assert both(FilterSpec("importance", "gte", 0.5)) == ids("hiking", "note", "procedure")
    assert both(FilterSpec("importance", "lt", 1)) == ids("hiking", "running", "note", "procedure")
    assert both(FilterSpec("role", "eq", "assistant")) == ids("running")
    assert both(FilterSpec("role", "in", ["assistant", "system"])) == ids("running")
    assert both(FilterSpec("session_id", "ne", "s1")) == ids("running")
    assert both(FilterSpec("event_time", "gt", at(2))) == ids("note", "procedure")
    assert both(FilterSpec("created_at", "lte", at(1))) == ids("hiking")
    # Metadata: strings compare as strings, numbers and booleans (1/0) as numbers; a missing
    # key never matches, not even `ne`; a number and a string never compare equal.
    assert both(FilterSpec("metadata", "eq", "travel", "topic")) == ids("hiking", "note")
    assert both(FilterSpec("metadata", "ne", "travel", "topic")) == ids("running")
    assert both(FilterSpec("metadata", "in", ["sport", "x"], "topic")) == ids("running")
    assert both(FilterSpec("metadata", "eq", 5, "rating")) == ids("hiking")
    assert both(FilterSpec("metadata", "gte", 3.0, "rating")) == ids("hiking", "running", "note")
    assert both(FilterSpec("metadata", "lt", 4, "rating")) == ids("running")
    assert both(FilterSpec("metadata", "ne", 5, "rating")) == ids("running", "note")
    assert both(FilterSpec("metadata", "eq", 1, "ok")) == ids("hiking")
    assert both(FilterSpec("metadata", "eq", 0, "ok")) == ids("running")
    assert both(FilterSpec("metadata", "eq", "n/a", "rating")) == ids("note")
    assert both(FilterSpec("metadata", "eq", "x", "absent")) == []
    assert both(
        FilterSpec("metadata", "eq", "travel", "topic"), FilterSpec("importance", "gt", 0.8)
    ) == ids("hiking")


def test_metadata_filter_rule(search_store: Store) -> None:
    """The rule of a metadata filter (`store/sql/filters.py`), the same on every backend: null
    and missing never match; booleans are 1/0; objects and arrays are text; every number sorts
    before every text; text compares bytewise (code point order, whatever the locale)."""
    store = search_store
    tenant, _ = store.ensure_tenant("acme", T0)
    scope = Scope(tenant, "u", None)
    values: dict[str, object] = {
        "null": None,
        "three": 3,
        "half": 0.5,
        "yes": True,
        "upper": "Zed",
        "lower": "apple",
        "accent": "\u00e9t\u00e9",
        "list": ["x"],
        "object": {"a": 1},
    }
    stored = {
        name: store.insert_episode(
            episode(scope, "alpha", embedding=vec(1, i / 10), metadata={"v": value}, minutes=i)
        ).id
        for i, (name, value) in enumerate(values.items())
    }
    store.insert_episode(episode(scope, "alpha", embedding=vec(1), metadata={}, minutes=20))

    def match(op: str, value: object) -> set[str]:
        spec = [FilterSpec("metadata", op, value, "v")]  # type: ignore[arg-type]
        dense = _ids(store.dense_episodes(EpisodePool(scope, KINDS, spec), vec(1), 50))
        words = _ids(store.lexical_episodes(EpisodePool(scope, KINDS, spec), ["alpha"], 50))
        assert sorted(dense) == sorted(words), (op, value)
        return {name for name, item_id in stored.items() if item_id in dense}

    texts = {"upper", "lower", "accent", "list", "object"}
    assert match("eq", 3.0) == {"three"}
    assert match("eq", 1) == {"yes"}
    assert match("ne", 3) == {"half", "yes"} | texts  # never the null nor the missing key
    assert match("lt", 1) == {"half"}
    assert match("gt", 1) == {"three"} | texts  # text sorts after every number
    # Bytewise: "Zed" and '["x"]' before "a"; U+00E9 and '{"a": 1}' after "z".
    assert match("lte", "a") == {"three", "half", "yes", "upper", "list"}
    assert match("gt", "z") == {"accent", "object"}
    assert match("eq", "Zed") == {"upper"}
    assert match("ne", "Zed") == {"three", "half", "yes"} | texts - {"upper"}
    assert match("in", ["apple", 3]) == {"lower", "three"}


def test_metadata_filters_on_unusual_values(search_store: Store) -> None:
    store = search_store
    tenant, _ = store.ensure_tenant("acme", T0)
    scope = Scope(tenant, "u", None)
    big = store.insert_episode(
        episode(scope, "alpha", embedding=vec(1), metadata={"n": 2**62 + 1, "s": "nul\x00inside"})
    )
    store.insert_episode(episode(scope, "alpha", embedding=vec(1), metadata={"n": 2**62}))
    assert _ids(
        store.dense_episodes(
            EpisodePool(scope, KINDS, [FilterSpec("metadata", "eq", 2**62 + 1, "n")]), vec(1), 5
        )
    ) == [big.id]
    # U+0000 can be stored in metadata and is read back exactly; a filter value with it is harmless.
    [got] = store.get_episodes(scope, [big.id])
    assert got.metadata["s"] == "nul\x00inside"
    store.dense_episodes(
        EpisodePool(scope, KINDS, [FilterSpec("metadata", "eq", "nul\x00inside", "s")]), vec(1), 5
    )


def test_fact_arms_honour_time_travel(search_store: Store) -> None:
    """A fact valid from minute 10 to 20, believed from minute 12 to 30."""
    store = search_store
    tenant, _ = store.ensure_tenant("acme", T0)
    scope = Scope(tenant, "alice", None)
    f = store.insert_fact(
        fact(
            scope,
            obj="Berlin",
            text="Alice lives in Berlin",
            valid=10,
            invalid=20,
            known=12,
            expired=30,
            embedding=vec(1),
        )
    )
    current = store.insert_fact(
        fact(
            scope, obj="Rome", text="Alice lives in Rome", valid=20, known=21, embedding=vec(1, 0.2)
        )
    )
    q = vec(1)

    def seen(as_of: float | None, known: float | None, now: float = 100) -> list[str]:
        travel = TimeTravel(
            at(as_of) if as_of is not None else None, at(known) if known is not None else None
        )
        dense = sorted(_ids(store.dense_facts(FactPool(scope, travel, at(now)), q, 10)))
        words = sorted(
            _ids(store.lexical_facts(FactPool(scope, travel, at(now)), ["alice", "lives"], 10))
        )
        assert dense == words, (as_of, known, dense, words)
        return dense

    assert seen(None, None) == [current.id]  # now: Berlin is no longer valid nor believed
    assert seen(15, 25) == [f.id]  # valid at 15, as believed at 25
    assert seen(15, 11) == []  # not yet known at 11
    assert seen(15, 30) == []  # retracted at 30 (the end is exclusive)
    assert seen(20, 25) == [current.id]  # Berlin's validity ended at 20, Rome's began
    assert seen(25, 25) == [current.id]
    assert seen(9, 25) == []
    assert seen(None, None, now=15) == [f.id]
    assert seen(15, None, now=25) == [f.id]
    assert (
        sorted(
            _ids(
                store.dense_facts(
                    FactPool(
                        scope,
                        TimeTravel(at(15), at(25)),
                        at(100),
                        [FilterSpec("subject", "eq", "Bob")],
                    ),
                    q,
                    10,
                )
            )
        )
        == []
    )
    assert _ids(
        store.dense_facts(
            FactPool(
                scope, TimeTravel(at(15), at(25)), at(100), [FilterSpec("confidence", "gte", 0.5)]
            ),
            q,
            10,
        )
    ) == [f.id]


def test_turn_arms_are_scoped(search_store: Store) -> None:
    store = search_store
    tenant, _ = store.ensure_tenant("acme", T0)
    other, _ = store.ensure_tenant("globex", T0)
    alice, bob = Scope(tenant, "alice", None), Scope(tenant, "bob", None)
    a1 = store.insert_turn(turn(alice, "1", "I adopted a kitten", embedding=vec(1, 0.1)))[0].pk
    a2 = store.insert_turn(turn(alice, "2", "The weather is nice", embedding=vec(0, 1)))[0].pk
    store.insert_turn(turn(bob, "1", "Bob adopted kittens", embedding=vec(1, 0)))
    store.insert_turn(turn(Scope(other, "alice", None), "1", "kitten", embedding=vec(1, 0)))
    store.insert_turn(
        turn(alice, "3", "a kitten, mentioned once in a much longer sentence with no vector")
    )
    assert store.lexical_turns(alice, ["kittens"], 10)[0][0] == a1
    assert len(store.lexical_turns(alice, ["kitten"], 10)) == 2
    dense = store.dense_turns(alice, vec(1, 0), 10)
    assert [pk for pk, _ in dense] == [a1, a2]
    assert dense[0][1] == pytest.approx(float(vec(1, 0.1) @ vec(1, 0)), abs=1e-5)
    ep = store.insert_episode(episode(alice, "kitten day", sources=[a1, a2]))
    note = store.insert_episode(episode(alice, "kitten note", kind="note", sources=[a1]))
    assert a1 is not None and a2 is not None
    owners = store.episodes_of_turns(alice, [a1, a2], ["episode", "note"])
    assert sorted(owners[a1]) == sorted([ep.id, note.id]) and owners[a2] == [ep.id]
    assert store.episodes_of_turns(alice, [a1], ["procedure"]) == {}
    assert store.episodes_of_turns(bob, [a1], KINDS) == {}


def test_listing_is_newest_first_with_a_stable_cursor(store: Store) -> None:
    tenant, _ = store.ensure_tenant("acme", T0)
    scope = Scope(tenant, "alice", None)
    made = []
    for i in range(7):
        # Pairs share a created_at: the id breaks the tie, descending.
        made.append(
            store.insert_episode(episode(scope, f"e{i}", created=i // 2, id=f"ep_{i:03d}")).id
        )
        made.append(
            store.insert_fact(fact(scope, obj=f"o{i}", created=i // 2 + 0.5, id=f"ft_{i:03d}")).id
        )
    store.insert_fact(fact(scope, obj="retracted", created=10, expired=11, id="ft_999"))
    store.insert_episode(episode(Scope(tenant, "bob", None), "not alice", created=20))
    expected = sorted(
        [(e, (int(e[3:]) // 2)) for e in made if e.startswith("ep")]
        + [(f, (int(f[3:]) // 2 + 0.5)) for f in made if f.startswith("ft")],
        key=lambda p: (p[1], p[0]),
        reverse=True,
    )
    pages, cursor = [], None
    while True:
        page = store.list_items(scope, cursor, 4)
        if not page:
            break
        pages.append(page)
        cursor = ListCursor(page[-1].created_at, page[-1].id)
    flat = [item for page in pages for item in page]
    assert [i.id for i in flat] == [e for e, _ in expected]
    assert [len(p) for p in pages] == [4, 4, 4, 2]
    assert flat[0].kind == "fact" and flat[-1].kind == "episode"
    assert all(isinstance(i.created_at, datetime) and i.created_at.tzinfo for i in flat)
    assert (
        store.list_items(scope, ListCursor(datetime(2000, 1, 1, tzinfo=timezone.utc), "x"), 10)
        == []
    )


def test_turn_neighbours_follow_the_conversation(store: Store) -> None:
    """Neighbours are the turns just before and after in (event_time, pk) order, within one
    user and session, and no further apart in time than the gap."""
    acme, _ = store.ensure_tenant("acme", T0)
    alice, other_session = Scope(acme, "alice", "s1"), Scope(acme, "alice", "s2")
    bob = Scope(acme, "bob", "s1")

    def add(scope: Scope, turn_id: str, minutes: float) -> int:
        record, _ = store.insert_turn(turn(scope, turn_id, minutes=minutes))
        assert record.pk is not None
        return record.pk

    first = add(alice, "a1", 0)
    second = add(alice, "a2", 1)
    add(bob, "b1", 1.5)  # another user's turn between alice's: never her neighbour
    third = add(alice, "a3", 2)
    late_said_earlier = add(alice, "a4", 1)  # stored last, said at minute 1: after `second`
    add(other_session, "s2-1", 2)
    far = add(alice, "a5", 500)  # a later sitting: beyond the gap

    near = store.turn_neighbors([second, third, far, first], timedelta(minutes=30))
    assert sorted(near[second]) == sorted([first, late_said_earlier])
    assert near[third] == [late_said_earlier]
    assert near[far] == []
    assert near[first] == [second]
    assert store.turn_neighbors([], timedelta(minutes=30)) == {}
    wide = store.turn_neighbors([far], timedelta(days=1))
    assert wide[far] == [third]
