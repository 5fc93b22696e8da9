"""Routes, their declared policy, the contract and the SDK agree, operation by operation.

- Every `operationId` of the committed `openapi.json` is served by exactly one route and
  called by exactly one SDK method, with the same HTTP method and path.
- Every `operationId` follows one rule, `<tag>-<function>`, applied by the app.
- Each route declares its policy at most once, where it is declared; the default (a write,
  a JSON body, the ordinary size limit) is what an undeclared route gets, so a new endpoint
  is never looser than intended.
"""

from __future__ import annotations

import inspect
import json
import re
from collections import Counter
from pathlib import Path
from typing import Any

from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute
from tessera_server.api.deps import principal, single_query_values
from tessera_server.api.policy import DEFAULT, Policy, declared, policies
from tessera_server.app import ROUTERS

ROOT = Path(__file__).resolve().parents[3]
MARK = "PATHPARAM"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32


def template(path: str) -> str:
    """`/v1/memories/{item_id}` and `/v1/memories/{turn_id:path}` alike become `…/{}`."""
    return re.sub(r"\{[^}]*\}", "{}", path)


def contract() -> dict[tuple[str, str], str]:
    spec = json.loads((ROOT / "openapi.json").read_text(encoding="utf-8"))
    return {
        (method.upper(), template(path)): op["operationId"]
        for path, ops in spec["paths"].items()
        for method, op in ops.items()
    }


def api_routes() -> list[APIRoute]:
    return [r for module in ROUTERS for r in module.router.routes if isinstance(r, APIRoute)]


def _dummy(annotation: Any, tmp: Path) -> Any:
    text = str(annotation)
    if "PathLike" in text:
        image = tmp / "a.png"
        image.write_bytes(PNG)
        return image
    if text == "bool":
        return True
    if text == "Role":
        return "user"
    if "Message" in text:
        return [{"role": "user", "content": "x"}]
    if "Sequence" in text:
        return ["x"]
    return "x"


def sdk_calls(tmp: Path) -> list[tuple[str, str, str]]:
    """(method, path template, SDK name) of every SDK method, from the operations they build
    (building an operation does no I/O). A method reachable under two names is one method."""
    from tessera_memory import resources
    from tessera_memory._client import Surface
    from tessera_memory._resource import _Descriptor

    classes = [Surface, *(getattr(resources, name) for name in resources.__all__)]
    out = []
    seen: set[int] = set()
    for cls in classes:
        for name, member in vars(cls).items():
            if not isinstance(member, _Descriptor):
                continue
            build = member._build
            if id(build) in seen:
                continue  # an alias (`client.search.search`) of a method already counted
            seen.add(id(build))
            args, kwargs = [], {}
            for param in inspect.signature(build).parameters.values():
                if param.default is not inspect.Parameter.empty:
                    continue
                if param.kind is inspect.Parameter.KEYWORD_ONLY:
                    kwargs[param.name] = _dummy(param.annotation, tmp)
                else:
                    args.append(MARK)
            op = build(*args, **kwargs)
            out.append((op.method, op.path.replace(MARK, "{}"), f"{cls.__name__}.{name}"))
    return out


# Operations the service serves that the SDK does not call yet. Each entry must still be
# missing from the SDK (the test fails when one is added, so the entry is removed with it).
NOT_YET_IN_SDK: dict[str, str] = {}


def test_every_operation_has_one_route_and_one_sdk_method(tmp_path: Path) -> None:
    ops = contract()
    assert len(ops) > 20
    routes = Counter(
        (method, template(route.path)) for route in api_routes() for method in route.methods
    )
    calls = sdk_calls(tmp_path)
    by_call = Counter((method, path) for method, path, _ in calls)
    problems = []
    for key, operation_id in sorted(ops.items()):
        if routes[key] != 1:
            problems.append(f"{operation_id} {key}: {routes[key]} routes")
        expected = 0 if operation_id in NOT_YET_IN_SDK else 1
        if by_call[key] != expected:
            problems.append(f"{operation_id} {key}: {by_call[key]} SDK methods")
    for key in routes:
        if key not in ops:
            problems.append(f"route {key} is not in openapi.json (regenerate it)")
    for method, path, name in calls:
        if (method, path) not in ops:
            problems.append(f"SDK {name} calls {method} {path}, which the contract lacks")
    stale = set(NOT_YET_IN_SDK) - set(ops.values())
    problems += [f"NOT_YET_IN_SDK names {name}, which the contract lacks" for name in stale]
    assert not problems, "\n".join(problems)


def test_operation_ids_are_derived_by_one_rule() -> None:
    """Every `operationId` is `<tag>-<function>` (the route's last tag and its function's
    name), derived by the app, not spelled on each route, so none can disagree with it."""
    ops = contract()
    for route in api_routes():
        assert route.operation_id is None, f"{route.path}: leave the operationId to the rule"
        for method in route.methods:
            assert ops[(method, template(route.path))] == f"{route.tags[-1]}-{route.name}"


def test_each_route_declares_its_policy_at_most_once() -> None:
    for route in api_routes():
        assert len(policies(route)) <= 1, route.path


def test_policy_is_declared_not_matched_on_paths() -> None:
    """The routes that relax the default are exactly the reads and the upload, and every
    POST that a read-only key may call says so on its own declaration."""
    relaxed = {
        (sorted(route.methods)[0], route.path): declared(route)
        for route in api_routes()
        if declared(route) != DEFAULT
    }
    assert relaxed == {
        ("POST", "/v1/search"): Policy(reads_only=True),
        ("POST", "/v1/query"): Policy(reads_only=True),
        ("POST", "/v1/procedures/recall"): Policy(reads_only=True),
        ("POST", "/v1/resources/recall"): Policy(reads_only=True),
        ("POST", "/v1/compress"): Policy(reads_only=True),
        ("POST", "/v1/resources/file"): Policy(body="multipart", upload=True),
    }
    # The route that takes a multipart body is the one the contract describes as such.
    spec = json.loads((ROOT / "openapi.json").read_text(encoding="utf-8"))
    multipart = {
        (method.upper(), path)
        for path, ops in spec["paths"].items()
        for method, op in ops.items()
        if "multipart/form-data" in op.get("requestBody", {}).get("content", {})
    }
    assert multipart == {
        (sorted(r.methods)[0], r.path) for r in api_routes() if declared(r).body == "multipart"
    }


def _runs_on_the_event_loop(call: Any) -> bool:
    return inspect.iscoroutinefunction(call) or inspect.iscoroutinefunction(
        getattr(call, "__call__", None)  # noqa: B004 (a dependency may be a callable instance)
    )


def _blocking_dependencies(dependant: Dependant) -> set[Any]:
    found: set[Any] = set()
    for sub in dependant.dependencies:
        if sub.call is not None and not _runs_on_the_event_loop(sub.call):
            found.add(sub.call)
        found |= _blocking_dependencies(sub)
    return found


def test_only_dependencies_that_may_block_leave_the_event_loop() -> None:
    """FastAPI runs a plain `def` dependency in the thread pool, a hand-off per dependency
    per request. Only the key lookup (a database read) may block; everything else a request
    depends on (the policy marker, the engine, the scope, the query check) is `async`."""
    blocking: set[Any] = set()
    for route in api_routes():
        blocking |= _blocking_dependencies(route.dependant)
    assert blocking == {principal}
    assert _runs_on_the_event_loop(single_query_values)  # the app's own, on every route
