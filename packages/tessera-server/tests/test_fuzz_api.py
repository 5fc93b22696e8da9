"""Property-based fuzzing of our own `openapi.json` with schemathesis, against a real service.

A fresh `tessera serve` (its own SQLite file, loopback port, a generous rate limit) is fuzzed
through every operation of the committed contract, two ways:

* **stateless** (`test_every_operation`): per operation, schemathesis' examples, coverage
  (boundary and type-mutation cases, deterministic) and fuzzing phases, with both positive
  (schema-valid) and negative (schema-violating) data;
* **stateful** (`test_stateful_links`): random sequences that follow the `links` our contract
  declares (add a turn -> forget it / poll its job, list -> get / pin / correct / forget an
  item, remember a procedure -> record its outcome, consolidate -> poll the job), plus the
  links schemathesis infers on its own (`test_contract_links_resolve` checks the declared
  links statically);

and afterwards the service log must show no crash and no key.

Every response must pass:

* no 5xx (`not_a_server_error`);
* the status is one the operation documents, or 401 without a valid key, or 405 for a method
  the path does not have, with an `Allow` header naming exactly the path's documented methods
  (`documented_status`, replacing schemathesis' `status_code_conformance`, which does not know
  that a security scheme implies 401);
* every error is an RFC 9457 problem: `application/problem+json`, `type`/`title`/`status`/
  `detail`/`instance`, `status` equal to the HTTP status, `instance` the `X-Request-Id`
  (`rfc9457_problem`);
* the body and content type conform to the schema (`response_schema_conformance`,
  `content_type_conformance`); negative data is rejected with a 4xx (`negative_data_rejection`);
  auth is enforced (`ignored_auth`); and the other built-in checks.

`positive_data_acceptance` is off: the contract is the published client's wire format and
deliberately does not carry the service's semantic limits (a scope of `user_id` or `session_id`
is required, content may not be empty, `top_k` is at most 100, ...), so a schema-valid body
can rightly be a 422. Those limits have their own tests (`test_server_hostile.py`). To still
reach the deep code paths, positive cases that name no scope get one of two fixed `user_id`s,
so writes and reads meet in the same scopes; stateful steps with positive data all run in one
scope, so a link's target is found; and each stateful scenario starts from that scope holding
a corrected fact as its newest item (random text seldom states a fact, so `list -> correct`
would otherwise never have a target). Generated `Authorization` headers are off: every request
carries the fixture's key, and schemathesis' `ignored_auth` check still probes each operation
without a key and with a wrong one.

Bounded profile (CI, the default): `TESSERA_FUZZ_EXAMPLES=50` fuzzing-phase examples per
operation (the coverage phase adds its own fixed set) and `TESSERA_FUZZ_STATEFUL=40` stateful
scenarios of up to 12 calls; under a minute on a busy 2-core machine. Long profile, on demand,
from the repository root (no per-test timeout):

    TESSERA_FUZZ_EXAMPLES=1000 TESSERA_FUZZ_STATEFUL=500 \\
        python -m pytest packages/tessera-server/tests/test_fuzz_api.py -s --timeout 0

`-s` prints, per operation, how many responses of each status the fuzzer got, and the seed;
`TESSERA_FUZZ_SEED=<seed>` replays the stateless part of a run (a stateful failure prints
its own `@reproduce_failure` blob).
"""

from __future__ import annotations

import itertools
import json
import os
import zlib
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

schemathesis = pytest.importorskip("schemathesis")

import hypothesis  # noqa: E402
from schemathesis import Case, CheckContext, GenerationMode, Response  # noqa: E402
from server_helpers import KNOWN_KEYS, assert_clean_log  # noqa: E402
from tessera_server.testing import ServiceHandle, run_service  # noqa: E402

# Fuzzing a live service takes minutes: left out of the fast lane (it runs in CI).
pytestmark = pytest.mark.slow

REPO_ROOT = Path(__file__).resolve().parents[3]
CONTRACT = REPO_ROOT / "openapi.json"

