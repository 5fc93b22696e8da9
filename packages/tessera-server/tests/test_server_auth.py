"""Keys: missing, invalid, revoked and read-only keys; per-key rate limiting."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from server_helpers import Api, assert_clean_log, check_invariants, problem
from tessera_server.api.policy import declared, route_for
from tessera_server.app import ROUTERS
from tessera_server.testing import ServiceHandle, run_service

# Well-formed ids that no memory has. Fixed (uuid5), not random: the parametrized test ids
# name them, and pytest-xdist workers must collect the same ids.
EP = f"ep_{uuid.uuid5(uuid.NAMESPACE_URL, 'tessera-tests/absent-episode')}"
FT = f"ft_{uuid.uuid5(uuid.NAMESPACE_URL, 'tessera-tests/absent-fact')}"

# Every authenticated operation, with a body that would be valid.
OPERATIONS: list[tuple[str, str, dict[str, Any] | None]] = [
    ("POST", "/v1/memories", {"user_id": "u", "content": "x", "role": "user"}),
    (
        "POST",
        "/v1/memories:batch",
        {"user_id": "u", "messages": [{"role": "user", "content": "x"}]},
    ),
    ("GET", "/v1/memories?user_id=u", None),
    ("DELETE", "/v1/memories", {"user_id": "u"}),
    ("DELETE", "/v1/memories/turns/t1", {"user_id": "u"}),
    ("GET", f"/v1/memories/{EP}?user_id=u", None),
    ("DELETE", f"/v1/memories/{EP}", {"user_id": "u"}),
    ("PATCH", f"/v1/memories/{FT}", {"user_id": "u", "object": "x"}),
    ("POST", f"/v1/memories/{EP}/pin", {"user_id": "u"}),
    ("DELETE", f"/v1/memories/{EP}/pin", {"user_id": "u"}),
    ("POST", "/v1/search", {"user_id": "u", "query": "x"}),
    ("POST", "/v1/query", {"user_id": "u", "query": "x"}),
    ("POST", "/v1/procedures", {"user_id": "u", "trigger": "t", "steps": ["s"], "success": "ok"}),
    ("POST", "/v1/procedures/recall", {"user_id": "u", "task": "x"}),
    ("POST", f"/v1/procedures/{EP}/outcome", {"user_id": "u", "success": True}),
    (
        "POST",
        "/v1/resources",
        {"user_id": "u", "blob_ref": "b", "mime": "image/png", "caption": "c"},
    ),
    ("POST", "/v1/resources/recall", {"user_id": "u", "query": "x"}),
    ("POST", "/v1/consolidate", {"user_id": "u"}),
    ("POST", "/v1/reindex", {"user_id": "u"}),
    ("POST", "/v1/compress", {"user_id": "u"}),
    ("GET", "/v1/jobs/job_1", None),
]


def _is_write(method: str, path: str) -> bool:
    """What the route declares (api/policy.py), not a second hand list: a write is anything
    but GET that is not declared a read."""
    scope = {"type": "http", "method": method, "path": path.split("?")[0], "root_path": ""}
    routes = [r for module in ROUTERS for r in module.router.routes]
    return method != "GET" and not declared(route_for(routes, scope)).reads_only


WRITES = [(method, path) for method, path, _ in OPERATIONS if _is_write(method, path)]


def call(
    base_url: str, method: str, path: str, body: dict[str, Any] | None, auth: str | None
) -> httpx.Response:
    headers = {"Authorization": auth} if auth is not None else {}
    with httpx.Client(base_url=base_url, timeout=60) as client:
        response = client.request(method, path, json=body, headers=headers)
    check_invariants(response)
    return response


@pytest.mark.parametrize(
    "auth",
    [
        None,
        "",
        "Bearer",
        "Bearer tsk_live_thisKeyDoesNotExist0000000000000000000000",
        "Bearer sk-not-a-tessera-key",
        "Basic dXNlcjpwYXNz",
        "Token tsk_live_x",
        "tsk_live_noscheme",
    ],
)
def test_missing_or_invalid_key_is_401_everywhere(service: ServiceHandle, auth: str | None) -> None:
    for method, path, body in OPERATIONS:
        response = call(service.base_url, method, path, body, auth)
        problem(
            response, 401, "key" if auth and auth.startswith("Bearer tsk_live_") else "tsk_live_"
        )
        assert response.headers["www-authenticate"].lower().startswith("bearer")


def test_the_real_key_with_garbage_is_401(service: ServiceHandle) -> None:
    for auth in (
        f"Bearer {service.api_key}x",
        f"Bearer {service.api_key[:-1]}",
        f"Bearer {service.api_key.upper()}",
    ):
        problem(call(service.base_url, "GET", "/v1/memories?user_id=u", None, auth), 401)
    # The scheme is case-insensitive and surrounding spaces are tolerated.
    ok = call(service.base_url, "GET", "/v1/memories?user_id=u", None, f"bearer  {service.api_key}")
    assert ok.status_code == 200


def test_revoked_key_is_401(service: ServiceHandle) -> None:
    key = service.create_key("test")
    auth = f"Bearer {key}"
    assert call(service.base_url, "GET", "/v1/memories?user_id=u", None, auth).status_code == 200
    prefix = key[: len("tsk_live_") + 8]
    listed = service.cli("keys", "list").stdout
    assert prefix in listed and key not in listed
    assert "revoked" in service.cli("keys", "revoke", prefix).stdout
    problem(call(service.base_url, "GET", "/v1/memories?user_id=u", None, auth), 401, "revoked")
    problem(call(service.base_url, "POST", "/v1/search", {"user_id": "u", "query": "x"}, auth), 401)
    assert "revoked" in next(
        line for line in service.cli("keys", "list").stdout.splitlines() if prefix in line
    )
    # Other keys keep working.
    assert call(service.base_url, "GET", "/health", None, None).status_code == 200
    ok = call(service.base_url, "GET", "/v1/memories?user_id=u", None, f"Bearer {service.api_key}")
    assert ok.status_code == 200


@pytest.mark.parametrize(("method", "path"), WRITES)
def test_read_only_key_cannot_write(
    readonly: Api, api: Api, uid: str, method: str, path: str
) -> None:
    body = next(b for m, p, b in OPERATIONS if (m, p) == (method, path))
    assert body is not None
    body = {**body, "user_id": uid}
    problem(readonly.http.request(method, path, json=body), 403, "read-only")


def test_read_only_key_reads_but_changes_nothing(readonly: Api, api: Api, uid: str) -> None:
    api.sync_add(uid, "I live in Bergen.")
    procedure = api.post(
        "/v1/procedures", {"user_id": uid, "trigger": "t", "steps": ["s"], "success": "ok"}
    ).json()
    items = api.items(user_id=uid)
    job = api.post("/v1/consolidate", {"user_id": uid}).json()["job"]
    # Reads work with the read-only key.
    assert readonly.items(user_id=uid) == items
    for item in items:
        assert readonly.get(f"/v1/memories/{item['id']}", user_id=uid).json() == item
    assert readonly.search("Bergen", user_id=uid)
    assert readonly.query("Bergen", user_id=uid)["portrait"] == {"User": {"lives_in": "Bergen"}}
    assert readonly.post("/v1/procedures/recall", {"user_id": uid, "task": "t"}).status_code == 200
    assert readonly.post("/v1/resources/recall", {"user_id": uid, "query": "t"}).status_code == 200
    assert readonly.post("/v1/compress", {"user_id": uid}).status_code == 200
    assert readonly.get(f"/v1/jobs/{job['id']}").status_code == 200
    # Writes are refused and change nothing.
    problem(readonly.delete("/v1/memories", {"user_id": uid}), 403)
    for item in items:
        problem(readonly.delete(f"/v1/memories/{item['id']}", {"user_id": uid}), 403)
    problem(
        readonly.post(
            f"/v1/procedures/{procedure['id']}/outcome", {"user_id": uid, "success": True}
        ),
        403,
    )
    problem(readonly.add(uid, "I live in Oslo.", mode="sync"), 403)
    assert api.items(user_id=uid) == items
    recalled = api.post("/v1/procedures/recall", {"user_id": uid, "task": "t"}).json()["results"]
    assert recalled[0]["procedure"]["uses"] == 0


# -- rate limiting ----------------------------------------------------------------------


@pytest.fixture(scope="module")
def limited(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServiceHandle]:
    data_dir: Path = tmp_path_factory.mktemp("limited")
    with run_service(data_dir, env={"TESSERA_RATE_LIMIT_PER_MINUTE": "3"}) as handle:
        yield handle
        assert_clean_log(handle.logs())


def test_rate_limit_is_429_with_retry_after_and_ratelimit_headers(limited: ServiceHandle) -> None:
    auth = f"Bearer {limited.api_key}"
    remaining = []
    for _ in range(3):
        response = call(limited.base_url, "GET", "/v1/memories?user_id=u", None, auth)
        assert response.status_code == 200
        assert response.headers["ratelimit-limit"] == "3"
        assert int(response.headers["ratelimit-reset"]) >= 0
        remaining.append(int(response.headers["ratelimit-remaining"]))
    assert remaining == [2, 1, 0]
    refused = call(limited.base_url, "POST", "/v1/search", {"user_id": "u", "query": "x"}, auth)
    body = problem(refused, 429, "retry")
    assert "rate-limited" in body["type"]
    assert int(refused.headers["retry-after"]) >= 1
    assert refused.headers["ratelimit-limit"] == "3"
    assert refused.headers["ratelimit-remaining"] == "0"
    assert int(refused.headers["ratelimit-reset"]) >= 1
    # Still refused, and refused writes store nothing.
    again = call(
        limited.base_url,
        "POST",
        "/v1/memories",
        {"user_id": "u", "content": "x", "role": "user"},
        auth,
    )
    problem(again, 429)
    # Liveness is never limited; other keys have their own budget.
    for _ in range(5):
        assert call(limited.base_url, "GET", "/health", None, None).status_code == 200
    other = f"Bearer {limited.create_key('someone-else')}"
    assert call(limited.base_url, "GET", "/v1/memories?user_id=u", None, other).status_code == 200
    assert "tsk_live_" not in refused.text
