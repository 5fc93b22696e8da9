"""The SQLite backend's in-memory BM25 index: tokenising, scoring, growth and isolation.

Unit tests beside the conformance suite: they check what the store protocol cannot show,
namely that scores match FTS5's bm25() on a single scope, that statistics are per scope,
and that the index follows every kind of write at once.
"""

from __future__ import annotations

import sqlite3
from datetime import datetime, timedelta, timezone
from pathlib import Path

import numpy as np
import pytest
from sqlite_items import items_database
from tessera_server.engine.forgetting import remove_episode
from tessera_server.engine.records import (
    EpisodePool,
    EpisodeRecord,
    FactEnd,
    FactPool,
    FactRecord,
    Scope,
    TimeTravel,
    TurnRecord,
    Vector,
)
from tessera_server.store.sqlite import dense, lexical
from tessera_server.store.sqlite.dense import DenseIndex, DenseTable
from tessera_server.store.sqlite.lexical import Postings, tokenize, words
from tessera_server.store.sqlite.store import SQLiteStore

NOW = datetime(2026, 1, 1, tzinfo=timezone.utc)
KINDS = ["episode", "note"]


def test_tokenize_lowercases_strips_diacritics_splits_and_stems() -> None:
    assert tokenize("Running KITTENS hiked") == ["run", "kitten", "hike"]
    assert words("Café naïve — don\u2019t snake_case x2") == [
        b"cafe",
        b"naive",
        b"don",
        b"t",
        b"snake",
        b"case",
        b"x2",
    ]
    assert words("Straße ÉCOLE") == ["straße".encode(), b"ecole"]
    assert tokenize("") == [] and tokenize("... !!") == []


def fts_match(terms: list[str]) -> str:
    """An FTS5 OR-query of the terms, each quoted so no input is read as query syntax (the
    reference the in-memory BM25 is compared with; search itself never queries FTS5)."""
    return " OR ".join('"' + t.replace('"', "") + '"' for t in terms[:64])


def _fts(texts: list[str], query: list[str]) -> dict[int, float]:
    conn = sqlite3.connect(":memory:")
    conn.execute(
        "CREATE VIRTUAL TABLE t USING fts5(x, tokenize='porter unicode61 remove_diacritics 2')"
    )
    conn.executemany("INSERT INTO t (rowid, x) VALUES (?, ?)", list(enumerate(texts)))
    rows = conn.execute(
        "SELECT rowid, bm25(t) FROM t WHERE t MATCH ? ORDER BY rowid", (fts_match(query),)
    )
    return {int(r[0]): -float(r[1]) for r in rows}


TEXTS = [
    "I went hiking in the mountains with my dog",
    "The dog loves running; running is its favourite thing",
    "We cooked pasta and drank tea on the balcony",
    "Tea, more tea, and a long hike through the café district",
    "Nothing relevant here at all",
    "Hikers hike hills; a hiker's hike is never over",
    "line one\nline two about a dog\n\nand tea",
    "",
    "Ünïcödé wörds: Zürich straße ÉCOLE",
]


@pytest.mark.parametrize(
    "query",
    [["hiking"], ["dog", "tea"], ["run", "running", "hike"], ["cafe"], ["zebra"], ["zurich"]],
)
def test_scores_match_fts5_bm25_on_one_corpus(query: list[str]) -> None:
    index = Postings()
    index.append(TEXTS[:2])
    index.append(TEXTS[2:])  # two batches: the tail is searched together with sealed postings
    docs, scores = index.snapshot().score(query)
    mine = {int(d): float(s) for d, s in zip(docs, scores, strict=True)}
    expected = _fts(TEXTS, query)
    assert mine.keys() == expected.keys()
    for doc, score in expected.items():
        assert mine[doc] == pytest.approx(score, rel=1e-9, abs=1e-12)


