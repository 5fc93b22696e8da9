"""The SQLite store's in-memory indexes patch rows whose masks changed instead of rebuilding.

Unit tests on a real SQLite file written by the store itself. Closing a fact or pinning an
episode used to rebuild every cached scope of the tenant on its next search (0.6 s at 10k
memories, 6 s at 100k, for every user of the tenant); now the entry holding the row
re-reads it and other scopes only look at the change log. Every answer is checked against
a second store opened on the same file, whose indexes are built from scratch.
"""

from __future__ import annotations

import dataclasses
import itertools
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from tessera_server.engine.forgetting import remove_episode
from tessera_server.engine.records import (
    EpisodePool,
    EpisodeRecord,
    FactEnd,
    FactPool,
    FactRecord,
    Scope,
    TimeTravel,
    Vector,
)
from tessera_server.store.sqlite.dense import KEPT_GENERATIONS
from tessera_server.store.sqlite.search import _EPISODE_DENSE, _FACT_DENSE
from tessera_server.store.sqlite.store import SQLiteStore

DIM = 16
T0 = datetime(2025, 1, 1, tzinfo=timezone.utc)
ALICE, BOB = Scope(1, "alice", None), Scope(1, "bob", None)
PLACES = ["Berlin", "Utrecht", "Lisbon", "Oslo", "Porto", "Ghent", "Turin", "Graz"]


def at(days: float) -> datetime:
    return T0 + timedelta(days=days)


def unit(rng: np.random.Generator) -> Vector:
    v = rng.standard_normal(DIM).astype(np.float32)
    out: Vector = v / np.linalg.norm(v)
    return out


def fill(store: SQLiteStore, rng: np.random.Generator) -> dict[str, list[FactRecord]]:
    facts: dict[str, list[FactRecord]] = {}
    for scope in (ALICE, BOB):
        assert scope.user_id is not None
        facts[scope.user_id] = []
        for n in range(40):
            place = PLACES[n % len(PLACES)]
            facts[scope.user_id].append(
                store.insert_fact(
                    FactRecord(
                        id=f"ft_{scope.user_id}_{n:03d}",
                        tenant_id=1,
                        user_id=scope.user_id,
                        session_id=None,
                        subject="User",
                        relation="lives_in",
                        object=place,
                        text=f"User lives in {place} near the old harbour {n}",
                        role="user",
                        confidence=0.9,
                        importance=0.6,
                        functional=True,
                        t_valid=at(n),
                        t_created=at(n),
                        metadata={},
                        created_at=at(n),
                        embedding=unit(rng),
                    )
                )
            )
            store.insert_episode(
                EpisodeRecord(
                    id=f"ep_{scope.user_id}_{n:03d}",
                    tenant_id=1,
                    user_id=scope.user_id,
                    session_id=None,
                    kind="episode",
                    text=f"We talked about the harbour in {place} on day {n}",
                    role="user",
                    event_time=at(n),
                    importance=0.5,
                    metadata={},
                    created_at=at(n),
                    embedding=unit(rng),
                )
            )
    return facts


def answers(store: SQLiteStore, scope: Scope, query: Vector) -> list[object]:
    """What searches see: facts at three vantages (masks from the fact times) and episodes
    with and without pins, densely and by words."""
    out: list[object] = []
    for travel in (TimeTravel(), TimeTravel(as_of=at(20)), TimeTravel(known_as_of=at(30))):
        out.append(store.dense_facts(FactPool(scope, travel, at(100)), query, 50))
        out.append(store.lexical_facts(FactPool(scope, travel, at(100)), ["harbour", "lisbon"], 50))
    out.append(store.dense_episodes(EpisodePool(scope, ["episode"]), query, 50))
    out.append(store.lexical_episodes(EpisodePool(scope, ["episode"]), ["harbour"], 50))
    snap = store.dense.snapshot(store.pool.conn, _EPISODE_DENSE, scope)
    # Mask columns of the rows searches can find (here every row has a vector; a deleted
    # row keeps its place in a patched index, without one).
    live = np.ones(snap.size, np.bool_) if snap.has_vector is None else snap.has_vector
    out.append(snap.extra[: snap.size][live].tolist())
    return out


def same(got: list[object], want: list[object]) -> bool:
    """Equal answers: the same ids with scores equal to float32 rounding, best first, and the
    same mask columns. A vector product's last bit depends on the row's place in the matrix,
    and so does the order among equal scores; a rebuild compacts the places."""
    if len(got) != len(want):
        return False
    for mine, theirs in zip(got, want, strict=True):
        assert isinstance(mine, list) and isinstance(theirs, list)
        if not (mine and isinstance(mine[0], tuple)):
            if mine != theirs:
                return False
            continue
        if sorted(i for i, _ in mine) != sorted(i for i, _ in theirs):
            return False
        by_id = dict(theirs)
        scores = [x for _, x in mine]
        if not np.allclose(scores, [by_id[i] for i, _ in mine], rtol=0, atol=1e-6):
            return False
        if any(later > earlier + 1e-6 for earlier, later in itertools.pairwise(scores)):
            return False
    return True


