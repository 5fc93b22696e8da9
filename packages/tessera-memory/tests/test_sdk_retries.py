"""The retry policy, case by case, through both clients."""

from __future__ import annotations

import email.utils
import time
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from sdk_fakes import FakeService, Harness, Reply, memory_item
from tessera_memory import (
    APIConnectionError,
    APIStatusError,
    APITimeoutError,
    AsyncAddResponse,
    InternalServerError,
    MemoryItem,
    RateLimitError,
)
from tessera_memory._retry import (
    INITIAL_BACKOFF,
    JITTER,
    MAX_BACKOFF,
    MAX_RETRY_AFTER,
    backoff,
    parse_retry_after,
    retry_delay,
)

Call = Callable[[Any], Any]

FORGET = {"turns_deleted": 0, "tesserae_deleted": 0, "facts_deleted": 0, "foresight_deleted": 0}
ADDED = {"turn_id": "t", "created": True, "consolidation_queued": False, "job": None}
FACT = {"id": "ft_1", "text": "x", "confidence": 1.0, "t_valid": "2025-01-01T00:00:00Z"}

# name -> (call, a success body or reply, replay allowed after an ambiguous failure)
CALLS: dict[str, tuple[Call, Any, bool]] = {
    "GET memories.get": (lambda c: c.memories.get("ep_1", user_id="u"), memory_item(), True),
    "GET jobs.get": (
        lambda c: c.jobs.get("job_1"),
        {
            "id": "job_1",
            "status": "queued",
            "kind": "consolidate",
            "created_at": "2025-01-01T00:00:00Z",
            "updated_at": "2025-01-01T00:00:00Z",
        },
        True,
    ),
    "DELETE memories.delete": (lambda c: c.memories.delete("ep_1", user_id="u"), FORGET, True),
    "DELETE memories.wipe": (lambda c: c.memories.wipe(user_id="u"), {"total": 0}, True),
    "POST memories.add": (
        lambda c: c.memories.add(content="hi", role="user", user_id="u"),
        Reply(201, json=ADDED),
        True,
    ),
    "POST memories.batch": (
        lambda c: c.memories.batch(messages=[{"role": "user", "content": "hi"}], user_id="u"),
        Reply(201, json={"results": [ADDED]}),
        False,
    ),
    "POST search": (lambda c: c.search("q", user_id="u"), {"results": []}, False),
    "POST memories.pin": (
        lambda c: c.memories.pin("ep_1", user_id="u"),
        {"id": "ep_1", "pinned": True, "changed": True},
        False,
    ),
    "PATCH memories.correct": (
        lambda c: c.memories.correct("ft_1", object="y", user_id="u"),
        FACT,
        False,
    ),
}

ALWAYS_RETRIED = [429, 502, 503]
RETRIED_IF_IDEMPOTENT = [500, 504]
NEVER_RETRIED = [400, 401, 403, 404, 405, 409, 413, 422, 501]


@pytest.mark.parametrize("name", CALLS)
@pytest.mark.parametrize("status", ALWAYS_RETRIED)
def test_overload_statuses_are_retried_for_every_call(
    harness: Harness, name: str, status: int
) -> None:
    call, _, _ = CALLS[name]
    service = FakeService(Reply(status, json={"title": "busy", "status": status}))
    with pytest.raises(APIStatusError) as info:
        harness.run(service, call)
    assert info.value.status_code == status
    assert service.attempts == 3  # max_retries=2 by default: three attempts in all
    assert len(harness.sleeps) == 2


@pytest.mark.parametrize("name", CALLS)
@pytest.mark.parametrize("status", RETRIED_IF_IDEMPOTENT)
def test_server_errors_are_retried_only_when_replay_is_safe(
    harness: Harness, name: str, status: int
) -> None:
    call, _, replay_safe = CALLS[name]
    service = FakeService(Reply(status, json={"title": "boom", "status": status}))
    with pytest.raises(InternalServerError):
        harness.run(service, call)
    assert service.attempts == (3 if replay_safe else 1)


@pytest.mark.parametrize("name", CALLS)
@pytest.mark.parametrize("failure", [httpx.ReadTimeout, httpx.ConnectTimeout])
def test_timeouts_are_retried_only_when_replay_is_safe(
    harness: Harness, name: str, failure: type[httpx.TransportError]
) -> None:
    call, _, replay_safe = CALLS[name]
    service = FakeService(Reply(raises=failure))
    with pytest.raises(APITimeoutError) as info:
        harness.run(service, call)
    assert isinstance(info.value.__cause__, failure)
    assert service.attempts == (3 if replay_safe else 1)


