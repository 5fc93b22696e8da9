"""Code written for the client published on the package index as ``tessera-memory`` 0.1.4 runs
on this SDK: one test per compatibility behaviour (docs/migrating-from-published.md).

The calls that reach the service run against a real one (``tessera serve`` on loopback); error
statuses and ``Retry-After`` headers that a healthy service never sends come from the scripted
service in ``sdk_fakes``.
"""

from __future__ import annotations

import asyncio
import inspect
import time
import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
import tessera_memory
from sdk_fakes import API_KEY, BASE_URL, FakeService, Harness, Reply, memory_item
from tessera_memory import (
    APIConnectionError,
    APIStatusError,
    APITimeoutError,
    AsyncCursorPage,
    AsyncTessera,
    InternalServerError,
    NoNextPageError,
    NotFoundError,
    RateLimitError,
    SyncCursorPage,
    Tessera,
    TesseraError,
    make_status_error,
    models,
)
from tessera_memory.models import ProblemDetail

Client = Tessera | AsyncTessera


async def ev(value: Any) -> Any:
    return await value if inspect.isawaitable(value) else value


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
    return f"sdk-compat-{uuid.uuid4().hex[:12]}"


# --- against the real service ----------------------------------------------------------------


@pytest.mark.anyio
async def test_search_and_query_as_methods_and_as_calls(client: Client, user: str) -> None:
    await ev(
        client.memories.add(
            content="Dana keeps bees in Lisbon", role="user", user_id=user, infer=False
        )
    )
    by_method = await ev(client.search.search("bees", user_id=user))
    by_call = await ev(client.search("bees", user_id=user))
    assert [h.id for h in by_method.results] == [h.id for h in by_call.results]
    assert any("bees" in h.text for h in by_method.results)

    composed = await ev(client.query.query("Where are the bees?", user_id=user))
    assert isinstance(composed, models.QueryResponse)
    assert "bees" in composed.context
    raw = await ev(client.search.with_raw_response.search("bees", user_id=user))
    assert raw.status_code == 200 and raw.parsed.results


@pytest.mark.anyio
async def test_type_fields_are_str_enums(client: Client, user: str) -> None:
    await ev(
        client.memories.add(
            content="The deploy key rotates monthly", role="user", user_id=user, infer=False
        )
    )
    hit = (await ev(client.search("deploy key", user_id=user))).results[0]
    # 0.1.4 code reads .value; code written for this SDK compares with the plain string.
    assert hit.type.value == "episode"
    assert f"{hit.type}" == "episode" and str(hit.type) == "episode"
    assert hit.type == "episode"
    assert hit.type == models.Type2.episode
    listed = await ev(client.memories.get(hit.id, user_id=user))
    assert listed.type is models.Type.episode
    assert listed.model_dump(mode="json")["type"] == "episode"


@pytest.mark.anyio
async def test_published_model_names_are_the_models_returned(client: Client, user: str) -> None:
    added = await ev(client.memories.add(content="x", role="user", user_id=user, mode="sync"))
    assert isinstance(added.consolidation, models.TesseraApiV1MemoriesConsolidationSummary)
    summary = await ev(client.maintenance.consolidate(user_id=user, sync=True))
    assert isinstance(summary, models.TesseraApiV1MaintenanceConsolidationSummary)
    page = await ev(client.memories.list(user_id=user))
    assert isinstance(page.items[0], models.MemoryItem)
    # Request-side enums of 0.1.4 are accepted where this SDK takes strings.
    turn = await ev(
        client.memories.add(
            content="the staging database is read-only on Fridays",
            role=models.Role.assistant,
            user_id=user,
            mode=models.Mode.sync,
            infer=False,
        )
    )
    assert isinstance(turn, models.SyncAddResponse)
    hits = await ev(
        client.search(
            "staging database",
            user_id=user,
            types=[models.Type1.episode],
            filters=[{"field": "role", "op": models.FilterOp.eq, "value": "assistant"}],
        )
    )
    assert [h.text for h in hits.results] == ["the staging database is read-only on Fridays"]
    answer = await ev(client.query("staging?", user_id=user, mode=models.Mode1.reasoning))
    assert isinstance(answer, models.QueryResponse)