def postings(store: SQLiteStore, scope: Scope, table: Any = _FACT_DENSE) -> object:
    """The entry's word index: the same object while the entry is patched, new on a rebuild."""
    lexical = store.dense.snapshot(store.pool.conn, table, scope).lexical
    assert lexical is not None
    return lexical.index


@dataclass
class Filled:
    store: SQLiteStore
    path: Path
    facts: dict[str, list[FactRecord]]
    query: Vector
    rng: np.random.Generator

    def fresh(self) -> SQLiteStore:
        """A second store on the file: its indexes are built from scratch."""
        return SQLiteStore(self.path, DIM)


@pytest.fixture
def filled(tmp_path: Path) -> Filled:
    store = SQLiteStore(tmp_path / "patch.db", DIM)
    store.migrate()
    store.ensure_tenant("t", T0)
    rng = np.random.default_rng(7)
    facts = fill(store, rng)
    return Filled(store, tmp_path / "patch.db", facts, unit(rng), rng)


def test_closed_facts_and_pins_are_patched_in_and_answers_match_a_rebuild(
    filled: Filled,
) -> None:
    store, facts, query = filled.store, filled.facts, filled.query
    before = {s.user_id: answers(store, s, query) for s in (ALICE, BOB)}
    index_of = {s.user_id: postings(store, s) for s in (ALICE, BOB)}

    for old in facts["alice"][5:15]:
        store.close_fact(
            old.id, 1, FactEnd(t_invalid=at(25), t_expired=at(28), superseded_by="ft_x")
        )
    store.set_pinned(ALICE, "ep_alice_007", True)
    store.set_pinned(ALICE, "ep_alice_009", True)
    store.set_pinned(ALICE, "ep_alice_009", False)

    for scope in (ALICE, BOB):
        after = answers(store, scope, query)
        assert same(after, answers(filled.fresh(), scope, query))  # as if built from scratch
        assert postings(store, scope) is index_of[scope.user_id]  # patched, not rebuilt
    assert answers(store, BOB, query) == before["bob"]  # Alice's changes are not Bob's
    assert answers(store, ALICE, query) != before["alice"]


def rewrite_episode(store: SQLiteStore, facts: dict[str, list[FactRecord]]) -> None:
    (episode,) = store.get_episodes(ALICE, ["ep_alice_005"])
    episode.text = "We talked about the lighthouse instead"
    store.update_episode(episode)


def delete_episode(store: SQLiteStore, facts: dict[str, list[FactRecord]]) -> None:
    (episode,) = store.get_episodes(ALICE, ["ep_alice_006"])
    remove_episode(store, episode)


def new_vector(store: SQLiteStore, facts: dict[str, list[FactRecord]]) -> None:
    store.set_item_embeddings(1, [(facts["alice"][4].id, np.eye(DIM, dtype=np.float32)[0])])


# What each change does to Alice's index: True rebuilds it (a vector or a text replaced),
# False patches it (rows deleted: dropped from its masks and word statistics).
CHANGES: dict[
    str, tuple[Callable[[SQLiteStore, dict[str, list[FactRecord]]], object], Any, bool]
] = {
    "a fact deleted": (
        lambda store, facts: store.delete_fact(facts["alice"][3]),
        _FACT_DENSE,
        False,
    ),
    "a fact's vector replaced": (new_vector, _FACT_DENSE, True),
    "an episode rewritten": (rewrite_episode, _EPISODE_DENSE, True),
    "an episode deleted": (delete_episode, _EPISODE_DENSE, False),
    # Every row gone, the last one too (see the key-reuse test below): rebuilt, and empty.
    "the user wiped": (lambda store, facts: store.wipe(ALICE), _FACT_DENSE, True),
}


@pytest.mark.parametrize("change", sorted(CHANGES))
def test_rows_removed_are_dropped_and_rows_rewritten_rebuild_only_their_scope(
    filled: Filled, change: str
) -> None:
    store, query = filled.store, filled.query
    apply, table, rebuilds = CHANGES[change]
    alices = postings(store, ALICE, table)
    bobs = [postings(store, BOB, t) for t in (_EPISODE_DENSE, _FACT_DENSE)]
    bob_before = answers(store, BOB, query)
    apply(store, filled.facts)
    assert (postings(store, ALICE, table) is not alices) == rebuilds
    # Same ids, same scores (BM25 statistics without the deleted rows), same masks.
    assert same(answers(store, ALICE, query), answers(filled.fresh(), ALICE, query))
    # Bob's indexes hold none of those rows: they only move to the new generation.
    assert [postings(store, BOB, t) for t in (_EPISODE_DENSE, _FACT_DENSE)] == bobs
    assert answers(store, BOB, query) == bob_before
    assert same(bob_before, answers(filled.fresh(), BOB, query))