@pytest.mark.parametrize("name", CALLS)
@pytest.mark.parametrize(
    "failure", [httpx.ConnectError, httpx.ReadError, httpx.RemoteProtocolError]
)
def test_connection_errors_are_retried_only_when_replay_is_safe(
    harness: Harness, name: str, failure: type[httpx.TransportError]
) -> None:
    call, _, replay_safe = CALLS[name]
    service = FakeService(Reply(raises=failure))
    with pytest.raises(APIConnectionError) as info:
        harness.run(service, call)
    assert not isinstance(info.value, APITimeoutError)
    assert service.attempts == (3 if replay_safe else 1)


@pytest.mark.parametrize("name", CALLS)
@pytest.mark.parametrize("status", NEVER_RETRIED)
def test_other_error_statuses_are_never_retried(harness: Harness, name: str, status: int) -> None:
    call, _, _ = CALLS[name]
    service = FakeService(Reply(status, json={"title": "no", "status": status}))
    with pytest.raises(APIStatusError):
        harness.run(service, call)
    assert service.attempts == 1
    assert harness.sleeps == []


@pytest.mark.parametrize("name", CALLS)
def test_a_retry_that_succeeds_returns_the_result(harness: Harness, name: str) -> None:
    call, success, _ = CALLS[name]
    reply = success if isinstance(success, Reply) else Reply(200, json=success)
    service = FakeService(Reply(503), Reply(429), reply)
    harness.run(service, call)
    assert service.attempts == 3


def test_add_replays_the_same_minted_turn_id(harness: Harness) -> None:
    service = FakeService(Reply(500), Reply(raises=httpx.ReadTimeout), Reply(201, json=ADDED))
    result = harness.run(service, lambda c: c.memories.add(content="hi", role="user", user_id="u"))
    assert isinstance(result, AsyncAddResponse)
    turn_ids = {r.json()["turn_id"] for r in service.requests}
    assert len(service.requests) == 3 and len(turn_ids) == 1
    assert len(turn_ids.pop()) == 26


def test_add_keeps_a_caller_supplied_turn_id(harness: Harness) -> None:
    service = FakeService(Reply(503), Reply(201, json=ADDED))
    harness.run(
        service, lambda c: c.memories.add(content="hi", role="user", user_id="u", turn_id="t-1")
    )
    assert [r.json()["turn_id"] for r in service.requests] == ["t-1", "t-1"]


def test_each_add_call_mints_a_new_turn_id(harness: Harness) -> None:
    service = FakeService(Reply(201, json=ADDED))
    for _ in range(3):
        harness.run(service, lambda c: c.memories.add(content="hi", role="user", user_id="u"))
    assert len({r.json()["turn_id"] for r in service.requests}) == 3


@pytest.mark.parametrize("max_retries", [0, 1, 5])
def test_max_retries_bounds_the_attempts(harness: Harness, max_retries: int) -> None:
    service = FakeService(Reply(503))
    with pytest.raises(InternalServerError):
        harness.run(service, lambda c: c.health(), max_retries=max_retries)
    assert service.attempts == max_retries + 1


def test_with_options_changes_max_retries(harness: Harness) -> None:
    service = FakeService(Reply(503))
    with pytest.raises(InternalServerError):
        harness.run(service, lambda c: c.with_options(max_retries=4).health())
    assert service.attempts == 5


def test_backoff_grows_exponentially_with_bounded_jitter(harness: Harness) -> None:
    service = FakeService(Reply(503))
    with pytest.raises(InternalServerError):
        harness.run(service, lambda c: c.health(), max_retries=8)
    assert len(harness.sleeps) == 8
    for n, slept in enumerate(harness.sleeps):
        ceiling = min(MAX_BACKOFF, INITIAL_BACKOFF * 2**n)
        assert ceiling * (1 - JITTER) <= slept <= ceiling, (n, slept)
    assert max(harness.sleeps) <= MAX_BACKOFF


