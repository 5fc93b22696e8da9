"""The rules behind the second red-team round, each stated for its whole class of input.

- A body nested past the limit, anywhere, on any JSON route, is 422 `invalid-input`, and no
  request ever puts a traceback in the log.
- A write that meets another process's lock on the SQLite file is 503 `unavailable` with
  `Retry-After`, like PostgreSQL's conflicts; reads go on.
- A request with more than one `Authorization` value is refused, whichever key comes first.
- Job ids say nothing about other tenants' jobs (both backends).
- Only the routes SECURITY.md names answer without a key.
"""

from __future__ import annotations

import itertools
import json
import re
import sqlite3
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest
from server_helpers import Api, problem
from starlette.routing import Mount
from tessera_server.testing import ServiceHandle

ROOT = Path(__file__).resolve().parents[3]
EP = "ep_00000000-0000-4000-8000-000000000000"
SCREEN = 40  # lines: a traceback longer than this is not readable in a terminal


def operations(api: Api) -> list[tuple[str, str, dict[str, Any]]]:
    """(method, path, operation) of every operation in the live contract."""
    spec = api.get("/openapi.json").json()
    return [
        (method.upper(), path, op)
        for path, ops in spec["paths"].items()
        for method, op in ops.items()
    ]


def json_body_fields(api: Api) -> list[tuple[str, str, list[str]]]:
    """(method, path, top-level fields) of every operation that takes a JSON body."""
    spec = api.get("/openapi.json").json()
    schemas = spec["components"]["schemas"]
    out = []
    for method, path, op in operations(api):
        content = op.get("requestBody", {}).get("content", {})
        if "application/json" not in content:
            continue
        ref = content["application/json"]["schema"]["$ref"].rsplit("/", 1)[-1]
        out.append((method, path, list(schemas[ref]["properties"])))
    return out


def concrete(path: str) -> str:
    return path.replace("{item_id}", EP).replace("{job_id}", "job_1").replace("{turn_id}", "t1")


def nested(depth: int) -> str:
    """JSON text of objects and arrays nested `depth` levels (as text: encoding such a value
    with json.dumps would itself overflow)."""
    opens = "".join('{"k": ' if level % 2 else "[" for level in range(depth))
    closes = "".join("}" if level % 2 else "]" for level in reversed(range(depth)))
    return opens + '"leaf"' + closes


def deep_json(depth: int) -> str:
    """A JSON text nested `depth` levels, built as text (json.dumps itself would overflow)."""
    return "[" * depth + "]" * depth


def new_log(service: ServiceHandle, start: int) -> str:
    return service.logs()[start:]


# -- 1. deep bodies --------------------------------------------------------------------------


@pytest.mark.parametrize("depth", [33, 320, 975, 3000])  # the limit is 32
def test_a_body_nested_past_the_limit_is_422_in_every_field_of_every_route(
    api: Api, service: ServiceHandle, uid: str, depth: int
) -> None:
    start = len(service.logs())
    value = nested(depth)
    for method, path, fields in json_body_fields(api):
        for field in fields:
            body = f'{{"user_id": "{uid}", "{field}": {value}}}'
            response = api.raw(method, concrete(path), body.encode(), "application/json")
            problem(response, 422, "nested")
            assert response.json()["type"].endswith("#invalid-input")
    assert api.items(user_id=uid) == []
    log = new_log(service, start)
    assert "Traceback" not in log
    assert all(len(line) < 500 for line in log.splitlines())


@pytest.mark.parametrize("depth", [975, 5000, 100_000])
def test_json_too_deep_to_parse_is_422_without_a_traceback(
    api: Api, service: ServiceHandle, uid: str, depth: int
) -> None:
    start = len(service.logs())
    text = f'{{"user_id": "{uid}", "content": "x", "role": "user", "metadata": {{"a": '
    text += deep_json(depth) + "}}"
    for path in ("/v1/memories", "/v1/search", "/v1/procedures"):
        problem(api.raw("POST", path, text.encode(), "application/json"), 422)
    log = new_log(service, start)
    assert "Traceback" not in log
    assert len(log.splitlines()) <= 6  # the access-log lines, nothing more