def test_deleted_rows_never_come_back_and_new_rows_still_arrive(filled: Filled) -> None:
    store, facts, query = filled.store, filled.facts, filled.query
    kept = postings(store, ALICE)
    answers(store, ALICE, query)
    for fact in facts["alice"][10:30]:
        store.delete_fact(fact)
    gone = {f.id for f in facts["alice"][10:30]}
    found = store.dense_facts(FactPool(ALICE, TimeTravel(), at(100)), query, 100)
    assert len(found) == 20 and not gone & {fid for fid, _ in found}
    words = store.lexical_facts(FactPool(ALICE, TimeTravel(), at(100)), ["harbour"], 100)
    assert len(words) == 20 and not gone & {fid for fid, _ in words}
    extra = dataclasses.replace(facts["alice"][0], id="ft_alice_new", pk=None, text="harbour")
    store.insert_fact(extra)
    assert "ft_alice_new" in {
        fid
        for fid, _ in store.lexical_facts(FactPool(ALICE, TimeTravel(), at(100)), ["harbour"], 100)
    }
    assert postings(store, ALICE) is kept
    assert same(answers(store, ALICE, query), answers(filled.fresh(), ALICE, query))


def test_an_entry_behind_the_kept_log_is_rebuilt(filled: Filled) -> None:
    store, facts, query = filled.store, filled.facts, filled.query
    kept = postings(store, ALICE)
    store.close_fact(facts["alice"][0].id, 1, FactEnd(t_invalid=at(3)))
    for n in range(KEPT_GENERATIONS):
        store.set_pinned(BOB, "ep_bob_001", n % 2 == 0)
    logged = store.pool.conn.execute("SELECT count(DISTINCT generation) FROM index_changes")
    assert logged.fetchone()[0] == KEPT_GENERATIONS
    # Alice's entry missed the generation that closed her fact: the log cannot patch it.
    assert postings(store, ALICE) is not kept
    assert same(answers(store, ALICE, query), answers(filled.fresh(), ALICE, query))


def test_a_write_from_another_process_is_seen(filled: Filled) -> None:
    """Two stores on one file stand for two service processes: the log lives in the file."""
    store, facts, query = filled.store, filled.facts, filled.query
    kept = postings(store, ALICE)
    other = filled.fresh()
    other.close_fact(facts["alice"][1].id, 1, FactEnd(t_invalid=at(2), t_expired=at(2)))
    other.set_pinned(ALICE, "ep_alice_002", True)
    assert same(answers(store, ALICE, query), answers(filled.fresh(), ALICE, query))
    assert postings(store, ALICE) is kept


def test_a_new_row_taking_a_deleted_rows_key_is_found(filled: Filled) -> None:
    """SQLite reuses the largest primary key once its row is deleted: Bob's last fact is the
    table's last row, and the fact added after its deletion gets its key."""
    store, facts = filled.store, filled.facts
    last = facts["bob"][-1]
    answers(store, BOB, filled.query)
    store.delete_fact(last)
    answers(store, BOB, filled.query)  # the index catches up between the delete and the add
    new = store.insert_fact(
        dataclasses.replace(last, id="ft_bob_new", pk=None, text="User loves the lighthouse")
    )
    assert new.pk == last.pk
    found = store.lexical_facts(FactPool(BOB, TimeTravel(), at(100)), ["lighthouse"], 10)
    assert [fid for fid, _ in found] == ["ft_bob_new"]
    assert same(answers(store, BOB, filled.query), answers(filled.fresh(), BOB, filled.query))


def test_any_write_logs_its_changes_without_being_told(filled: Filled) -> None:
    """The change log follows from the write itself (triggers, settled at commit): a write
    the store has no method for, in plain SQL, is seen by an index built before it."""
    store, facts, query = filled.store, filled.facts, filled.query
    before = answers(store, ALICE, query)
    with store.pool.write() as conn:
        conn.execute(
            "UPDATE facts SET t_invalid = ? WHERE id = ?",
            ("2025-01-05T00:00:00.000000+00:00", facts["alice"][3].id),
        )
        conn.execute("UPDATE episodes SET pinned = 1 WHERE id = 'ep_alice_004'")
        conn.execute("DELETE FROM facts WHERE id = ?", (facts["alice"][5].id,))
    pending = store.pool.conn.execute("SELECT count(*) FROM index_pending").fetchone()[0]
    assert pending == 0, "the commit settled every tenant it logged"
    after = answers(store, ALICE, query)
    assert not same(after, before)
    assert same(after, answers(filled.fresh(), ALICE, query))