def test_every_published_model_name_resolves() -> None:
    published = {
        "Mode": models.AddMode,
        "Mode1": models.QueryMode,
        "Role": models.MessageRole,
        "Role1": models.MessageRole,
        "FilterOp": models.FilterOperator,
        "Status": models.HealthStatusStatus,
        "Status1": models.JobStatusResponseStatus,
        "Type": models.MemoryItemType,
        "Type1": models.MemoryItemType,
        "Type2": models.SearchResultType,
        "PageMemoryItem": models.MemoryPage,
        "FieldScopedBody": models.ScopedRequest,
        "BodyResourcesRememberResourceFile": models.ResourceUpload,
        "TesseraApiV1MaintenanceConsolidationSummary": models.ConsolidationSummary,
        "TesseraApiV1MemoriesConsolidationSummary": models.ConsolidationSummary,
        "TesseraApiV1MaintenanceJobHandle": models.JobHandle,
        "TesseraApiV1MemoriesJobHandle": models.JobHandle,
    }
    for name, cls in published.items():
        assert getattr(models, name) is cls, name
    assert models.Mode.async_.value == "async" and models.FilterOp.in_ == "in"


@pytest.mark.anyio
async def test_max_retries_and_timeout_can_be_assigned(service: Any) -> None:
    from tessera_server.testing import free_port

    c = Tessera(api_key=service.api_key, base_url=f"http://127.0.0.1:{free_port()}")
    attempts: list[float] = []
    c._transport.sleep = attempts.append
    c.max_retries = 0
    c.timeout = 2.0
    assert (c.max_retries, c.timeout) == (0, 2.0)
    with pytest.raises(APIConnectionError):
        c.health()
    assert attempts == []  # no retry once max_retries is 0
    c.base_url = service.base_url + "/"
    assert c.base_url == service.base_url and c.health().status.value == "ok"
    with pytest.raises(ValueError):
        c.max_retries = -1
    c.close()


# --- scripted answers ------------------------------------------------------------------------


def test_str_of_an_error_is_the_detail_then_the_title_then_the_status(harness: Harness) -> None:
    problem = {"type": "about:blank", "title": "Not Found", "status": 404, "detail": "no ep_1"}
    with pytest.raises(NotFoundError) as info:
        harness.run(FakeService(Reply(404, json=problem)), lambda c: c.jobs.get("job_1"))
    assert str(info.value) == "no ep_1"
    assert info.value.request_id == "req_1" and info.value.status_code == 404

    titled = {"type": "about:blank", "title": "Not Found", "status": 404}
    with pytest.raises(NotFoundError) as info:
        harness.run(FakeService(Reply(404, json=titled)), lambda c: c.jobs.get("job_1"))
    assert str(info.value) == "Not Found"

    with pytest.raises(NotFoundError) as info:
        harness.run(FakeService(Reply(404, text="gone")), lambda c: c.jobs.get("job_1"))
    assert str(info.value) == "Tessera API returned status 404."


def test_exceptions_are_built_as_0_1_4_built_them() -> None:
    problem = ProblemDetail(title="Not Found", status=404, detail="nope")
    err = NotFoundError("nope", status_code=404, problem=problem, request_id="req_9")
    assert (err.status_code, err.request_id, err.problem) == (404, "req_9", problem)
    assert err.response.status_code == 404 and err.request is None  # an empty stand-in
    assert str(err) == "nope"
    made = make_status_error(503, problem=None, request_id="r", response=None)
    assert type(made) is InternalServerError and str(made) == "Tessera API returned status 503."
    assert type(make_status_error(418, problem=None, request_id=None, response=None)) is (
        APIStatusError
    )
    assert str(APIConnectionError()) == "Connection error." and APIConnectionError().request is None
    assert str(APITimeoutError()) == "Request timed out."
    with pytest.raises(TypeError):
        APIStatusError("no status")
    # Built from a response, the status and request id come from it.
    response = httpx.Response(429, headers={"X-Request-Id": "req_r"})
    limited = RateLimitError("slow down", response=response)
    assert (limited.status_code, limited.request_id) == (429, "req_r")