def test_backoff_bounds_at_the_jitter_extremes() -> None:
    assert backoff(0, rand=lambda: 0.0) == 0.5
    assert backoff(0, rand=lambda: 1.0) == pytest.approx(0.25)
    assert backoff(1, rand=lambda: 0.0) == 1.0
    assert backoff(3, rand=lambda: 0.0) == 4.0
    assert backoff(4, rand=lambda: 0.0) == MAX_BACKOFF
    assert backoff(1000, rand=lambda: 0.0) == MAX_BACKOFF
    assert backoff(1000, rand=lambda: 1.0) == pytest.approx(MAX_BACKOFF * (1 - JITTER))


@pytest.mark.parametrize(("header", "expected"), [("2", 2.0), ("0", 0.0), ("1.5", 1.5)])
def test_retry_after_seconds_is_honoured(harness: Harness, header: str, expected: float) -> None:
    service = FakeService(
        Reply(429, headers={"Retry-After": header}), Reply(200, json={"status": "ok"})
    )
    harness.run(service, lambda c: c.health())
    assert harness.sleeps == [expected]


def test_retry_after_http_date_is_honoured(harness: Harness) -> None:
    when = email.utils.formatdate(time.time() + 30, usegmt=True)
    service = FakeService(
        Reply(503, headers={"Retry-After": when}), Reply(200, json={"status": "ok"})
    )
    harness.run(service, lambda c: c.health())
    [slept] = harness.sleeps
    assert 27.0 <= slept <= 30.0  # HTTP-dates have one-second resolution


def test_retry_after_in_the_past_means_now(harness: Harness) -> None:
    when = email.utils.formatdate(time.time() - 3600, usegmt=True)
    service = FakeService(
        Reply(503, headers={"Retry-After": when}), Reply(200, json={"status": "ok"})
    )
    harness.run(service, lambda c: c.health())
    assert harness.sleeps == [0.0]


def test_unreadable_retry_after_falls_back_to_backoff(harness: Harness) -> None:
    service = FakeService(
        Reply(503, headers={"Retry-After": "soon"}), Reply(200, json={"status": "ok"})
    )
    harness.run(service, lambda c: c.health())
    [slept] = harness.sleeps
    assert INITIAL_BACKOFF * (1 - JITTER) <= slept <= INITIAL_BACKOFF


def test_retry_after_longer_than_the_cap_is_not_waited_out(harness: Harness) -> None:
    service = FakeService(Reply(429, headers={"Retry-After": str(int(MAX_RETRY_AFTER) + 1)}))
    with pytest.raises(RateLimitError) as info:
        harness.run(service, lambda c: c.health())
    assert service.attempts == 1 and harness.sleeps == []
    assert info.value.response.headers["Retry-After"] == "61"


def test_retry_after_is_ignored_on_a_status_that_is_not_retried(harness: Harness) -> None:
    service = FakeService(Reply(400, headers={"Retry-After": "1"}))
    with pytest.raises(APIStatusError):
        harness.run(service, lambda c: c.health())
    assert service.attempts == 1 and harness.sleeps == []


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, None),
        ("", None),
        ("  7 ", 7.0),
        ("-4", 0.0),
        ("nan", None),
        ("inf", None),
        ("Wed, 21 Oct 2015 07:28:00 GMT", 0.0),
        ("not a date", None),
    ],
)
def test_parse_retry_after(value: str | None, expected: float | None) -> None:
    assert parse_retry_after(value) == expected


def test_parse_retry_after_http_date_against_a_clock() -> None:
    now = 1_700_000_000.0
    header = email.utils.formatdate(now + 12, usegmt=True)
    assert parse_retry_after(header, now=now) == pytest.approx(12.0)


def test_retry_delay_prefers_the_server_hint() -> None:
    response = httpx.Response(503, headers={"Retry-After": "3"})
    assert retry_delay(0, response=response) == 3.0
    assert retry_delay(0, response=httpx.Response(503), rand=lambda: 0.0) == 0.5
    assert retry_delay(2, response=None, rand=lambda: 0.0) == 2.0


def test_a_get_parses_after_recovering_from_a_timeout(harness: Harness) -> None:
    service = FakeService(Reply(raises=httpx.ReadTimeout), Reply(200, json=memory_item()))
    item = harness.run(service, lambda c: c.memories.get("ep_1", user_id="u"))
    assert isinstance(item, MemoryItem)
    assert service.attempts == 2