EXAMPLES = int(os.environ.get("TESSERA_FUZZ_EXAMPLES", "50"))
STATEFUL_SCENARIOS = int(os.environ.get("TESSERA_FUZZ_STATEFUL", "40"))
SEED = os.environ.get("TESSERA_FUZZ_SEED")
FUZZ_USERS = ("fuzz-alice", "fuzz-bob")
FLOW_USER = "fuzz-flow"
PROBLEM_FIELDS = ("type", "title", "status", "detail", "instance")

CONFIG = f"""
{f"seed = {int(SEED)}" if SEED else ""}
[generation]
mode = "all"
max-examples = {EXAMPLES}
database = "none"
# The fixture's key is sent on every request; schemathesis does not make up Authorization
# headers (auth enforcement is still probed by the `ignored_auth` check).
with-security-parameters = false

[checks]
# See the module docstring: the contract does not carry the service's semantic limits.
positive_data_acceptance.enabled = false
# Replaced by `documented_status` below (a security scheme implies 401).
status_code_conformance.enabled = false
"""

schema = schemathesis.openapi.from_path(CONTRACT, config=schemathesis.Config.from_str(CONFIG))

# What the fuzzer got: (phase, operation, status) -> count; printed at the end.
TALLY: Counter[tuple[str, str, str]] = Counter()

# The running service, set by the fixture: the schema is built at import time, the service
# only when the first test runs.
_SERVICE: dict[str, str] = {}


@pytest.fixture(scope="module")
def fuzz_service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServiceHandle]:
    with run_service(tmp_path_factory.mktemp("fuzz")) as handle:
        KNOWN_KEYS.add(handle.api_key)
        _SERVICE.update(base_url=handle.base_url, api_key=handle.api_key)
        try:
            yield handle
        finally:
            _SERVICE.clear()
            print_tally()
        # Whatever the fuzzer sent, the service never crashed and never logged a key.
        assert_clean_log(handle.logs())


def _auth_headers() -> dict[str, str]:
    return {"Authorization": f"Bearer {_SERVICE['api_key']}"}


# -- checks ------------------------------------------------------------------------------


def _header(response: Response, name: str) -> str | None:
    for key, values in response.headers.items():
        if key.lower() == name and values:
            return values[0]
    return None


def rfc9457_problem(ctx: CheckContext, response: Response, case: Case) -> bool | None:
    """Every error is an RFC 9457 problem whose status is the response's own."""
    if response.status_code < 400:
        return None
    where = f"{case.method} {case.formatted_path} -> {response.status_code}"
    ctype = _header(response, "content-type") or ""
    assert ctype.startswith("application/problem+json"), f"{where}: content type {ctype!r}"
    body = json.loads(response.content)
    assert isinstance(body, dict), f"{where}: problem body is not an object"
    missing = [f for f in PROBLEM_FIELDS if f not in body]
    assert not missing, f"{where}: problem lacks {missing}: {body}"
    assert body["status"] == response.status_code, f"{where}: problem status {body['status']}"
    assert isinstance(body["type"], str) and body["type"], f"{where}: empty type"
    assert isinstance(body["title"], str) and body["title"], f"{where}: empty title"
    assert isinstance(body["detail"], str) and body["detail"], f"{where}: empty detail"
    request_id = _header(response, "x-request-id")
    assert request_id and body["instance"] == request_id, f"{where}: instance != X-Request-Id"
    lowered = body["detail"].lower()
    for leak in ("traceback", "sqlite3", "operationalerror", "integrityerror", 'file "/'):
        assert leak not in lowered, f"{where}: detail leaks internals: {body['detail']!r}"
    return True


def _sent_valid_key(response: Response) -> bool:
    sent = response.request.headers.get("Authorization") or ""
    return bool(_SERVICE) and sent == f"Bearer {_SERVICE['api_key']}"