def test_pages_are_built_as_0_1_4_built_them() -> None:
    def fetch(cursor: str) -> SyncCursorPage[int]:
        assert cursor == "c2"
        return SyncCursorPage(items=[3], next_cursor=None, has_more=False, fetch_next=fetch)

    first = SyncCursorPage(items=[1, 2], next_cursor="c2", has_more=True, fetch_next=fetch)
    assert list(first) == [1, 2, 3]
    last = first.get_next_page()
    with pytest.raises(RuntimeError):  # 0.1.4 raised RuntimeError; NoNextPageError is one
        last.get_next_page()
    with pytest.raises(NoNextPageError):
        last.get_next_page()
    assert issubclass(NoNextPageError, TesseraError)

    async def afetch(cursor: str) -> AsyncCursorPage[int]:
        return AsyncCursorPage(items=[9], next_cursor=None, has_more=False, fetch_next=afetch)

    async def walk() -> list[int]:
        page = AsyncCursorPage(items=[8], next_cursor="x", has_more=True, fetch_next=afetch)
        return [i async for i in page]

    assert asyncio.run(walk()) == [8, 9]


def test_waits_go_through_time_sleep_and_asyncio_sleep(monkeypatch: pytest.MonkeyPatch) -> None:
    # 0.1.4's own tests replace time.sleep / asyncio.sleep to record backoff; a client made
    # before the patch must still wait through the patched functions.
    sync_client = Tessera(api_key=API_KEY, base_url=BASE_URL)
    async_client = AsyncTessera(api_key=API_KEY, base_url=BASE_URL)
    waits: list[float] = []

    async def fake_async_sleep(seconds: float) -> None:
        waits.append(seconds)

    monkeypatch.setattr(time, "sleep", waits.append)
    monkeypatch.setattr(asyncio, "sleep", fake_async_sleep)
    service = FakeService(Reply(503), Reply(json=memory_item()))
    sync_client._transport.http = httpx.Client(transport=httpx.MockTransport(service))
    sync_client.memories.get("ep_1", user_id="u")
    assert len(waits) == 1 and 0.25 <= waits[0] <= 0.5

    async def run_async() -> None:
        again = FakeService(Reply(503), Reply(json=memory_item()))
        async_client._transport.http = httpx.AsyncClient(transport=httpx.MockTransport(again))
        await async_client.memories.get("ep_1", user_id="u")

    asyncio.run(run_async())
    assert len(waits) == 2


def test_deliberate_retry_differences(harness: Harness) -> None:
    # A 504 on an idempotent call is retried (0.1.4 gave up at once) ...
    service = FakeService(Reply(504), Reply(json=memory_item()))
    harness.run(service, lambda c: c.memories.get("ep_1", user_id="u"))
    assert service.attempts == 2
    # ... and a Retry-After longer than a minute is not slept through (0.1.4 waited).
    slow = FakeService(Reply(429, headers={"Retry-After": "3600"}), Reply(json=memory_item()))
    with pytest.raises(RateLimitError):
        harness.run(slow, lambda c: c.memories.get("ep_1", user_id="u"))
    assert slow.attempts == 1 and len(harness.sleeps) == 1  # the one wait was for the 504


def test_user_agent_and_missing_key_message_match_0_1_4() -> None:
    ua = tessera_memory._core.USER_AGENT
    assert ua.startswith(f"tessera-memory-python/{tessera_memory.__version__} Python/")
    with pytest.raises(TesseraError, match="No API key provided"):
        Tessera()


def test_published_resource_class_names() -> None:
    from tessera_memory import resources

    client = Tessera(api_key=API_KEY, base_url=BASE_URL)
    for name in ("Memories", "Search", "Query", "Jobs", "Maintenance", "Procedures", "Resources"):
        cls = getattr(resources, name)
        assert getattr(resources, f"{name}Resource") is cls
        assert getattr(resources, f"Async{name}Resource") is cls
        assert isinstance(getattr(client, name.lower()), cls)
