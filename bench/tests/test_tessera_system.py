"""The Tessera system against an in-process fake of the HTTP contract (no real service)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest
from tessera_bench.data import load_locomo
from tessera_bench.evaluate import LOCOMO_SPEC, evaluate
from tessera_bench.tessera import (
    ServiceError,
    TesseraClient,
    TesseraSession,
    TesseraSystem,
    opaque,
)


class FakeService:
    """Stores turns per user, 'consolidates' pairs of turns into episodes, searches by overlap."""

    def __init__(self, *, max_top_k: int = 100, sources_in: str = "get") -> None:
        self.turns: dict[str, list[dict[str, Any]]] = {}
        self.items: dict[str, dict[str, Any]] = {}
        self.max_top_k = max_top_k
        self.sources_in = sources_in
        self.gets = 0
        self.searches: list[dict[str, Any]] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        assert request.headers["Authorization"] == "Bearer tsk_live_test"
        path = request.url.path
        body = json.loads(request.content) if request.content else {}
        if request.method == "POST" and path == "/v1/memories":
            turns = self.turns.setdefault(body["user_id"], [])
            created = all(t["turn_id"] != body["turn_id"] for t in turns)
            if created:
                turns.append(body)
            return httpx.Response(
                201,
                json={
                    "turn_id": body["turn_id"],
                    "created": created,
                    "consolidation_queued": False,
                },
            )
        if request.method == "POST" and path == "/v1/consolidate":
            assert request.url.params["sync"] == "true"
            user = body["user_id"]
            turns = self.turns[user]
            made = 0
            for i in range(0, len(turns), 2):
                pair = turns[i : i + 2]
                item_id = f"ep_{user}_{i}"
                self.items[item_id] = {
                    "id": item_id,
                    "type": "episode",
                    "user": user,
                    "text": " ".join(t["content"] for t in pair),
                    "sources": [t["turn_id"] for t in pair],
                }
                made += 1
            return httpx.Response(
                200,
                json={
                    "turns_consolidated": len(turns),
                    "tesserae_created": made,
                    "facts_created": 0,
                },
            )
        if request.method == "POST" and path == "/v1/search":
            self.searches.append(body)
            if body.get("top_k", 10) > self.max_top_k:
                return httpx.Response(422, json={"detail": "top_k too large"})
            words = set(body["query"].lower().strip("?").split())
            scored = []
            for item in self.items.values():
                if item["user"] != body["user_id"]:
                    continue
                overlap = len(words & set(item["text"].lower().split()))
                scored.append((overlap, item))
            scored.sort(key=lambda x: -x[0])
            results = []
            for score, item in scored[: body.get("top_k", 10)]:
                result = {
                    "id": item["id"],
                    "type": "episode",
                    "text": item["text"],
                    "score": float(score),
                }
                if self.sources_in == "search":
                    result["source_turn_ids"] = item["sources"]
                results.append(result)
            return httpx.Response(200, json={"results": results})
        if request.method == "GET" and path == "/v1/memories":
            user = request.url.params["user_id"]
            mine = [i for i in self.items.values() if i["user"] == user]
            start = int(request.url.params.get("cursor", "0"))
            limit = int(request.url.params["limit"])
            page = mine[start : start + limit]
            more = start + limit < len(mine)
            return httpx.Response(
                200,
                json={
                    "items": [{"id": i["id"], "type": i["type"], "text": i["text"]} for i in page],
                    "has_more": more,
                    "next_cursor": str(start + limit) if more else None,
                },
            )
        if request.method == "GET" and path.startswith("/v1/memories/"):
            self.gets += 1
            item = self.items[path.rsplit("/", 1)[1]]
            assert request.url.params["user_id"] == item["user"]
            meta: dict[str, Any] = {"dia_id": "ignored"}
            if self.sources_in == "get":
                meta["tessera"] = {"source_turn_ids": item["sources"]}
            return httpx.Response(
                200,
                json={
                    "id": item["id"],
                    "type": "episode",
                    "text": item["text"],
                    "created_at": "2024-01-01T00:00:00Z",
                    "metadata": meta,
                },
            )
        return httpx.Response(404, json={"detail": "no route"})


def make_session(fake: FakeService, **kwargs: Any) -> TesseraSession:
    client = TesseraClient(
        "http://tessera.test", "tsk_live_test", transport=httpx.MockTransport(fake)
    )
    return TesseraSession(client, **kwargs)


@pytest.mark.parametrize("sources_in", ["get", "search"])
def test_tessera_system_ingests_consolidates_and_maps_sources(
    data_dir: Path, sources_in: str
) -> None:
    ds = load_locomo(data_dir)
    fake = FakeService(max_top_k=40, sources_in=sources_in)
    session = make_session(fake, top_k=100)
    systems = [
        TesseraSystem(session, "tessera", rerank=True),
        TesseraSystem(session, "tessera-norerank", rerank=False),
    ]
    results = evaluate(ds, systems, LOCOMO_SPEC)
    # Turns went in once per scope, in order, with their ids, times and metadata.
    # Ids travel hashed: the data set's own names (dia ids, session names) never reach it.
    sent = [t["turn_id"] for t in fake.turns["conv-a"]]
    assert sent == [opaque(t.turn_id) for t in ds.scopes[0].turns]
    assert not any(t.turn_id in s or t.ref in s for t in ds.scopes[0].turns for s in sent)
    first = fake.turns["conv-a"][0]
    assert first["event_time"] == "2023-05-08T13:56:00Z"
    assert first["metadata"] == {"dia_id": opaque("D1:1"), "speaker": "Caroline"}
    assert first["content"] == "Caroline: Hey Mel, I went hiking on Sunday."
    assert fake.turns["conv-a"][2]["metadata"]["image_caption"].startswith("a photo")
    # top_k past the service's bound was halved until accepted.
    assert session.top_k == 25
    assert {s["rerank"] for s in fake.searches} == {True, False}
    # Everything fits in the budget, so every evidence turn is recalled through its episode.
    for r in results:
        assert r.overall["recall@budget1000"] == pytest.approx(1.0)
        assert r.extra["hits_without_sources"] == 0
    # Source lookups are cached per item.
    assert fake.gets <= len(fake.items)
    if sources_in == "search":
        assert fake.gets == 0
    info = session.describe_ingest()
    assert info["turns"] == 7
    assert info["items"] == {"episode": 4}
    assert info["turns_consolidated_by_final_call"] == 7


def test_session_stops_mapping_past_the_largest_budget(data_dir: Path) -> None:
    ds = load_locomo(data_dir)
    fake = FakeService()
    session = make_session(fake, max_words=5, min_items=1)
    session.ensure_ingested(ds.scopes[0])
    hits = session.search(ds.scopes[0], "hiking", rerank=False)
    assert len(hits) == 1


def test_client_raises_on_errors() -> None:
    fake = FakeService()
    client = TesseraClient(
        "http://tessera.test", "tsk_live_test", transport=httpx.MockTransport(fake)
    )
    with pytest.raises(ServiceError):
        client.wipe("u")  # the fake has no such route: a 404 becomes a ServiceError


def test_ingest_all_in_parallel_keeps_each_scope_in_order(data_dir: Path) -> None:
    ds = load_locomo(data_dir)
    fake = FakeService()
    session = make_session(fake, scope_prefix="run1-")
    session.ingest_all(ds.scopes, workers=2)
    for scope in ds.scopes:
        stored = [t["turn_id"] for t in fake.turns[f"run1-{scope.scope_id}"]]
        assert stored == [opaque(t.turn_id) for t in scope.turns]
    # Ingesting again is a no-op: the session remembers what it has done.
    session.ingest_all(ds.scopes, workers=2)
    assert session.describe_ingest()["turns"] == len(ds.turns)