def test_appends_merge_into_sealed_postings_exactly(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(lexical, "TAIL_MIN", 8)
    rng = np.random.default_rng(7)
    vocab = ["alpha", "beta", "gamma", "delta", "epsilon", "zeta", "eta", "theta"]
    texts = [" ".join(rng.choice(vocab, size=int(rng.integers(1, 12)))) for _ in range(300)]
    grown, whole = Postings(), Postings()
    for start in range(0, len(texts), 7):
        grown.append(texts[start : start + 7])
    whole.append(texts)
    assert len(grown.docs) > 0  # merged at least once
    for query in (["alpha"], ["beta", "theta"], vocab):
        a_docs, a_scores = grown.snapshot().score(query)
        b_docs, b_scores = whole.snapshot().score(query)
        order_a, order_b = np.argsort(a_docs), np.argsort(b_docs)
        assert np.array_equal(a_docs[order_a], b_docs[order_b])
        assert np.allclose(a_scores[order_a], b_scores[order_b])
        expected = _fts(texts, query)
        assert sorted(expected) == sorted(int(d) for d in a_docs)


def test_a_snapshot_is_unchanged_by_later_appends(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(lexical, "TAIL_MIN", 4)
    index = Postings()
    index.append(["red apple", "green apple"])
    snap = index.snapshot()
    before = snap.score(["apple"])
    index.append([f"apple number {i}" for i in range(50)])
    after = snap.score(["apple"])
    assert np.array_equal(before[0], after[0]) and np.allclose(before[1], after[1])
    assert len(index.snapshot().score(["apple"])[0]) == 52


# -- through the store ------------------------------------------------------------------


@pytest.fixture
def store(tmp_path: Path) -> SQLiteStore:
    s = SQLiteStore(tmp_path / "t.db", 4)
    s.migrate()
    s.ensure_tenant("a", NOW)
    s.ensure_tenant("b", NOW)
    return s


def _vec(i: int) -> Vector:
    v = np.zeros(4, np.float32)
    v[i % 4] = 1.0
    return v


def _episode(store: SQLiteStore, scope: Scope, text: str, kind: str = "note") -> EpisodeRecord:
    return store.insert_episode(
        EpisodeRecord(
            id=f"ep_{abs(hash((scope, text, kind))):x}",
            tenant_id=scope.tenant_id,
            user_id=scope.user_id or "",
            session_id=scope.session_id or "",
            kind=kind,
            text=text,
            role="user",
            event_time=NOW,
            importance=0.5,
            metadata={},
            embedding=_vec(len(text)),
            created_at=NOW,
        )
    )


def _fact(store: SQLiteStore, scope: Scope, text: str, n: int) -> FactRecord:
    return store.insert_fact(
        FactRecord(
            id=f"ft_{n}",
            tenant_id=scope.tenant_id,
            user_id=scope.user_id or "",
            session_id=scope.session_id or "",
            subject="alice",
            relation="likes",
            object=text,
            text=text,
            role="user",
            confidence=1.0,
            importance=0.5,
            functional=True,
            metadata={},
            t_valid=NOW - timedelta(days=1),
            t_created=NOW - timedelta(days=1),
            embedding=_vec(n),
            created_at=NOW - timedelta(days=1),
        )
    )


def _turn(store: SQLiteStore, scope: Scope, text: str, n: int, vec: bool = True) -> int:
    turn, _ = store.insert_turn(
        TurnRecord(
            tenant_id=scope.tenant_id,
            user_id=scope.user_id or "",
            session_id=scope.session_id or "",
            turn_id=f"t{n}",
            role="user",
            content=text,
            event_time=NOW,
            metadata={},
            infer=False,
            embedding=_vec(n) if vec else None,
            created_at=NOW,
        )
    )
    assert turn.pk is not None
    return turn.pk


def _ids(hits: list[tuple[str, float]]) -> list[str]:
    return [i for i, _ in hits]


def test_statistics_and_results_are_per_scope(store: SQLiteStore) -> None:
    alice, bob, other = Scope(1, "alice", None), Scope(1, "bob", None), Scope(2, "alice", None)
    mine = [_episode(store, alice, t) for t in ("kayak trip on the lake", "lake house weekend")]
    before = store.lexical_episodes(EpisodePool(alice, KINDS), ["kayak", "lake"], 10)
    # Another user's and another tenant's rows, full of the same words and one unique to them.
    for scope in (bob, other):
        for i in range(20):
            _episode(store, scope, f"lake lake lake kayak {i} zeppelin")
    after = store.lexical_episodes(EpisodePool(alice, KINDS), ["kayak", "lake"], 10)
    assert after == before  # same ids, same scores: nobody else's data moves them
    assert _ids(after) == [mine[0].id, mine[1].id]
    assert store.lexical_episodes(EpisodePool(alice, KINDS), ["zeppelin"], 10) == []
    with_zeppelin = store.lexical_episodes(EpisodePool(alice, KINDS), ["kayak", "zeppelin"], 10)
    assert with_zeppelin == store.lexical_episodes(EpisodePool(alice, KINDS), ["kayak"], 10)
    assert (
        len(store.lexical_episodes(EpisodePool(Scope(1, None, None), KINDS), ["zeppelin"], 50))
        == 20
    )


def test_new_rows_are_searchable_at_once_and_rebuilds_follow_the_generation(
    store: SQLiteStore,
) -> None:
    scope = Scope(1, "u", None)
    first = _episode(store, scope, "sourdough bread recipe")
    assert _ids(store.lexical_episodes(EpisodePool(scope, KINDS), ["bread"], 10)) == [first.id]
    second = _episode(store, scope, "rye bread loaf")
    assert set(_ids(store.lexical_episodes(EpisodePool(scope, KINDS), ["bread"], 10))) == {
        first.id,
        second.id,
    }
    entry = store.dense._cache[("episodes", 1, "u", None)]
    # Text rewritten in place (forget re-narrates, consolidation merges): generation moves.
    first.text = "croissant pastry"
    store.update_episode(first)
    assert _ids(store.lexical_episodes(EpisodePool(scope, KINDS), ["bread"], 10)) == [second.id]
    assert _ids(store.lexical_episodes(EpisodePool(scope, KINDS), ["croissant"], 10)) == [first.id]
    assert store.dense._cache[("episodes", 1, "u", None)] is not entry
    remove_episode(store, second)
    assert store.lexical_episodes(EpisodePool(scope, KINDS), ["bread"], 10) == []
    assert _ids(store.dense_episodes(EpisodePool(scope, KINDS), _vec(0), 10)) == [first.id]


def test_kinds_pins_and_filters_mask_the_lexical_arm(store: SQLiteStore) -> None:
    scope = Scope(1, "u", None)
    note = _episode(store, scope, "violin lesson", "note")
    _episode(store, scope, "violin procedure", "procedure")
    assert _ids(store.lexical_episodes(EpisodePool(scope, KINDS), ["violin"], 10)) == [note.id]


def test_facts_follow_correction_and_time_travel(store: SQLiteStore) -> None:
    scope = Scope(1, "u", None)
    old = _fact(store, scope, "alice lives in paris", 1)
    travel = TimeTravel(None, None)
    assert _ids(store.lexical_facts(FactPool(scope, travel, NOW), ["paris"], 10)) == [old.id]
    # A correction: a new fact, the old one closed.
    new = _fact(store, scope, "alice lives in berlin", 2)
    store.close_fact(
        old.id,
        1,
        FactEnd(
            t_invalid=NOW - timedelta(hours=1),
            t_expired=NOW - timedelta(hours=1),
            superseded_by=new.id,
        ),
    )
    assert store.lexical_facts(FactPool(scope, travel, NOW), ["paris"], 10) == []
    assert _ids(store.lexical_facts(FactPool(scope, travel, NOW), ["berlin", "lives"], 10)) == [
        new.id
    ]
    past = TimeTravel(NOW - timedelta(hours=2), NOW - timedelta(hours=2))
    assert _ids(store.lexical_facts(FactPool(scope, past, NOW), ["paris"], 10)) == [old.id]
    store.delete_fact(new)
    assert store.lexical_facts(FactPool(scope, travel, NOW), ["berlin"], 10) == []


def test_turns_forget_wipe_and_turns_without_vectors(store: SQLiteStore) -> None:
    scope = Scope(1, "u", None)
    a = _turn(store, scope, "the kittens played", 1)
    b = _turn(store, scope, "a kitten slept", 2, vec=False)  # text searchable before its vector
    assert {pk for pk, _ in store.lexical_turns(scope, ["kitten"], 10)} == {a, b}
    assert [pk for pk, _ in store.dense_turns(scope, _vec(2), 10)] == [a]  # no vector: not dense
    store.set_turn_embeddings([(b, _vec(2))])
    assert store.dense_turns(scope, _vec(2), 10)[0][0] == b
    store.delete_turn_rows(1, [a])
    assert [pk for pk, _ in store.lexical_turns(scope, ["kitten"], 10)] == [b]
    other = Scope(1, "v", None)
    c = _turn(store, other, "kitten too", 3)
    store.wipe(scope)
    assert store.lexical_turns(scope, ["kitten"], 10) == []
    assert [pk for pk, _ in store.lexical_turns(other, ["kitten"], 10)] == [c]


def test_cache_is_bounded_by_bytes() -> None:
    conn = items_database(columns=", body TEXT")
    table = DenseTable("items", (), lambda row: (), text_column="body")
    for u in range(20):
        for i in range(50):
            conn.execute(
                "INSERT INTO items (id, tenant_id, user_id, session_id, embedding, body) "
                "VALUES (?, 1, ?, '', ?, ?)",
                (f"{u}-{i}", f"user{u}", np.ones(64, np.float32).tobytes(), f"word{i} common text"),
            )
    index = DenseIndex(64, max_bytes=200_000)
    for u in range(20):
        snap = index.snapshot(conn, table, Scope(1, f"user{u}", None))
        assert snap.size == 50
        assert index.nbytes <= 200_000 or len(index) == 1
    assert 1 <= len(index) < 20


def test_a_first_load_in_several_batches_matches_one(
    store: SQLiteStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    scope = Scope(1, "u", None)
    texts = [f"entry {i} about {'cats' if i % 3 else 'dogs'} and number{i % 5}" for i in range(25)]
    for i, text in enumerate(texts):
        _turn(store, scope, text, i, vec=i % 4 != 0)
    whole = store.lexical_turns(scope, ["dogs", "number3"], 50)
    whole_dense = store.dense_turns(scope, _vec(1), 50)
    store.dense.clear()
    monkeypatch.setattr(dense, "BATCH_ROWS", 4)
    monkeypatch.setattr(lexical, "TAIL_MIN", 16)
    assert store.lexical_turns(scope, ["dogs", "number3"], 50) == whole
    assert store.dense_turns(scope, _vec(1), 50) == whole_dense
    assert len(whole_dense) == 18  # the turns with a vector


def test_a_text_longer_than_a_chunk_is_indexed_whole() -> None:
    index = Postings()
    long_text = "filler " * 200_000 + "needle"
    index.append(["needle in short", long_text, "no match"])
    docs, scores = index.snapshot().score(["needle"])
    assert sorted(docs.tolist()) == [0, 1] and scores[list(docs).index(0)] > 0
    assert int(index.doc_len[1]) == 200_001
