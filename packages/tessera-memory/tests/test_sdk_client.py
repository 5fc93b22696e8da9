"""Client configuration, request shape, result types, raw responses, client lifecycle."""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any

import httpx
import pytest
from sdk_fakes import API_KEY, BASE_URL, FakeService, Harness, Reply, memory_item
from tessera_memory import (
    DEFAULT_BASE_URL,
    APIResponse,
    AsyncAddResponse,
    AsyncTessera,
    BatchMessage,
    ConsolidationSummary,
    EnqueuedResponse,
    FilterClause,
    HealthStatus,
    MemoryItem,
    SearchResponse,
    SyncAddResponse,
    Tessera,
)

SUMMARY = {
    "turns_consolidated": 2,
    "tesserae_created": 1,
    "facts_created": 1,
    "foresight_created": 0,
    "llm_calls": 0,
}

# --- configuration ------------------------------------------------------------------------


def test_defaults() -> None:
    client = Tessera(api_key="k")
    assert client.base_url == DEFAULT_BASE_URL == "http://127.0.0.1:8420"
    assert client.timeout == 60.0
    assert client.max_retries == 2
    assert client.default_headers == {}
    client.close()


def test_environment_supplies_key_and_url(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TESSERA_API_KEY", "tsk_live_from_env")
    monkeypatch.setenv("TESSERA_BASE_URL", "http://env-host:9000/")
    service = FakeService(Reply(json={"status": "ok"}))
    harness.run(service, lambda c: c.health(), api_key=None, base_url=None)
    assert str(service.last.url) == "http://env-host:9000/health"
    assert service.last.headers["Authorization"] == "Bearer tsk_live_from_env"


def test_arguments_override_the_environment(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TESSERA_API_KEY", "tsk_live_from_env")
    monkeypatch.setenv("TESSERA_BASE_URL", "http://env-host:9000")
    service = FakeService(Reply(json={"status": "ok"}))
    harness.run(service, lambda c: c.health(), api_key="arg-key", base_url="http://arg-host///")
    assert str(service.last.url) == "http://arg-host/health"
    assert service.last.headers["Authorization"] == "Bearer arg-key"


def test_base_url_with_a_path_prefix(harness: Harness) -> None:
    service = FakeService(Reply(json={"status": "ok"}))
    harness.run(service, lambda c: c.health(), base_url="http://proxy/tessera/")
    assert str(service.last.url) == "http://proxy/tessera/health"


def test_the_key_never_appears_in_repr() -> None:
    client = Tessera(api_key=API_KEY)
    assert API_KEY not in repr(client)
    assert API_KEY not in repr(client._settings)
    client.close()


def test_invalid_max_retries() -> None:
    with pytest.raises(ValueError):
        Tessera(api_key="k", max_retries=-1)
    with pytest.raises(ValueError):
        Tessera(api_key="k").with_options(max_retries=-1)


def test_http_client_of_the_wrong_kind() -> None:
    with pytest.raises(TypeError):
        Tessera(api_key="k", http_client=httpx.AsyncClient())  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        AsyncTessera(api_key="k", http_client=httpx.Client())  # type: ignore[arg-type]


# --- headers ------------------------------------------------------------------------------


def test_standard_headers(harness: Harness) -> None:
    service = FakeService(Reply(json={"status": "ok"}))
    harness.run(service, lambda c: c.health())
    headers = service.last.headers
    assert headers["Authorization"] == f"Bearer {API_KEY}"
    assert headers["Accept"] == "application/json"
    assert headers["User-Agent"].startswith("tessera-memory-python/0.2.0 Python/")


def test_with_options_merges_headers_and_keeps_key_and_url(harness: Harness) -> None:
    service = FakeService(Reply(json={"status": "ok"}))

    def call(c: Any) -> Any:
        copy = c.with_options(
            default_headers={"x-b": "2", "X-C": "3", "Authorization": "Bearer stolen"},
            timeout=5.0,
        )
        assert copy.base_url == c.base_url and copy.api_key == c.api_key
        assert copy.timeout == 5.0 and copy.max_retries == c.max_retries
        assert copy.default_headers["X-A"] == "1"
        assert c.default_headers == {"X-A": "1", "X-B": "1"}  # the original is unchanged
        return copy.health()

    harness.run(service, call, default_headers={"X-A": "1", "X-B": "1"})
    headers = service.last.headers
    assert headers["X-A"] == "1" and headers["X-B"] == "2" and headers["X-C"] == "3"
    assert headers.get_list("X-B") == ["2"]
    assert headers["Authorization"] == f"Bearer {API_KEY}"


def test_with_options_sets_the_request_timeout() -> None:
    seen: list[dict[str, Any]] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request.extensions["timeout"])
        return httpx.Response(200, json={"status": "ok"})

    with httpx.Client(transport=httpx.MockTransport(handler), timeout=1.0) as http:
        client = Tessera(api_key="k", base_url=BASE_URL, http_client=http, timeout=7.0)
        client.health()
        client.with_options(timeout=httpx.Timeout(3.0, connect=1.0)).health()
    assert seen[0]["read"] == 7.0
    assert seen[1]["read"] == 3.0 and seen[1]["connect"] == 1.0


def test_caller_client_headers_are_kept_and_base_url_ignored() -> None:
    service = FakeService(Reply(json={"status": "ok"}))
    with httpx.Client(
        transport=httpx.MockTransport(service),
        base_url="http://elsewhere.invalid/api",
        headers={"X-Proxy-Token": "p"},
    ) as http:
        Tessera(api_key="k", base_url=BASE_URL, http_client=http).health()
    assert str(service.last.url) == f"{BASE_URL}/health"
    assert service.last.headers["X-Proxy-Token"] == "p"


# --- lifecycle ----------------------------------------------------------------------------


def test_a_caller_supplied_client_is_left_open() -> None:
    http = httpx.Client(transport=httpx.MockTransport(FakeService(Reply(json={"status": "ok"}))))
    with Tessera(api_key="k", http_client=http) as client:
        client.health()
    client.close()
    assert not http.is_closed
    http.close()


@pytest.mark.anyio
async def test_a_caller_supplied_async_client_is_left_open() -> None:
    http = httpx.AsyncClient(
        transport=httpx.MockTransport(FakeService(Reply(json={"status": "ok"})))
    )
    async with AsyncTessera(api_key="k", http_client=http) as client:
        await client.health()
    await client.aclose()
    await client.close()
    assert not http.is_closed
    await http.aclose()


def test_an_owned_client_is_closed_and_copies_share_it() -> None:
    client = Tessera(api_key="k")
    copy = client.with_options(max_retries=0)
    assert copy._transport.http is client._transport.http
    copy.close()
    assert not client._transport.http.is_closed
    with client:
        pass
    assert client._transport.http.is_closed


@pytest.mark.anyio
async def test_an_owned_async_client_is_closed_and_copies_share_it() -> None:
    client = AsyncTessera(api_key="k")
    copy = client.with_options(default_headers={"X": "1"})
    assert copy._transport.http is client._transport.http
    await copy.aclose()
    assert not client._transport.http.is_closed
    async with client:
        pass
    assert client._transport.http.is_closed


# --- where scope and arguments travel -----------------------------------------------------


def test_get_sends_scope_as_query_parameters(harness: Harness) -> None:
    service = FakeService(Reply(json=memory_item()))
    harness.run(service, lambda c: c.memories.get("ep_1", user_id="u1", session_id="s1"))
    req = service.last
    assert req.method == "GET" and req.url.path == "/v1/memories/ep_1"
    assert dict(req.url.params) == {"user_id": "u1", "session_id": "s1"}
    assert req.content == b""


def test_unset_scope_is_not_sent(harness: Harness) -> None:
    service = FakeService(Reply(json=memory_item()))
    harness.run(service, lambda c: c.memories.get("ep_1", session_id="s1"))
    assert dict(service.last.url.params) == {"session_id": "s1"}


@pytest.mark.parametrize(
    ("call", "method", "path"),
    [
        (lambda c: c.memories.delete("ep_1", user_id="u1"), "DELETE", "/v1/memories/ep_1"),
        (
            lambda c: c.memories.forget_turn("t 1/2", user_id="u1"),
            "DELETE",
            "/v1/memories/turns/t%201%2F2",
        ),
        (lambda c: c.memories.wipe(user_id="u1"), "DELETE", "/v1/memories"),
        (lambda c: c.memories.unpin("ep_1", user_id="u1"), "DELETE", "/v1/memories/ep_1/pin"),
        (lambda c: c.memories.pin("ep_1", user_id="u1"), "POST", "/v1/memories/ep_1/pin"),
        (lambda c: c.maintenance.reindex(user_id="u1"), "POST", "/v1/reindex"),
    ],
)
def test_writes_and_deletes_send_scope_in_a_json_body(
    harness: Harness, call: Any, method: str, path: str
) -> None:
    service = FakeService(Reply(status=599))  # any error will do: only the request matters
    with pytest.raises(Exception):  # noqa: B017
        harness.run(service, call, max_retries=0)
    req = service.last
    assert (req.method, req.url.raw_path.decode()) == (method, path)
    assert req.url.params == httpx.QueryParams()
    assert req.headers["Content-Type"] == "application/json"
    assert req.json() == {"user_id": "u1"}


def test_add_sends_every_argument(harness: Harness) -> None:
    service = FakeService(
        Reply(201, json={"turn_id": "t", "created": True, "consolidation_queued": False})
    )
    when = dt.datetime(2025, 3, 1, 12, 30, tzinfo=dt.timezone.utc)
    harness.run(
        service,
        lambda c: c.memories.add(
            content="I moved to Berlin",
            role="user",
            user_id="u1",
            session_id="s1",
            turn_id="turn-1",
            mode="async",
            infer=False,
            event_time=when,
            metadata={"source": "chat", "n": 1},
        ),
    )
    assert service.last.json() == {
        "content": "I moved to Berlin",
        "role": "user",
        "user_id": "u1",
        "session_id": "s1",
        "turn_id": "turn-1",
        "mode": "async",
        "infer": False,
        "event_time": "2025-03-01T12:30:00Z",
        "metadata": {"source": "chat", "n": 1},
    }


def test_add_result_type_follows_the_status(harness: Harness) -> None:
    sync_body = {"turn_id": "t", "consolidation": SUMMARY}
    result = harness.run(
        FakeService(Reply(200, json=sync_body)),
        lambda c: c.memories.add(content="x", role="user", user_id="u", mode="sync"),
    )
    assert isinstance(result, SyncAddResponse)
    assert result.consolidation.facts_created == 1
    async_body = {"turn_id": "t", "created": True, "consolidation_queued": True,
                  "job": {"id": "job_3", "status": "queued"}}  # fmt: skip
    result = harness.run(
        FakeService(Reply(201, json=async_body)),
        lambda c: c.memories.add(content="x", role="user", user_id="u"),
    )
    assert isinstance(result, AsyncAddResponse)
    assert result.job is not None and result.job.id == "job_3"


def test_batch_accepts_models_and_mappings(harness: Harness) -> None:
    service = FakeService(Reply(201, json={"results": []}))
    harness.run(
        service,
        lambda c: c.memories.batch(
            messages=[
                BatchMessage(role="user", content="one", turn_id="a"),
                {"role": "assistant", "content": "two"},
            ],
            user_id="u",
        ),
    )
    body = service.last.json()
    assert body["messages"] == [
        {"role": "user", "content": "one", "turn_id": "a"},
        {"role": "assistant", "content": "two"},
    ]
    assert body["mode"] == "async" and body["infer"] is True


def test_search_sends_filters_types_and_time_travel(harness: Harness) -> None:
    service = FakeService(
        Reply(json={"results": [{"id": "ft_1", "type": "fact", "text": "t", "score": 0.5}]})
    )
    result = harness.run(
        service,
        lambda c: c.search(
            "coffee",
            user_id="u",
            top_k=3,
            rerank=False,
            types=["fact"],
            as_of="2025-01-01T00:00:00Z",
            filters=[
                FilterClause(field="importance", op="gte", value=0.5),
                {"field": "metadata.source", "op": "eq", "value": "chat"},
            ],
        ),
    )
    assert isinstance(result, SearchResponse)
    assert result.results[0].type == "fact"
    assert service.last.json() == {
        "query": "coffee",
        "user_id": "u",
        "top_k": 3,
        "rerank": False,
        "types": ["fact"],
        "as_of": "2025-01-01T00:00:00Z",
        "filters": [
            {"field": "importance", "op": "gte", "value": 0.5},
            {"field": "metadata.source", "op": "eq", "value": "chat"},
        ],
    }


def test_query_defaults_to_chat(harness: Harness) -> None:
    service = FakeService(Reply(status=599))
    with pytest.raises(Exception):  # noqa: B017
        harness.run(service, lambda c: c.query("hi", user_id="u"), max_retries=0)
    assert service.last.url.path == "/v1/query"
    assert service.last.json() == {"query": "hi", "user_id": "u", "mode": "chat"}


def test_consolidate_enqueues_by_default(harness: Harness) -> None:
    service = FakeService(Reply(202, json={"job": {"id": "job_9", "status": "queued"}}))
    result = harness.run(service, lambda c: c.maintenance.consolidate(user_id="u"))
    assert isinstance(result, EnqueuedResponse) and result.job.id == "job_9"
    assert service.last.url.params == httpx.QueryParams()
    assert service.last.json() == {"user_id": "u"}


def test_consolidate_sync_runs_inline(harness: Harness) -> None:
    service = FakeService(Reply(200, json=SUMMARY))
    result = harness.run(service, lambda c: c.maintenance.consolidate(user_id="u", sync=True))
    assert isinstance(result, ConsolidationSummary) and result.turns_consolidated == 2
    assert dict(service.last.url.params) == {"sync": "true"}


def test_every_resource_method_hits_its_route(harness: Harness) -> None:
    calls = [
        (lambda c: c.procedures.remember(trigger="t", steps=["a"], success="s", user_id="u"), "POST", "/v1/procedures"),
        (lambda c: c.procedures.recall(task="t", k=2, min_similarity=0.1, user_id="u"), "POST", "/v1/procedures/recall"),
        (lambda c: c.procedures.record_outcome("ep_1", success=True, user_id="u"), "POST", "/v1/procedures/ep_1/outcome"),
        (lambda c: c.resources.remember(blob_ref="b", mime="image/png", caption="c", user_id="u"), "POST", "/v1/resources"),
        (lambda c: c.resources.recall(query="q", k=1, user_id="u"), "POST", "/v1/resources/recall"),
        (lambda c: c.maintenance.compress(token_budget=100, user_id="u"), "POST", "/v1/compress"),
        (lambda c: c.jobs.get("job_1"), "GET", "/v1/jobs/job_1"),
        (lambda c: c.memories.correct("ft_1", object="o", confidence=0.5, user_id="u"), "PATCH", "/v1/memories/ft_1"),
        (lambda c: c.ready(), "GET", "/ready"),
    ]  # fmt: skip
    for call, method, path in calls:
        service = FakeService(Reply(status=599))
        with pytest.raises(Exception):  # noqa: B017
            harness.run(service, call, max_retries=0)
        assert (service.last.method, service.last.url.path) == (method, path)


# --- results ------------------------------------------------------------------------------


def test_health_status_is_an_enum(harness: Harness) -> None:
    result = harness.run(FakeService(Reply(json={"status": "ok"})), lambda c: c.health())
    assert isinstance(result, HealthStatus)
    assert result.status.value == "ok"


def test_unknown_fields_from_a_newer_server_parse(harness: Harness) -> None:
    body = memory_item(provenance={"turn_ids": ["t1"]}, importance=0.7)
    item = harness.run(FakeService(Reply(json=body)), lambda c: c.memories.get("ep_1", user_id="u"))
    assert isinstance(item, MemoryItem)
    assert item.model_extra == {"provenance": {"turn_ids": ["t1"]}, "importance": 0.7}


def test_raw_responses(harness: Harness) -> None:
    service = FakeService(Reply(json=memory_item(), headers={"X-Request-Id": "req_raw"}))
    raw = harness.run(service, lambda c: c.memories.with_raw_response.get("ep_1", user_id="u"))
    assert isinstance(raw, APIResponse)
    assert isinstance(raw.parsed, MemoryItem)
    assert raw.status_code == 200
    assert raw.request_id == "req_raw"
    assert raw.headers["x-request-id"] == "req_raw"
    assert isinstance(raw.http_response, httpx.Response)
    with pytest.raises(dataclasses.FrozenInstanceError):
        raw.status_code = 201  # type: ignore[misc]


@pytest.mark.parametrize(
    "call",
    [
        lambda c: c.search.with_raw_response("q", user_id="u"),
        lambda c: c.query.with_raw_response("q", user_id="u"),
        lambda c: c.with_raw_response.health(),
        lambda c: c.with_raw_response.memories.wipe(user_id="u"),
        lambda c: c.procedures.with_raw_response.recall(task="t", user_id="u"),
        lambda c: c.resources.with_raw_response.recall(query="t", user_id="u"),
        lambda c: c.maintenance.with_raw_response.reindex(user_id="u"),
        lambda c: c.jobs.with_raw_response.get("job_1"),
    ],
)
def test_every_resource_has_raw_responses(harness: Harness, call: Any) -> None:
    service = FakeService(Reply(599, json={"title": "x", "status": 599}))
    with pytest.raises(Exception):  # noqa: B017
        harness.run(service, call, max_retries=0)
    assert service.attempts == 1