def test_a_crash_is_logged_in_one_line_whatever_its_stack(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The 500 path: whatever fails, the log gets one line naming the class and the last
    frames, never the message (it may quote stored text) and never a thousand frames."""
    from tessera_server.api.middleware import log_crash

    def down(n: int) -> int:
        return down(n + 1) + 1

    try:
        down(0)
    except RecursionError as exc:
        crash: BaseException = exc
    try:
        raise ValueError("secret turn text that must not be logged")
    except ValueError as exc:
        quoted: BaseException = exc
    with caplog.at_level("ERROR", logger="tessera.api"):
        for exc in (crash, quoted):
            log_crash(exc, {"method": "POST", "path": "/v1/memories"}, "req_x")
    lines = caplog.text.splitlines()
    assert len(lines) == 2
    assert "RecursionError" in lines[0] and "ValueError" in lines[1]
    assert "secret turn text" not in caplog.text
    assert all(len(line) < 800 for line in lines)


# -- 2. a lock held by another process -------------------------------------------------------


def _db_path(service: ServiceHandle) -> Path:
    return Path(service.env["TESSERA_DATABASE_URL"].removeprefix("sqlite:///"))


def test_writes_blocked_by_another_process_answer_503_with_retry_after(
    api: Api, service: ServiceHandle, uid: str
) -> None:
    writes = [
        ("POST", "/v1/memories", {"user_id": uid, "content": "locked out", "role": "user"}),
        (
            "POST",
            "/v1/memories",
            {"user_id": uid, "content": "locked out", "role": "user", "mode": "sync"},
        ),
        (
            "POST",
            "/v1/memories:batch",
            {"user_id": uid, "messages": [{"role": "user", "content": "b"}]},
        ),
        (
            "POST",
            "/v1/procedures",
            {"user_id": uid, "trigger": "t", "steps": ["s"], "success": "ok"},
        ),
        ("DELETE", "/v1/memories", {"user_id": uid}),
    ]
    holder = sqlite3.connect(_db_path(service), isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")  # another process holds the write lock
    try:
        with httpx.Client(base_url=service.base_url, timeout=120) as raw:
            headers = {"Authorization": f"Bearer {service.api_key}"}

            def send(call: tuple[str, str, dict[str, Any]]) -> httpx.Response:
                method, path, body = call
                return raw.request(method, path, json=body, headers=headers)

            with ThreadPoolExecutor(len(writes)) as pool:
                answers = list(pool.map(send, writes))
            # Reads are not held up by a writer (WAL).
            read = raw.get("/v1/memories", params={"user_id": uid}, headers=headers)
            assert read.status_code == 200
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    for (method, path, _), response in zip(writes, answers, strict=True):
        assert response.status_code == 503, f"{method} {path}: {response.text}"
        assert response.headers["content-type"].startswith("application/problem+json")
        assert response.json()["type"].endswith("#unavailable")
        assert int(response.headers["retry-after"]) >= 1
    assert api.items(user_id=uid) == []  # nothing half-written
    api.note(uid, "after the lock is gone")  # and the same write now succeeds
    assert len(api.items(user_id=uid)) == 1


# -- 4. repeated Authorization ---------------------------------------------------------------


def _request(method: str, path: str, op: dict[str, Any], uid: str) -> dict[str, Any]:
    content = op.get("requestBody", {}).get("content", {})
    if "multipart/form-data" in content:
        return {
            "files": {"file": ("a.png", b"\x89PNG\r\n\x1a\n", "image/png")},
            "data": {"blob_ref": "b", "user_id": uid},
        }
    if "application/json" in content:
        return {"json": {"user_id": uid}}
    return {"params": {"user_id": uid}} if method == "GET" else {}


def test_more_than_one_authorization_value_is_401_on_every_route(
    api: Api, service: ServiceHandle, other_key: str, uid: str
) -> None:
    mine, theirs = service.api_key, other_key
    variants = [
        [("Authorization", f"Bearer {mine}"), ("Authorization", f"Bearer {theirs}")],
        [("Authorization", f"Bearer {theirs}"), ("Authorization", f"Bearer {mine}")],
        [("Authorization", f"Bearer {mine}"), ("Authorization", f"Bearer {mine}")],
        [("Authorization", f"Bearer {mine}, Bearer {theirs}")],
        [("Authorization", f"Bearer {mine}"), ("authorization", "Bearer nothing")],
    ]
    checked = 0
    with httpx.Client(base_url=service.base_url, timeout=60) as raw:
        for method, path, op in operations(api):
            if path in ("/health", "/ready"):
                continue
            for headers in variants:
                response = raw.request(
                    method, concrete(path), headers=headers, **_request(method, path, op, uid)
                )
                assert response.status_code == 401, f"{method} {path}: {response.text}"
                body = response.json()
                assert body["type"].endswith("#unauthorized")
                assert mine not in response.text and theirs not in response.text
                checked += 1
    assert checked >= 5 * 20
    assert api.items(user_id=uid) == []


# -- 5. job ids ------------------------------------------------------------------------------


JOB_ID = re.compile(r"^job_[1-9][0-9]{0,18}$")


def test_job_ids_say_nothing_about_other_tenants_jobs(either: ServiceHandle, uid: str) -> None:
    mine = Api(either.base_url, either.api_key)
    theirs = Api(either.base_url, either.create_key("neighbour"), secrets=[either.api_key])
    try:

        def enqueue(client: Api, user: str) -> str:
            response = client.post("/v1/consolidate", {"user_id": user})
            assert response.status_code == 202, response.text
            job: str = response.json()["job"]["id"]
            assert JOB_ID.match(job), job
            return job

        numbers = []
        for round_ in range(3):
            numbers.append(int(enqueue(mine, f"{uid}-{round_}").removeprefix("job_")))
            for n in range(5):  # the neighbour queues five jobs in between
                job = enqueue(theirs, f"{uid}-n{round_}-{n}")
                problem(mine.get(f"/v1/jobs/{job}"), 404)
        gaps = [b - a for a, b in itertools.pairwise(numbers)]
        # A sequence would show the neighbour's five jobs as a gap of six.
        assert not any(0 < abs(gap) <= 10**6 for gap in gaps), gaps
        for n in numbers:
            assert mine.get(f"/v1/jobs/job_{n}").status_code == 200
    finally:
        mine.close()
        theirs.close()


# -- 7. what answers without a key -----------------------------------------------------------


def documented_public_paths() -> set[str]:
    text = (ROOT / "SECURITY.md").read_text(encoding="utf-8")
    row = next(line for line in text.splitlines() if line.startswith("| A caller without"))
    reach = row.split("|")[2]
    return set(re.findall(r"`(/[^`]*)`", reach))


def test_only_the_routes_security_md_names_answer_without_a_key(
    anonymous: Api, api: Api, uid: str
) -> None:
    from tessera_server.app import ROUTERS, create_app

    public = documented_public_paths()
    assert {"/health", "/ready"} <= public
    # Every route the app serves: its own (the contract, its page, any mount) and the API's.
    served = [r for r in create_app().routes if hasattr(r, "path")]
    served += [r for module in ROUTERS for r in module.router.routes]
    # A mounted application (the console) is walked route by route, under its prefix.
    mounted = [
        (route.path, sub)
        for route in served
        if isinstance(route, Mount)
        for sub in getattr(route.app, "routes", [])
    ]
    served = [r for r in served if not isinstance(r, Mount)]
    routes = [
        (method, route.path)
        for route in served
        for method in sorted(getattr(route, "methods", None) or ["GET"])
        if method != "HEAD"
    ] + [
        (method, prefix + sub.path)
        for prefix, sub in mounted
        for method in sorted(getattr(sub, "methods", None) or ["GET"])
        if method != "HEAD"
    ]
    assert len(routes) > 20
    ops = {(m, p): op for m, p, op in operations(api)}
    for method, path in routes:
        kwargs = _request(method, path, ops.get((method, path), {}), uid)
        # A plain client: console pages answer with redirects and HTML, not problems.
        response = httpx.request(
            method, anonymous.http.base_url.join(concrete(path)), timeout=60, **kwargs
        )
        where = f"{method} {path}: {response.status_code}"
        if path in public:
            # Answered without a key (an empty sign-in form is 422, a directory redirects).
            assert response.status_code not in (401, 403), where
        elif (method, path) in ops:
            assert response.status_code == 401, where
        else:  # a console page: never served, the browser is sent to sign in
            assert not response.is_success, where
            if response.is_redirect:
                assert response.headers["location"].endswith("/login"), where
    paths = {path for _, path in routes}
    assert public <= paths, f"SECURITY.md names routes that do not exist: {public - paths}"


def test_deep_json_check_is_iterative() -> None:
    """The check itself never recurses, so no depth of input can overflow it."""
    from tessera_server.api.schemas import body_fault

    assert body_fault(json.loads(deep_json(900))) is not None
    value: Any = "x"
    for _ in range(200_000):
        value = [value]
    assert body_fault(value) is not None
    assert body_fault({"a": [{"b": "ok"}]}) is None
    assert body_fault({"a": "\ud800"}) is not None
