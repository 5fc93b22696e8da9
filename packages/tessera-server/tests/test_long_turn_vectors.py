"""A long turn's text is read by the embedding model once (`turn_parts_embedded_once`).

Through real services on loopback, with the vectors read back from their SQLite files. With
the setting on, the turn's own vector is made from its first part's text as that part is
stored, and the part shares it bit for bit: a verbatim turn's first note (its words as
written), or a consolidated turn's first part episode (dated and attributed). The other
parts' vectors are those of their stored texts, the same as with the setting off (where the
turn's own vector is made from its whole text, the model's first 256 tokens, and every part
is embedded again).
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from server_helpers import Api, unique
from tessera_server.testing import run_service

PART_CHARS = 300
# Six paragraphs of about 200 characters: parts of at most 300 characters, and a whole text
# longer than the model's 256 tokens.
TEXT = "\n\n".join(
    f"In step {n} the {topic} runbook says to check the {topic} dashboard, page the on-call "
    f"engineer for {topic}, write the incident number in the {topic} log, and close the "
    "ticket only after the customer has confirmed the fix."
    for n, topic in enumerate(("billing", "search", "storage", "mail", "login", "backup"), 1)
)


def _service(tmp_path: Path, once: bool) -> Iterator[tuple[Api, Path]]:
    env = {
        "TESSERA_TURN_PART_CHARS": str(PART_CHARS),
        "TESSERA_TURN_PARTS_EMBEDDED_ONCE": "true" if once else "false",
    }
    with run_service(tmp_path, env=env) as handle:
        api = Api(handle.base_url, handle.api_key)
        yield api, tmp_path / "tessera.db"
        api.close()


@pytest.fixture(scope="module")
def once(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Api, Path]]:
    yield from _service(tmp_path_factory.mktemp("parts-once"), True)


@pytest.fixture(scope="module")
def twice(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Api, Path]]:
    yield from _service(tmp_path_factory.mktemp("parts-twice"), False)


def _vector(blob: bytes) -> np.ndarray:
    return np.frombuffer(blob, dtype=np.float32)


def turn_vector(db: Path, user_id: str) -> np.ndarray:
    with sqlite3.connect(db) as conn:
        (blob,) = conn.execute(
            "SELECT embedding FROM turns WHERE user_id = ?", (user_id,)
        ).fetchone()
    return _vector(blob)


def part_vectors(db: Path, user_id: str) -> list[tuple[str, np.ndarray]]:
    """The user's part episodes or notes in part order: text and vector."""
    with sqlite3.connect(db) as conn:
        rows = conn.execute(
            "SELECT text, attrs, embedding FROM episodes WHERE user_id = ?", (user_id,)
        ).fetchall()
    parts = [
        (json.loads(attrs)["part"]["index"], text, _vector(blob)) for text, attrs, blob in rows
    ]
    return [(text, vec) for _, text, vec in sorted(parts, key=lambda p: p[0])]


def same(a: np.ndarray, b: np.ndarray) -> bool:
    """The same vector (a row's vector does not depend on what it was batched with)."""
    return float(a @ b) > 0.9999


WHEN = "2024-03-05T10:00:00Z"  # one date for both services: the same narrated texts


def verbatim(api: Api, db: Path) -> tuple[np.ndarray, list[tuple[str, np.ndarray]]]:
    uid = unique("verbatim")
    api.note(uid, TEXT, role="assistant", event_time=WHEN)
    return turn_vector(db, uid), part_vectors(db, uid)


def consolidated(api: Api, db: Path) -> tuple[np.ndarray, list[tuple[str, np.ndarray]]]:
    uid = unique("consolidated")
    api.sync_add(uid, TEXT, role="assistant", event_time=WHEN)
    return turn_vector(db, uid), part_vectors(db, uid)


def test_a_verbatim_long_turns_own_vector_is_its_first_notes(once: tuple[Api, Path]) -> None:
    own, notes = verbatim(*once)
    assert len(notes) >= 4
    assert np.array_equal(own, notes[0][1])


def test_a_consolidated_long_turns_first_part_shares_the_turns_vector(
    once: tuple[Api, Path], twice: tuple[Api, Path]
) -> None:
    own, episodes = consolidated(*once)
    assert len(episodes) >= 4
    # Made once, when the turn was added, from the text the first part's episode holds.
    assert np.array_equal(own, episodes[0][1])
    # Every part reads and is embedded as with the setting off: dated and attributed.
    _, before = consolidated(*twice)
    assert [text for text, _ in episodes] == [text for text, _ in before]
    for (text, vec), (_, old) in zip(episodes, before, strict=True):
        assert text.startswith("[2024-03-05] Assistant: ")
        assert same(vec, old)


def test_with_the_setting_off_the_turns_own_vector_is_its_head(twice: tuple[Api, Path]) -> None:
    own, notes = verbatim(*twice)
    assert not same(own, notes[0][1])  # the whole text's first 256 tokens, not the part's
    own, episodes = consolidated(*twice)
    assert not same(own, episodes[0][1])