def documented_status(ctx: CheckContext, response: Response, case: Case) -> bool | None:
    """The status is documented for the operation, or implied by its security or its path."""
    status = response.status_code
    declared = {int(code) for code in case.operation.responses.status_codes if code.isdigit()}
    if status in declared:
        return True
    where = f"{case.method} {case.formatted_path}"
    if status == 401:
        secured = case.operation.definition.raw.get("security", schema.raw_schema.get("security"))
        assert secured, f"{where}: 401 from an operation that needs no key"
        assert not _sent_valid_key(response), f"{where}: 401 although a valid key was sent"
        return True
    if status == 405:
        item = schema.raw_schema["paths"].get(case.operation.path, {})
        offered = {m for m in item if m in ("get", "put", "post", "delete", "patch")}
        assert case.method.lower() not in offered, f"{where}: 405 for a documented method"
        allow = {m.strip().lower() for m in (_header(response, "allow") or "").split(",")}
        assert allow - {""} == offered, f"{where}: Allow {sorted(allow)} != {sorted(offered)}"
        return True
    raise AssertionError(f"{where}: undocumented status {status} (documented {sorted(declared)})")


def tally(ctx: CheckContext, response: Response, case: Case) -> bool | None:
    phase = case.meta.phase.name.value if case.meta is not None else "-"
    TALLY[(phase, case.operation.label, str(response.status_code))] += 1
    return None


def print_tally() -> None:
    """Per operation, how many responses of each status (shown with `-s` or `-rP`)."""
    for stateful in (False, True):
        by_op: dict[str, Counter[str]] = {}
        for (phase, label, status), count in TALLY.items():
            if (phase == "stateful") == stateful:
                by_op.setdefault(label, Counter())[status] += count
        total = sum(sum(c.values()) for c in by_op.values())
        kind = "stateful" if stateful else "stateless"
        print(f"\nfuzz ({kind}): {total} responses over {len(by_op)} operations")
        if not stateful:
            print(
                f"  (seed {schema.config.seed}; TESSERA_FUZZ_SEED=<seed> replays the stateless part)"
            )
        for label in sorted(by_op):
            statuses = ", ".join(f"{s}x{n}" for s, n in sorted(by_op[label].items()))
            print(f"  {label:45} {statuses}")


EXTRA_CHECKS = [rfc9457_problem, documented_status, tally]


# -- reaching deep paths -----------------------------------------------------------------


def _pick_user(case: Case) -> str:
    return FUZZ_USERS[zlib.crc32(case.id.encode()) % len(FUZZ_USERS)]


def _is_positive(case: Case) -> bool:
    return case.meta is not None and case.meta.generation.mode is GenerationMode.POSITIVE


def give_scope(case: Case) -> None:
    """A positive case that names no scope gets one of the fixed fuzz users."""
    if not _is_positive(case):
        return
    if case.operation.get_parameter("user_id", "query") is not None and case.query is not None:
        if not (case.query.get("user_id") or case.query.get("session_id")):
            case.query["user_id"] = _pick_user(case)
    # Every JSON or form body of the contract is scoped (`user_id`, `session_id`).
    elif isinstance(case.body, dict) and not (
        case.body.get("user_id") or case.body.get("session_id")
    ):
        case.body["user_id"] = _pick_user(case)


def pin_scope(case: Case) -> None:
    """Stateful steps with positive data all work in one scope, so linked calls meet."""
    if not _is_positive(case):
        return
    if case.operation.get_parameter("user_id", "query") is not None and case.query is not None:
        case.query["user_id"] = FLOW_USER
        case.query.pop("session_id", None)
    elif isinstance(case.body, dict):
        case.body["user_id"] = FLOW_USER
        case.body.pop("session_id", None)


_TOWNS = itertools.count(1)


