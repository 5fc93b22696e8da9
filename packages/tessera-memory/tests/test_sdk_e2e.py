"""End to end: every SDK method, through the sync and the async client, against a real service
process (``tessera serve`` on loopback, a fresh SQLite file, the offline providers).

Each scenario is written once as an ``async`` function and run with both clients: ``ev(x)``
awaits ``x`` when the async client returned a coroutine and passes a sync result through.
Every test works in its own ``user_id`` so tests never see each other's data.
"""

from __future__ import annotations

import inspect
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any, TypeVar

import httpx
import pytest
from tessera_memory import (
    APIConnectionError,
    APIResponse,
    AsyncAddResponse,
    AsyncCursorPage,
    AsyncTessera,
    AuthenticationError,
    BatchAddResponse,
    CompressResponse,
    ConflictError,
    ConsolidationSummary,
    EnqueuedResponse,
    FactItem,
    FilterClause,
    ForgetResponse,
    HealthStatus,
    JobStatusResponse,
    MemoryItem,
    NotFoundError,
    PermissionDeniedError,
    PinResponse,
    ProcedureView,
    QueryResponse,
    RateLimitError,
    RecallProceduresResponse,
    RecallResourcesResponse,
    ReindexResponse,
    ResourceItem,
    SearchResponse,
    SyncAddResponse,
    SyncCursorPage,
    Tessera,
    UnprocessableEntityError,
    WipeResponse,
)

pytestmark = pytest.mark.anyio

T = TypeVar("T")
Client = Tessera | AsyncTessera

# A 1x1 transparent PNG.
PNG_BYTES = bytes.fromhex(
    "89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c489"
    "0000000d49444154789c6360000002000100e221bc330000000049454e44ae426082"
)


async def ev(value: Any) -> Any:
    """The result of a call on either client."""
    return await value if inspect.isawaitable(value) else value


async def collect(page: SyncCursorPage[T] | AsyncCursorPage[T]) -> list[T]:
    if isinstance(page, AsyncCursorPage):
        return [item async for item in page]
    return list(page)


async def pages(page: SyncCursorPage[T] | AsyncCursorPage[T]) -> list[list[T]]:
    if isinstance(page, AsyncCursorPage):
        return [p.items async for p in page.iter_pages()]
    return [p.items for p in page.iter_pages()]


@pytest.fixture(params=["sync", "async"])
async def client(request: pytest.FixtureRequest, service: Any) -> AsyncIterator[Client]:
    if request.param == "sync":
        with Tessera(api_key=service.api_key, base_url=service.base_url) as sync_client:
            yield sync_client
    else:
        async with AsyncTessera(api_key=service.api_key, base_url=service.base_url) as async_client:
            yield async_client


@pytest.fixture
def user() -> str:
    return f"sdk-e2e-{uuid.uuid4().hex[:12]}"


# --- health and configuration ------------------------------------------------------------


async def test_health_and_ready(client: Client) -> None:
    health = await ev(client.health())
    assert isinstance(health, HealthStatus) and health.status.value == "ok"
    ready = await ev(client.ready())
    assert isinstance(ready, HealthStatus) and ready.status.value == "ok"
    raw = await ev(client.with_raw_response.health())
    assert raw.status_code == 200 and raw.request_id


