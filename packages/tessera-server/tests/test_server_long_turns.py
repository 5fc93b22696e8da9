"""Long turns over HTTP on SQLite and PostgreSQL: stored whole, searched in parts.

A turn of about 100,000 characters (a pasted document) holds one needle sentence in its
middle. The add is accepted in every mode (async, sync, batch, verbatim); search finds the
needle's part, whose metadata names the part and the turn; the turn reads back whole; the
composed context stays within its budget; past the limit the add is a clear 413.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from server_helpers import Api, problem, service_on, unique
from tessera_server.engine.compose import CHARS_PER_TOKEN, CONTEXT_TOKEN_BUDGET
from tessera_server.testing import run_service

BACKENDS = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
NEEDLE = (
    "The staging cluster's backup key is kept in the blue fireproof safe behind the "
    "receptionist's desk in Lisbon."
)
QUESTION = "Where is the staging cluster backup key kept?"
_TOPICS = (
    "quarterly revenue",
    "office plants",
    "database vacuum",
    "holiday rota",
    "printer toner",
    "canteen menu",
    "parking permits",
    "laptop refresh",
)


def document(chars: int, seed: int) -> str:
    """Paragraphs of plausible filler, about `chars` long, with the needle in the middle."""
    rng = random.Random(seed)
    words = [
        "the",
        "team",
        "reviewed",
        "notes",
        "about",
        "our",
        "plans",
        "and",
        "agreed",
        "to",
        "follow",
        "up",
        "with",
        "the",
        "vendor",
    ]
    paragraphs: list[str] = []
    while sum(len(p) + 2 for p in paragraphs) < chars:
        topic = rng.choice(_TOPICS)
        sentences = [
            f"Regarding {topic}, " + " ".join(rng.choice(words) for _ in range(rng.randint(8, 20)))
            for _ in range(rng.randint(3, 7))
        ]
        paragraphs.append(". ".join(sentences) + ".")
    paragraphs.insert(len(paragraphs) // 2, NEEDLE)
    return "\n\n".join(paragraphs)


@pytest.fixture(scope="module", params=BACKENDS)
def long_api(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Api]:
    with service_on(request.param, tmp_path_factory.mktemp(f"long-{request.param}")) as handle:
        client = Api(handle.base_url, handle.api_key)
        yield client
        client.close()


def found_part(api: Api, uid: str, turn_id: str, **fields: Any) -> dict[str, Any]:
    """The search hit holding the needle: a part of the long turn, named as such."""
    hits = api.search(QUESTION, user_id=uid, top_k=5, **fields)
    assert hits, "nothing found"
    best = hits[0]
    assert "blue fireproof safe" in best["text"]
    item = api.get(f"/v1/memories/{best['id']}", user_id=uid)
    assert item.status_code == 200 and item.json()["text"] == best["text"]
    meta = item.json()["metadata"]["tessera"]
    assert meta["source_turn_ids"] == [turn_id]
    index, count = meta["part"]["index"], meta["part"]["count"]
    assert count >= 80 and 1 < index < count  # ~100k characters in parts of at most 1,000
    assert len(best["text"]) <= 1_000 + 40  # the part, with its date and speaker
    return best


def reads_back_whole(api: Api, uid: str, turn_id: str, content: str) -> None:
    response = api.get(f"/v1/memories/turns/{turn_id}", user_id=uid)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["content"] == content and body["turn_id"] == turn_id


def consolidated_then_found(api: Api, uid: str, turn_id: str, content: str) -> None:
    """Consolidate the scope now: the needle is then found in a part of the turn, and the
    turn reads back whole."""
    response = api.post("/v1/consolidate", {"user_id": uid}, params={"sync": "true"}, timeout=900)
    assert response.status_code == 200, response.text
    found_part(api, uid, turn_id)
    reads_back_whole(api, uid, turn_id, content)


def test_a_needle_in_a_long_turn_is_found_in_sync_mode(long_api: Api) -> None:
    uid, text = unique("long-sync"), document(100_000, 1)
    assert len(text) > 99_000
    long_api.sync_add(uid, "Can you keep our office handbook?", turn_id="ask")
    body = {"user_id": uid, "content": text, "role": "assistant", "turn_id": "handbook"}
    added = long_api.post("/v1/memories", {**body, "mode": "sync"}, timeout=900)
    assert added.status_code == 200, added.text
    found_part(long_api, uid, "handbook")
    found_part(long_api, uid, "handbook", rerank=False)
    reads_back_whole(long_api, uid, "handbook", text)
    parts = [e for e in long_api.episodes(user_id=uid) if "part" in e["metadata"]["tessera"]]
    indexes = sorted(e["metadata"]["tessera"]["part"]["index"] for e in parts)
    assert indexes == list(range(1, len(parts) + 1))
    # Every character of the turn is in one of its parts (whitespace at the cuts aside).
    body = "".join(e["text"].split(": ", 1)[1] for e in sorted(parts, key=_index))
    assert "".join(body.split()) == "".join(text.split())


def _index(item: dict[str, Any]) -> int:
    return int(item["metadata"]["tessera"]["part"]["index"])


@pytest.mark.slow  # fast lane: left out (CI runs it)
def test_a_long_turn_added_async_is_found_after_consolidation(long_api: Api) -> None:
    uid, text = unique("long-async"), document(100_000, 2)
    long_api.add_ok(uid, text, turn_id="log")
    consolidated_then_found(long_api, uid, "log", text)


@pytest.mark.slow  # fast lane: left out (CI runs it)
def test_a_long_turn_in_a_batch_is_found(long_api: Api) -> None:
    uid, text = unique("long-batch"), document(100_000, 3)
    response = long_api.post(
        "/v1/memories:batch",
        {
            "user_id": uid,
            "messages": [
                {"role": "user", "content": "Here is the handbook.", "turn_id": "b1"},
                {"role": "user", "content": text, "turn_id": "b2"},
                {"role": "assistant", "content": "Thanks, stored.", "turn_id": "b3"},
            ],
        },
    )
    assert response.status_code == 201, response.text
    assert [r["created"] for r in response.json()["results"]] == [True, True, True]
    consolidated_then_found(long_api, uid, "b2", text)


@pytest.mark.slow  # fast lane: left out (CI runs it)
def test_a_verbatim_long_turn_is_notes_in_parts_and_forgotten_whole(long_api: Api) -> None:
    uid, text = unique("long-note"), document(100_000, 4)
    long_api.note(uid, text, turn_id="pasted")
    hit = found_part(long_api, uid, "pasted")
    reads_back_whole(long_api, uid, "pasted", text)
    # Forgetting one part of a verbatim turn forgets the turn and every part of it.
    gone = long_api.delete(f"/v1/memories/{hit['id']}", {"user_id": uid})
    assert gone.status_code == 200, gone.text
    counts = gone.json()
    assert counts["turns_deleted"] == 1 and counts["tesserae_deleted"] >= 80
    assert long_api.items(user_id=uid) == []
    assert long_api.get("/v1/memories/turns/pasted", user_id=uid).status_code == 404


@pytest.mark.slow  # fast lane: left out (CI runs it)
def test_the_composed_context_keeps_its_budget_with_long_parts(long_api: Api) -> None:
    uid = unique("long-query")
    for n in range(3):
        long_api.note(uid, document(30_000, 10 + n), turn_id=f"doc{n}")
    data = long_api.query(QUESTION, user_id=uid, top_k=50)
    assert len(data["context"]) <= CONTEXT_TOKEN_BUDGET * CHARS_PER_TOKEN
    assert "blue fireproof safe" in data["context"]


def test_past_the_turn_limit_the_add_is_a_clear_413_and_nothing_is_stored(
    long_api: Api,
) -> None:
    uid = unique("long-limit")
    response = long_api.add(uid, "x" * 200_001, turn_id="huge")
    problem(response, 413, "200000")
    assert long_api.get("/v1/memories/turns/huge", user_id=uid).status_code == 404
    body = long_api.add(uid, "word " * 500_000, turn_id="bigger")
    assert body.status_code == 413  # past the request body limit


def test_an_unknown_turn_is_a_404(long_api: Api) -> None:
    response = long_api.get("/v1/memories/turns/nope", user_id=unique("long-none"))
    problem(response, 404)


def test_the_turn_limit_is_a_setting(tmp_path: Path) -> None:
    with run_service(tmp_path / "data", env={"TESSERA_MAX_TURN_CHARS": "5000"}) as handle:
        api = Api(handle.base_url, handle.api_key)
        try:
            uid = unique("long-setting")
            problem(api.add(uid, document(6_000, 7)), 413, "5000")
            api.note(uid, document(4_000, 8), turn_id="fits")
            parts = api.items(user_id=uid)
            assert len(parts) >= 4 and all("part" in p["metadata"]["tessera"] for p in parts)
        finally:
            api.close()