def seed_flow_scope() -> None:
    """Give the stateful scope a fact as its newest item, so `list -> correct` has a target.

    Random content seldom states a fact; a consolidated "I live in ..." does, and correcting
    it makes the successor fact the newest item (what the list links point at).
    """
    with httpx.Client(base_url=_SERVICE["base_url"], headers=_auth_headers()) as http:
        city = f"Town{next(_TOWNS)}"
        body = {
            "user_id": FLOW_USER,
            "role": "user",
            "content": f"I live in {city}.",
            "mode": "sync",
        }
        assert http.post("/v1/memories", json=body).status_code == 200
        items = http.get("/v1/memories", params={"user_id": FLOW_USER, "limit": 200}).json()
        facts = [i["id"] for i in items["items"] if i["type"] == "fact"]
        if facts:
            fixed = {"user_id": FLOW_USER, "object": f"{city}ville"}
            assert http.patch(f"/v1/memories/{facts[0]}", json=fixed).status_code in (200, 409)


# -- the tests ---------------------------------------------------------------------------


@schema.parametrize()
@hypothesis.settings(
    deadline=None,
    suppress_health_check=list(hypothesis.HealthCheck),
    print_blob=True,
)
def test_every_operation(case: Case, fuzz_service: ServiceHandle) -> None:
    give_scope(case)
    case.call_and_validate(
        base_url=fuzz_service.base_url,
        headers=_auth_headers(),
        additional_checks=EXTRA_CHECKS,
        timeout=60,
    )


def test_stateful_links(fuzz_service: ServiceHandle) -> None:
    Machine: Any = schema.as_state_machine()

    class Workflow(Machine):  # type: ignore[misc, valid-type]
        def setup(self) -> None:
            seed_flow_scope()

        def before_call(self, case: Case) -> None:
            pin_scope(case)

        def get_call_kwargs(self, case: Case) -> dict[str, Any]:
            return {"base_url": _SERVICE["base_url"], "headers": _auth_headers(), "timeout": 60}

        def validate_response(
            self, response: Response, case: Case, additional_checks: Any = None, **kwargs: Any
        ) -> None:
            super().validate_response(response, case, additional_checks=EXTRA_CHECKS, **kwargs)

    Workflow.run(
        settings=hypothesis.settings(
            max_examples=STATEFUL_SCENARIOS,
            stateful_step_count=12,
            deadline=None,
            suppress_health_check=list(hypothesis.HealthCheck),
            database=None,
            print_blob=True,
        )
    )


def test_contract_links_resolve() -> None:
    """Every link of the contract names an operation and parameters that exist, and the
    workflows the stateful test is for are linked."""
    # The file, not `schema.raw_schema`: schemathesis adds the links it infers to the latter.
    contract = json.loads(CONTRACT.read_text(encoding="utf-8"))
    operations: dict[str, dict[str, Any]] = {}
    for item in contract["paths"].values():
        for op in item.values():
            if isinstance(op, dict) and "operationId" in op:
                operations[op["operationId"]] = op
    found: set[tuple[str, str]] = set()
    for source_id, op in operations.items():
        for status, response in op["responses"].items():
            for name, link in response.get("links", {}).items():
                where = f"{source_id} {status} {name}"
                target = operations.get(link["operationId"])
                assert target is not None, f"{where}: no operation {link['operationId']}"
                params = {(p["in"], p["name"]) for p in target.get("parameters", [])}
                for key in link.get("parameters", {}):
                    location, _, param = key.partition(".")
                    assert (location, param) in params, f"{where}: {key} is not a parameter"
                assert not link.get("requestBody") or "requestBody" in target, where
                found.add((source_id, link["operationId"]))
    for workflow in [
        ("memories-add_memory", "memories-forget_turn"),
        ("memories-add_memory", "jobs-get_job"),
        ("memories-list_memories", "memories-get_memory"),
        ("memories-list_memories", "memories-forget_memory"),
        ("procedural-remember_procedure", "procedural-record_outcome"),
        ("maintenance-consolidate", "jobs-get_job"),
    ]:
        assert workflow in found, f"no link {workflow}"
    schema.as_state_machine()  # schemathesis accepts every link