async def test_base_url_from_the_environment_and_trailing_slash(
    service: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TESSERA_API_KEY", service.api_key)
    monkeypatch.setenv("TESSERA_BASE_URL", service.base_url + "/")
    with Tessera() as sync_client:
        assert sync_client.health().status.value == "ok"
    async with AsyncTessera() as async_client:
        assert (await async_client.health()).status.value == "ok"


async def test_a_caller_supplied_http_client(service: Any, user: str) -> None:
    with httpx.Client(base_url="http://unused.invalid") as http:
        with Tessera(api_key=service.api_key, base_url=service.base_url, http_client=http) as c:
            c.memories.add(content="note", role="user", user_id=user, infer=False)
        assert not http.is_closed
        reuse = Tessera(api_key=service.api_key, base_url=service.base_url, http_client=http)
        assert len(list(reuse.memories.list(user_id=user))) == 1  # the client still works
    async with httpx.AsyncClient() as ahttp:
        async with AsyncTessera(
            api_key=service.api_key, base_url=service.base_url, http_client=ahttp
        ) as ac:
            await ac.memories.add(content="note 2", role="user", user_id=user, infer=False)
        assert not ahttp.is_closed


async def test_nothing_listening_is_a_connection_error(service: Any) -> None:
    from tessera_server.testing import free_port

    c = Tessera(api_key="k", base_url=f"http://127.0.0.1:{free_port()}", max_retries=0)
    with pytest.raises(APIConnectionError):
        c.health()
    ac = AsyncTessera(api_key="k", base_url=f"http://127.0.0.1:{free_port()}", max_retries=0)
    with pytest.raises(APIConnectionError):
        await ac.health()


# --- writing ---------------------------------------------------------------------------------


async def test_add_async_and_replay(client: Client, user: str) -> None:
    added = await ev(
        client.memories.add(content="I prefer dark roast coffee.", role="user", user_id=user)
    )
    assert isinstance(added, AsyncAddResponse)
    assert added.created is True and len(added.turn_id) == 26
    again = await ev(
        client.memories.add(
            content="I prefer dark roast coffee.", role="user", user_id=user, turn_id=added.turn_id
        )
    )
    assert isinstance(again, AsyncAddResponse)
    assert again.turn_id == added.turn_id and again.created is False


async def test_add_sync_consolidates(client: Client, user: str) -> None:
    added = await ev(
        client.memories.add(
            content="I live in Berlin. My partner's name is Sam.",
            role="user",
            user_id=user,
            session_id="s1",
            mode="sync",
            metadata={"source": "e2e"},
            event_time="2025-03-01T10:00:00Z",
        )
    )
    assert isinstance(added, SyncAddResponse)
    summary = added.consolidation
    assert summary.turns_consolidated >= 1
    assert summary.tesserae_created >= 1 and summary.facts_created >= 1
    assert summary.llm_calls == 0  # no LLM configured: the offline extractor


async def test_add_infer_false_is_listable_at_once(client: Client, user: str) -> None:
    added = await ev(
        client.memories.add(
            content="Convention: deploys go out on Tuesdays.",
            role="user",
            user_id=user,
            mode="sync",
            infer=False,
        )
    )
    # A sync caller always gets the sync body; a verbatim turn is one episode, no extraction.
    assert isinstance(added, SyncAddResponse)
    assert added.consolidation.tesserae_created == 1
    items = await collect(await ev(client.memories.list(user_id=user)))
    assert [i.text for i in items] == ["Convention: deploys go out on Tuesdays."]
    assert items[0].type == "episode"


async def test_batch(client: Client, user: str) -> None:
    result = await ev(
        client.memories.batch(
            messages=[
                {"role": "user", "content": "I am planning a trip to Lisbon next month."},
                {"role": "assistant", "content": "Sounds great, when do you leave?"},
                {"role": "user", "content": "On the 14th.", "turn_id": "batch-turn-3"},
            ],
            user_id=user,
            metadata={"channel": "e2e"},
        )
    )
    assert isinstance(result, BatchAddResponse)
    assert len(result.results) == 3
    assert result.results[2].turn_id == "batch-turn-3"
    assert all(r.created for r in result.results)


# --- browsing ----------------------------------------------------------------------------------


async def test_list_get_and_pagination(client: Client, user: str) -> None:
    for i in range(5):
        await ev(
            client.memories.add(content=f"note number {i}", role="user", user_id=user, infer=False)
        )
    page = await ev(client.memories.list(user_id=user, limit=2))
    assert isinstance(page, SyncCursorPage | AsyncCursorPage)
    assert len(page.items) == 2 and page.has_more and page.next_cursor and page.has_next_page()
    everything = await collect(page)
    assert [i.text for i in everything] == [f"note number {i}" for i in reversed(range(5))]
    assert [len(p) for p in await pages(page)] == [2, 2, 1]
    second = await ev(page.get_next_page())
    assert [i.text for i in second.items] == ["note number 2", "note number 1"]

    item = await ev(client.memories.get(everything[0].id, user_id=user))
    assert isinstance(item, MemoryItem) and item.text == "note number 4"

    raw = await ev(client.memories.with_raw_response.list(user_id=user, limit=3))
    assert isinstance(raw, APIResponse) and raw.status_code == 200 and raw.request_id
    assert len(await collect(raw.parsed)) == 5


async def test_get_unknown_item_is_not_found(client: Client, user: str) -> None:
    with pytest.raises(NotFoundError) as info:
        await ev(client.memories.get(f"ep_{uuid.uuid4()}", user_id=user))
    assert info.value.status_code == 404
    assert info.value.problem is not None and info.value.request_id


# --- reading -----------------------------------------------------------------------------------


async def seed_facts(client: Client, user: str) -> None:
    await ev(
        client.memories.add(
            content="I live in Berlin and I prefer dark roast coffee.",
            role="user",
            user_id=user,
            mode="sync",
        )
    )


async def test_search(client: Client, user: str) -> None:
    await seed_facts(client, user)
    result = await ev(client.search("where do I live", user_id=user, top_k=5))
    assert isinstance(result, SearchResponse)
    assert result.results and any("Berlin" in r.text for r in result.results)
    scores = [r.score for r in result.results]
    assert scores == sorted(scores, reverse=True) and len(scores) <= 5

    facts = await ev(client.search("Berlin", user_id=user, types=["fact"], rerank=False))
    assert facts.results and all(r.type == "fact" for r in facts.results)

    filtered = await ev(
        client.search(
            "coffee",
            user_id=user,
            filters=[FilterClause(field="role", op="eq", value="user")],
        )
    )
    assert isinstance(filtered, SearchResponse)

    raw = await ev(client.search.with_raw_response("coffee", user_id=user))
    assert raw.status_code == 200 and isinstance(raw.parsed, SearchResponse)


async def test_search_with_a_bad_filter_is_422(client: Client, user: str) -> None:
    with pytest.raises(UnprocessableEntityError) as info:
        await ev(
            client.search(
                "x", user_id=user, filters=[{"field": "no_such_column", "op": "eq", "value": 1}]
            )
        )
    assert info.value.problem is not None and info.value.problem.status == 422


async def test_query(client: Client, user: str) -> None:
    await seed_facts(client, user)
    chat = await ev(client.query("Where does the user live?", user_id=user))
    assert isinstance(chat, QueryResponse)
    assert "Berlin" in chat.context
    reasoning = await ev(client.query("coffee", user_id=user, mode="reasoning", top_k=3))
    assert isinstance(reasoning, QueryResponse)
    raw = await ev(client.query.with_raw_response("coffee", user_id=user))
    assert raw.status_code == 200 and isinstance(raw.parsed, QueryResponse)


async def test_missing_scope_is_422(client: Client) -> None:
    with pytest.raises(UnprocessableEntityError) as info:
        await ev(client.search("anything"))
    assert info.value.detail


# --- correcting, pinning, forgetting ---------------------------------------------------------


async def a_fact_id(client: Client, user: str) -> str:
    await seed_facts(client, user)
    found = await ev(client.search("Berlin", user_id=user, types=["fact"]))
    assert found.results, "the offline extractor should have produced a fact"
    fact_id: str = found.results[0].id
    assert fact_id.startswith("ft_")
    return fact_id


async def test_correct(client: Client, user: str) -> None:
    fact_id = await a_fact_id(client, user)
    corrected = await ev(
        client.memories.correct(
            fact_id, object="Munich", confidence=0.9, t_valid="2025-06-01T00:00:00Z", user_id=user
        )
    )
    assert isinstance(corrected, FactItem)
    assert corrected.id != fact_id and corrected.id.startswith("ft_")
    assert "Munich" in corrected.text
    with pytest.raises(ConflictError):
        await ev(client.memories.correct(fact_id, object="Hamburg", user_id=user))


async def test_correct_on_an_episode_is_a_client_error(client: Client, user: str) -> None:
    await ev(client.memories.add(content="plain note", role="user", user_id=user, infer=False))
    [episode] = await collect(await ev(client.memories.list(user_id=user)))
    with pytest.raises((UnprocessableEntityError, NotFoundError)):
        await ev(client.memories.correct(episode.id, object="x", user_id=user))


async def test_pin_and_unpin(client: Client, user: str) -> None:
    await ev(client.memories.add(content="pin me", role="user", user_id=user, infer=False))
    [episode] = await collect(await ev(client.memories.list(user_id=user)))
    pinned = await ev(client.memories.pin(episode.id, user_id=user))
    assert isinstance(pinned, PinResponse)
    assert (pinned.id, pinned.pinned, pinned.changed) == (episode.id, True, True)
    again = await ev(client.memories.pin(episode.id, user_id=user))
    assert again.pinned is True and again.changed is False
    unpinned = await ev(client.memories.unpin(episode.id, user_id=user))
    assert unpinned.pinned is False and unpinned.changed is True


async def test_delete(client: Client, user: str) -> None:
    await ev(client.memories.add(content="forget me", role="user", user_id=user, infer=False))
    [episode] = await collect(await ev(client.memories.list(user_id=user)))
    forgotten = await ev(client.memories.delete(episode.id, user_id=user))
    assert isinstance(forgotten, ForgetResponse) and forgotten.tesserae_deleted == 1
    assert await collect(await ev(client.memories.list(user_id=user))) == []


async def test_forget_turn(client: Client, user: str) -> None:
    added = await ev(client.memories.add(content="a passing remark", role="user", user_id=user))
    forgotten = await ev(client.memories.forget_turn(added.turn_id, user_id=user))
    assert isinstance(forgotten, ForgetResponse) and forgotten.turns_deleted == 1


async def test_forgetting_twice_is_a_zero_count_report(client: Client, user: str) -> None:
    added = await ev(client.memories.add(content="a passing remark", role="user", user_id=user))
    await ev(client.memories.forget_turn(added.turn_id, user_id=user))
    again = await ev(client.memories.forget_turn(added.turn_id, user_id=user))
    assert again.turns_deleted == 0
    missing = await ev(client.memories.delete(f"ep_{uuid.uuid4()}", user_id=user))
    assert missing == ForgetResponse(
        turns_deleted=0, tesserae_deleted=0, facts_deleted=0, foresight_deleted=0
    )


async def test_wipe(client: Client, user: str) -> None:
    await seed_facts(client, user)
    await ev(client.memories.add(content="and a note", role="user", user_id=user, infer=False))
    wiped = await ev(client.memories.wipe(user_id=user))
    assert isinstance(wiped, WipeResponse) and wiped.total > 0
    assert await collect(await ev(client.memories.list(user_id=user))) == []
    assert (await ev(client.search("Berlin", user_id=user))).results == []


# --- procedures and resources -----------------------------------------------------------------


async def test_procedures(client: Client, user: str) -> None:
    stored = await ev(
        client.procedures.remember(
            trigger="release a new version of the python package",
            steps=["bump the version", "build the wheel", "upload with twine"],
            success="the new version is on the index",
            user_id=user,
        )
    )
    assert isinstance(stored, ProcedureView)
    assert stored.uses == 0 and stored.last_outcome is None and stored.id.startswith("ep_")
    recalled = await ev(
        client.procedures.recall(task="publish the package release", k=2, user_id=user)
    )
    assert isinstance(recalled, RecallProceduresResponse)
    assert recalled.results[0].procedure.id == stored.id
    assert recalled.results[0].procedure.uses == 0  # recall is a read
    none = await ev(client.procedures.recall(task="bake bread", min_similarity=0.99, user_id=user))
    assert none.results == []
    outcome = await ev(client.procedures.record_outcome(stored.id, success=True, user_id=user))
    assert isinstance(outcome, ProcedureView)
    assert outcome.uses == 1 and outcome.last_outcome is True
    raw = await ev(client.procedures.with_raw_response.recall(task="release", user_id=user))
    assert raw.status_code == 200


async def test_resources(client: Client, user: str) -> None:
    item = await ev(
        client.resources.remember(
            blob_ref="s3://bucket/whiteboard.png",
            mime="image/png",
            caption="a whiteboard sketch of the system architecture",
            user_id=user,
        )
    )
    assert isinstance(item, ResourceItem)
    assert item.caption == "a whiteboard sketch of the system architecture"
    assert item.id.startswith("ep_")
    recalled = await ev(client.resources.recall(query="architecture diagram", k=3, user_id=user))
    assert isinstance(recalled, RecallResourcesResponse)
    assert recalled.results[0].resource.id == item.id
    raw = await ev(client.resources.with_raw_response.recall(query="sketch", user_id=user))
    assert raw.status_code == 200


async def test_resource_file_upload(client: Client, user: str, tmp_path: Path) -> None:
    image = tmp_path / "pixel.png"
    image.write_bytes(PNG_BYTES)
    try:
        item = await ev(client.resources.file(path=image, blob_ref="local://pixel", user_id=user))
    except UnprocessableEntityError as err:
        # Allowed by the service contract when no vision or image-embedding model is
        # available: a clear 422 that says what to configure.
        assert err.detail
    else:
        assert isinstance(item, ResourceItem)
        assert item.blob_ref == "local://pixel" and item.mime == "image/png"

    text = tmp_path / "notes.txt"
    text.write_text("not an image")
    with pytest.raises(ValueError, match="unsupported file extension"):
        await ev(client.resources.file(path=text, blob_ref="x", user_id=user))


# --- maintenance and jobs -----------------------------------------------------------------------


async def test_consolidate_and_jobs(client: Client, user: str) -> None:
    await ev(
        client.memories.add(content="I started learning Portuguese.", role="user", user_id=user)
    )
    enqueued = await ev(client.maintenance.consolidate(user_id=user))
    assert isinstance(enqueued, EnqueuedResponse)
    assert enqueued.job.id.startswith("job_")
    job = await ev(client.jobs.get(enqueued.job.id))
    assert isinstance(job, JobStatusResponse)
    assert job.id == enqueued.job.id
    assert job.status in {"queued", "running", "succeeded", "failed"}
    raw = await ev(client.jobs.with_raw_response.get(enqueued.job.id))
    assert raw.status_code == 200

    summary = await ev(client.maintenance.consolidate(user_id=user, sync=True))
    assert isinstance(summary, ConsolidationSummary)


async def test_unknown_job_is_not_found(client: Client) -> None:
    with pytest.raises(NotFoundError):
        await ev(client.jobs.get("job_987654321"))


async def test_reindex_and_compress(client: Client, user: str) -> None:
    await seed_facts(client, user)
    reindexed = await ev(client.maintenance.reindex(user_id=user))
    assert isinstance(reindexed, ReindexResponse)
    assert reindexed.turns_backfilled >= 0 and reindexed.panels_refreshed >= 0
    digest = await ev(client.maintenance.compress(token_budget=200, user_id=user))
    assert isinstance(digest, CompressResponse) and isinstance(digest.digest, str)
    raw = await ev(client.maintenance.with_raw_response.compress(user_id=user))
    assert raw.status_code == 200


# --- auth -----------------------------------------------------------------------------------------


async def test_an_unknown_key_is_401(service: Any, client: Client) -> None:
    bad = client.with_options(default_headers={"X-Test": "1"})
    assert bad.api_key == service.api_key  # with_options keeps the key
    kind = Tessera if isinstance(client, Tessera) else AsyncTessera
    stranger = kind(api_key="tsk_live_not-a-real-key", base_url=service.base_url)
    with pytest.raises(AuthenticationError) as info:
        await ev(stranger.memories.list(user_id="anyone"))
    assert info.value.status_code == 401 and info.value.request_id


async def test_a_read_only_key_cannot_write(service: Any, user: str) -> None:
    key = service.create_key(f"ro-{uuid.uuid4().hex[:8]}", read_only=True)
    with Tessera(api_key=key, base_url=service.base_url) as sync_client:
        with pytest.raises(PermissionDeniedError):
            sync_client.memories.add(content="x", role="user", user_id=user)
        assert list(sync_client.memories.list(user_id=user)) == []
    async with AsyncTessera(api_key=key, base_url=service.base_url) as async_client:
        with pytest.raises(PermissionDeniedError):
            await async_client.memories.wipe(user_id=user)


# --- rate limiting ---------------------------------------------------------------------------------


def test_a_real_429_is_retried_after_the_advertised_wait(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    from tessera_server.testing import run_service

    limited = tmp_path_factory.mktemp("tessera-sdk-ratelimit")
    with run_service(limited, env={"TESSERA_RATE_LIMIT_PER_MINUTE": "2"}) as svc:
        sleeps: list[float] = []
        seen: list[str] = []

        def record(response: httpx.Response) -> None:
            if response.status_code == 429:
                seen.append(response.headers["Retry-After"])

        with httpx.Client(event_hooks={"response": [record]}) as http:
            client = Tessera(
                api_key=svc.api_key, base_url=svc.base_url, http_client=http, _sleep=sleeps.append
            )
            user = f"sdk-e2e-{uuid.uuid4().hex[:12]}"
            with pytest.raises(RateLimitError) as info:
                for _ in range(10):
                    client.memories.list(user_id=user)
    assert info.value.status_code == 429 and info.value.request_id
    # The call that failed made three attempts, waiting what each 429 asked for in between.
    assert len(seen) == 3 and sleeps == [float(v) for v in seen[:2]]
    assert all(0 < s <= 60 for s in sleeps)


# --- long turns ---------------------------------------------------------------------------


async def test_a_hit_on_part_of_a_long_turn_leads_back_to_the_whole_turn(
    client: Client, user: str
) -> None:
    from tessera_memory.models import TurnItem

    filler = "We walked the ridge and talked about the weather and the trains. " * 40
    needle = "The spare key to the boathouse hangs behind the blue lantern."
    content = f"{filler}\n\n{needle}\n\n{filler}"
    await ev(
        client.memories.add(
            content=content, role="user", user_id=user, turn_id="paste-1", mode="sync"
        )
    )
    found = await ev(client.search("where is the boathouse key", user_id=user, top_k=3))
    assert isinstance(found, SearchResponse) and found.results
    top = found.results[0]
    assert needle in top.text and len(top.text) < len(content)  # the matching part
    whole = await ev(client.memories.get_turn("paste-1", user_id=user))
    assert isinstance(whole, TurnItem) and whole.content == content
    with pytest.raises(NotFoundError):
        await ev(client.memories.get_turn("paste-1", user_id=f"{user}-other"))
