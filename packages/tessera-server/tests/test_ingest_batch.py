"""Batch ingest of verbatim turns (`infer=false`) against single adds, on a real SQLite file.

A batch embeds its texts together, padded and sorted by length, and writes them in one
transaction; what lands in the file must be what adding the turns one by one stores: the same
rows, and vectors equal to the embedder's precision (OpenVINO's kernels follow the batch's
shape, so a text padded in a batch and the same text alone differ in the last bits).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from tessera_server.app import build_runtime
from tessera_server.config import load_settings
from tessera_server.engine.clock import utcnow
from tessera_server.engine.memory import Memory
from tessera_server.engine.records import NewTurn, Scope
from tessera_server.engine.retrieval import SearchParams

TEXTS = [
    "Hey Mel! Good to see you! How have you been?",
    "I went to a LGBTQ support group yesterday and it was so powerful.",
    "ok",
    "My sister's wedding is on 12 June 2023 at 3pm; we need 40 chairs and a vegan cake.",
    "Ünïcödé wörds: Zürich straße ÉCOLE, naïve café and emoji 🎉",
    "I'm planning a trip to Japan next spring. Any tips for cherry blossom season in Kyoto?",
    "To configure the build, first install the toolchain, then run the setup script "
    + "with the flags you need; every step is logged so you can retrace it later. " * 20,
    "We adopted a greyhound named Biscuit from the shelter last weekend.",
]


@pytest.fixture(scope="module")
def memory(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Memory, Path, int]]:
    path = tmp_path_factory.mktemp("ingest") / "tessera.db"
    runtime = build_runtime(load_settings(database_url=f"sqlite:///{path}"))
    tenant, _ = runtime.store.ensure_tenant("ingest", utcnow())
    yield Memory(runtime), path, tenant
    runtime.store.close()


def _rows(path: Path, user: str) -> list[tuple[object, ...]]:
    """Each turn with its note episode, in order: what a batch and single adds must share."""
    conn = sqlite3.connect(path)
    try:
        return conn.execute(
            "SELECT t.turn_id, t.role, t.content, t.infer, t.metadata, t.embedding, "
            "e.kind, e.text, e.role, e.metadata, e.embedding "
            "FROM turns t JOIN episode_sources s ON s.turn_pk = t.pk "
            "JOIN episodes e ON e.pk = s.episode_pk WHERE t.user_id = ? ORDER BY t.pk, e.pk",
            (user,),
        ).fetchall()
    finally:
        conn.close()


def _messages(prefix: str) -> list[NewTurn]:
    roles = ("user", "assistant")
    return [NewTurn(t, roles[i % 2], f"{prefix}{i}") for i, t in enumerate(TEXTS)]


def test_a_batch_stores_what_single_adds_store_byte_for_byte(
    memory: tuple[Memory, Path, int],
) -> None:
    mem, path, tenant = memory
    meta = {"source": "import"}
    outcomes = mem.batch(Scope(tenant, "batch", None), _messages("m"), infer=False, metadata=meta)
    assert [o.created for o in outcomes] == [True] * len(TEXTS)
    for m in _messages("m"):
        mem.add(Scope(tenant, "single", None), m, mode="async", infer=False, metadata=meta)
    batch, single = _rows(path, "batch"), _rows(path, "single")
    assert len(batch) == len(single)
    vectors = (5, 10)
    for b, s in zip(batch, single, strict=True):
        assert [v for i, v in enumerate(b) if i not in vectors] == [
            v for i, v in enumerate(s) if i not in vectors
        ]
        for i in vectors:
            ours, alone = (np.frombuffer(r[i], dtype=np.float32) for r in (b, s))
            assert float(ours @ alone) >= 0.9999
    assert list(dict.fromkeys(r[2] for r in batch)) == TEXTS
    for row in batch:
        assert row[6] == "note"
        assert isinstance(row[5], bytes) and len(row[5]) == 384 * 4
        parts = [r for r in batch if r[0] == row[0]]
        if len(parts) == 1:
            assert row[7] == row[2]
            assert row[10] == row[5]  # the note episode carries the turn's own vector
        else:  # a long turn is searched in parts, each a note with its own vector
            assert str(row[7]).strip() in str(row[2]) and len(str(row[7])) < len(str(row[2]))
    assert len(batch) > len(TEXTS)  # the long text above was cut into parts


def test_a_replayed_batch_creates_nothing(memory: tuple[Memory, Path, int]) -> None:
    mem, path, tenant = memory
    scope = Scope(tenant, "replay", None)
    first = mem.batch(scope, _messages("r"), infer=False, metadata=None)
    before = _rows(path, "replay")
    again = mem.batch(scope, _messages("r"), infer=False, metadata=None)
    assert [o.created for o in again] == [False] * len(TEXTS)
    assert [o.turn_id for o in again] == [o.turn_id for o in first]
    assert _rows(path, "replay") == before


def test_batch_added_turns_are_found_by_search(memory: tuple[Memory, Path, int]) -> None:
    mem, _, tenant = memory
    scope = Scope(tenant, "search", None)
    mem.batch(scope, _messages("s"), infer=False, metadata=None)
    for query, expected in (
        ("greyhound Biscuit shelter", TEXTS[7]),
        ("cherry blossom Kyoto", TEXTS[5]),
        ("sister wedding chairs", TEXTS[3]),
    ):
        params = SearchParams(query, 3, False, None, None, ("episode",), [])
        hits = mem.search(scope, params)
        assert hits and hits[0].text == expected


class _WriteLockProbe:
    """The real embedder, plus a look at the database file each time it runs: could another
    connection take the write lock right now? (It cannot while a write transaction is open.)"""

    def __init__(self, inner: Any, path: Path) -> None:
        self.inner = inner
        self.model_id, self.dim, self.runtime = inner.model_id, inner.dim, inner.runtime
        self.path = path
        self.lock_free: list[bool] = []

    def embed(self, texts: list[str]) -> Any:
        other = sqlite3.connect(self.path, timeout=0, isolation_level=None)
        try:
            other.execute("BEGIN IMMEDIATE")
            other.execute("ROLLBACK")
            self.lock_free.append(True)
        except sqlite3.OperationalError:
            self.lock_free.append(False)
        finally:
            other.close()
        return self.inner.embed(texts)


def test_a_batch_embeds_long_turns_parts_before_it_takes_the_write_lock(tmp_path: Path) -> None:
    """Embedding can take seconds (a batch of long turns); holding the database's write lock
    meanwhile made every other writer wait past the busy timeout. Every embedding a batch does,
    its long verbatim turns' parts included, runs while other writers can still write."""
    path = tmp_path / "tessera.db"
    runtime = build_runtime(load_settings(database_url=f"sqlite:///{path}", turn_part_chars=200))
    try:
        tenant, _ = runtime.store.ensure_tenant("probe", utcnow())
        probe = _WriteLockProbe(runtime.embedder, path)
        runtime.embedder = probe
        long_text = "The build logs every step so that a failure can be retraced later. " * 12
        Memory(runtime).batch(
            Scope(tenant, "u", None),
            [
                NewTurn(long_text, "user"),
                NewTurn("short reply", "assistant"),
                NewTurn(long_text.replace("build", "deploy"), "user"),
            ],
            infer=False,
            metadata=None,
        )
        assert probe.lock_free  # the batch's turns and the long turns' parts: one call
        assert all(probe.lock_free), probe.lock_free
        notes = sqlite3.connect(path).execute("SELECT count(*) FROM episodes").fetchone()[0]
        assert notes > 3  # the long turns were stored in parts
    finally:
        runtime.store.close()
