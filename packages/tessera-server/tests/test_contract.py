"""The wire contract: our committed `openapi.json` against the code and against 0.1.4.

Two guarantees:

* **No drift.** The committed `openapi.json` at the repository root is exactly what the app
  generates today (the SDK models are generated from it, so a stale file ships a stale SDK).
* **Wire compatibility.** Structurally, our document offers everything the published
  reference contract (`tessera-openapi-0.1.4.json`) does: the same operations, parameters,
  request bodies (field names, types, required, defaults, enums, additionalProperties) and
  response status codes and bodies. `$ref`s are resolved and the reference's module-path
  schema names are mapped onto our clean ones. Prose (descriptions, titles, summaries, tags)
  is ignored. Every remaining difference must be listed in `ALLOWED_DIFFERENCES` with a
  one-line reason; anything else fails and is printed as a list.

Self-contained: no fixtures from conftest.py.
"""

from __future__ import annotations

import fnmatch
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

REPO_ROOT = Path(__file__).resolve().parents[3]
COMMITTED = REPO_ROOT / "openapi.json"
REGENERATE = "python -m tessera_server openapi --output openapi.json"


def _find_reference() -> Path | None:
    candidates = [
        os.environ.get("TESSERA_REFERENCE_OPENAPI", ""),
        str(REPO_ROOT / "contracts" / "tessera-openapi-0.1.4.json"),
        str(REPO_ROOT.parent / "shared" / "reference" / "tessera-openapi-0.1.4.json"),
        "/work/shared/reference/tessera-openapi-0.1.4.json",
    ]
    for candidate in candidates:
        if candidate and Path(candidate).is_file():
            return Path(candidate)
    return None


REFERENCE = _find_reference()

HTTP_METHODS = ("get", "put", "post", "delete", "patch", "options", "head", "trace")

# Schema names the reference derived from Python module paths or FastAPI internals, mapped
# onto the clean names our document uses. Module-path names (`a__b__C`) map to their last part.
SCHEMA_RENAMES = {
    "Page_MemoryItem_": "MemoryPage",
    "Body_resources-remember_resource_file": "ResourceUpload",
    "_ScopedBody": "ScopedRequest",
}

# Keys that are prose or presentation only; they never change what goes over the wire.
PROSE_KEYS = {"description", "title", "examples", "example", "summary", "deprecated"}

# Keys compared verbatim between the two schemas (after $ref resolution).
COMPARED_KEYWORDS = (
    "const",
    "format",
    "contentMediaType",
    "contentEncoding",
    "minimum",
    "maximum",
    "exclusiveMinimum",
    "exclusiveMaximum",
    "multipleOf",
    "minLength",
    "maxLength",
    "pattern",
    "minItems",
    "maxItems",
    "uniqueItems",
    "minProperties",
    "maxProperties",
)

# ---------------------------------------------------------------------------------------
# The allow-list: documented, deliberate differences. Keys are fnmatch patterns over the
# difference strings printed by the comparison; values are the one-line reason. Keep it
# short and exact: every entry must still match something (see the stale-entry test).
# ---------------------------------------------------------------------------------------
ALLOWED_DIFFERENCES: dict[str, str] = {
    "GET /v1/memories/turns/{turn_id} :: operation only in ours": (
        "Reads a raw turn back whole: the way from a search hit on one part of a long turn "
        "to the whole turn; additive."
    ),
    "GET /health :: operation only in ours": (
        "SPEC §2: liveness probe the published client already calls (`Tessera.health()`)."
    ),
    "POST /v1/memories :: response 413 :: only in ours": (
        "Declares the oversized-body 413 the service returns (SPEC §2 Errors); additive."
    ),
    "POST /v1/memories:batch :: response 413 :: only in ours": (
        "Declares the oversized-body 413 the service returns (SPEC §2 Errors); additive."
    ),
    "POST /v1/memories:batch :: request body 'application/json'.messages[[]items] :: field 'event_time' only in ours": (
        "Optional per-message event_time, so an imported history keeps its own times; a "
        "request without it is unchanged. Additive."
    ),
    "GET /ready :: response 200 'application/json' :: *": (
        "The reference declares an untyped 200 body ({}) yet returns and its client parses "
        "HealthStatus; we declare that schema. Same bytes on the wire."
    ),
    "POST /v1/memories :: request body 'application/json'.metadata :: 'nullable' only in ours*": (
        "Request side only: an explicit null metadata is also accepted; more lenient input."
    ),
    "POST /v1/memories:batch :: request body 'application/json'.metadata :: 'nullable' only in ours*": (
        "Request side only: an explicit null metadata is also accepted; more lenient input."
    ),
    "* :: response 415 :: only in ours": (
        "Declares the 415 every operation with a body returns for a body in another media "
        "type (the errors page's `unsupported-media-type`); additive."
    ),
    "* :: response * :: content type 'application/problem+json' only in ours": (
        "Error bodies are served as application/problem+json (RFC 9457); the JSON schema "
        "entry the reference declares is still there, so generated clients are unaffected."
    ),
}


# ---------------------------------------------------------------------------------------
# Normalisation
# ---------------------------------------------------------------------------------------


def clean_name(name: str) -> str:
    """The clean schema name a reference component name corresponds to."""
    if name in SCHEMA_RENAMES:
        return SCHEMA_RENAMES[name]
    if "__" in name:
        return name.rsplit("__", 1)[-1]
    return name


def _ref_name(ref: str) -> str:
    prefix = "#/components/schemas/"
    if not ref.startswith(prefix):
        raise AssertionError(f"unsupported $ref {ref!r}")
    return ref[len(prefix) :]


class Normalizer:
    """Turns a schema into a canonical, prose-free structure with $refs resolved."""

    def __init__(self, document: dict[str, Any], *, rename: bool) -> None:
        self.schemas: dict[str, Any] = document.get("components", {}).get("schemas", {})
        self.rename = rename

    def name(self, raw: str) -> str:
        return clean_name(raw) if self.rename else raw

    def shape(self, schema: Any, stack: tuple[str, ...] = ()) -> dict[str, Any]:
        if not isinstance(schema, dict):
            return {"literal": schema}
        if "$ref" in schema:
            raw = _ref_name(schema["$ref"])
            name = self.name(raw)
            if raw in stack:
                return {"recursive_ref": name}
            target = self.schemas.get(raw)
            if target is None:
                return {"dangling_ref": raw}
            resolved = self.shape(target, (*stack, raw))
            resolved["schema_name"] = name
            # Siblings of $ref (OpenAPI 3.1 allows them) still count.
            rest = {k: v for k, v in schema.items() if k != "$ref"}
            if rest:
                resolved.update({k: v for k, v in self.shape(rest, stack).items() if k != "type"})
            return resolved

        out: dict[str, Any] = {}
        variants = None
        for combiner in ("anyOf", "oneOf"):
            if combiner in schema:
                variants = [self.shape(v, stack) for v in schema[combiner]]
                non_null = [v for v in variants if v.get("type") != ("null",)]
                if len(non_null) < len(variants):
                    out["nullable"] = True
                if len(non_null) == 1:
                    out.update(non_null[0])
                elif non_null:
                    out[combiner] = non_null
        if "allOf" in schema:
            parts = [self.shape(v, stack) for v in schema["allOf"]]
            if len(parts) == 1:
                out.update(parts[0])
            else:
                out["allOf"] = parts

        if "type" in schema:
            types = schema["type"] if isinstance(schema["type"], list) else [schema["type"]]
            if "null" in types and len(types) > 1:
                out["nullable"] = True
                types = [t for t in types if t != "null"]
            out["type"] = tuple(sorted(types))
        if "enum" in schema:
            out["enum"] = tuple(sorted(map(json.dumps, schema["enum"])))
        if "default" in schema:
            out["default"] = json.dumps(schema["default"], sort_keys=True)
        for key in COMPARED_KEYWORDS:
            if key in schema:
                out[key] = json.dumps(schema[key], sort_keys=True)
        if "properties" in schema:
            out["properties"] = {k: self.shape(v, stack) for k, v in schema["properties"].items()}
            out["required"] = tuple(sorted(schema.get("required", [])))
        elif "required" in schema:
            out["required"] = tuple(sorted(schema["required"]))
        if "additionalProperties" in schema:
            extra = schema["additionalProperties"]
            out["additionalProperties"] = (
                extra if isinstance(extra, bool) else self.shape(extra, stack)
            )
        if "items" in schema:
            out["items"] = self.shape(schema["items"], stack)
        if "prefixItems" in schema:
            out["prefixItems"] = [self.shape(v, stack) for v in schema["prefixItems"]]
        if "discriminator" in schema:
            out["discriminator"] = json.dumps(schema["discriminator"], sort_keys=True)
        return out


def _fmt(value: Any) -> str:
    if isinstance(value, tuple):
        return "[" + ", ".join(str(v) for v in value) + "]"
    if isinstance(value, dict):
        return json.dumps(value, sort_keys=True, default=str)
    return str(value)


def diff_shapes(ref: dict[str, Any], ours: dict[str, Any], where: str) -> list[str]:
    """Every structural difference between two normalised schemas."""
    out: list[str] = []
    keys = sorted(set(ref) | set(ours))
    for key in keys:
        a, b = ref.get(key), ours.get(key)
        if key == "properties":
            a = a or {}
            b = b or {}
            for name in sorted(set(a) | set(b)):
                if name not in b:
                    out.append(f"{where} :: field '{name}' missing in ours")
                elif name not in a:
                    out.append(f"{where} :: field '{name}' only in ours")
                else:
                    out.extend(diff_shapes(a[name], b[name], f"{where}.{name}"))
        elif (
            key in ("items", "additionalProperties") and isinstance(a, dict) and isinstance(b, dict)
        ):
            out.extend(diff_shapes(a, b, f"{where}[{key}]"))
        elif key in ("anyOf", "oneOf", "allOf", "prefixItems") and a and b and len(a) == len(b):
            for i, (x, y) in enumerate(zip(a, b, strict=True)):
                out.extend(diff_shapes(x, y, f"{where}<{key}{i}>"))
        elif key == "required":
            ra, rb = set(a or ()), set(b or ())
            for name in sorted(ra - rb):
                out.append(f"{where} :: field '{name}' required in reference, optional in ours")
            for name in sorted(rb - ra):
                out.append(f"{where} :: field '{name}' optional in reference, required in ours")
        elif a != b:
            if a is None:
                out.append(f"{where} :: '{key}' only in ours ({_fmt(b)})")
            elif b is None:
                out.append(f"{where} :: '{key}' missing in ours (reference: {_fmt(a)})")
            else:
                out.append(f"{where} :: '{key}' differs: reference {_fmt(a)}, ours {_fmt(b)}")
    return out


def _operations(document: dict[str, Any]) -> dict[tuple[str, str], dict[str, Any]]:
    ops: dict[tuple[str, str], dict[str, Any]] = {}
    for path, item in document.get("paths", {}).items():
        shared_params = item.get("parameters", [])
        for method, op in item.items():
            if method in HTTP_METHODS:
                op = dict(op)
                op["parameters"] = [*shared_params, *op.get("parameters", [])]
                ops[(path, method.upper())] = op
    return ops


def _param_shape(norm: Normalizer, param: dict[str, Any]) -> dict[str, Any]:
    shape = norm.shape(param.get("schema", {}))
    shape["param_required"] = bool(param.get("required", False))
    return shape


def compare_documents(reference: dict[str, Any], ours: dict[str, Any]) -> list[str]:
    """Every structural difference between the reference contract and our document."""
    ref_norm = Normalizer(reference, rename=True)
    our_norm = Normalizer(ours, rename=True)
    ref_ops, our_ops = _operations(reference), _operations(ours)
    diffs: list[str] = []

    def op_label(key: tuple[str, str]) -> str:
        return f"{key[1]} {key[0]}"

    for key in sorted(set(ref_ops) - set(our_ops)):
        diffs.append(f"{op_label(key)} :: operation missing in ours")
    for key in sorted(set(our_ops) - set(ref_ops)):
        diffs.append(f"{op_label(key)} :: operation only in ours")

    for key in sorted(set(ref_ops) & set(our_ops)):
        label = op_label(key)
        r_op, o_op = ref_ops[key], our_ops[key]

        if r_op.get("operationId") != o_op.get("operationId"):
            diffs.append(
                f"{label} :: operationId differs: reference {r_op.get('operationId')}, "
                f"ours {o_op.get('operationId')}"
            )
        if r_op.get("security") != o_op.get("security"):
            diffs.append(
                f"{label} :: security differs: reference {r_op.get('security')}, "
                f"ours {o_op.get('security')}"
            )

        # Parameters: name, in, required, schema.
        r_params = {(p["in"], p["name"]): p for p in r_op["parameters"]}
        o_params = {(p["in"], p["name"]): p for p in o_op["parameters"]}
        for loc, name in sorted(set(r_params) - set(o_params)):
            diffs.append(f"{label} :: parameter {loc}:{name} missing in ours")
        for loc, name in sorted(set(o_params) - set(r_params)):
            required = o_params[(loc, name)].get("required", False)
            diffs.append(
                f"{label} :: parameter {loc}:{name} only in ours"
                + (" (required)" if required else "")
            )
        for pkey in sorted(set(r_params) & set(o_params)):
            diffs.extend(
                diff_shapes(
                    _param_shape(ref_norm, r_params[pkey]),
                    _param_shape(our_norm, o_params[pkey]),
                    f"{label} :: parameter {pkey[0]}:{pkey[1]}",
                )
            )

        # Request body.
        r_body, o_body = r_op.get("requestBody"), o_op.get("requestBody")
        if (r_body is None) != (o_body is None):
            side = "missing in ours" if o_body is None else "only in ours"
            diffs.append(f"{label} :: request body {side}")
        elif r_body is not None and o_body is not None:
            if bool(r_body.get("required")) != bool(o_body.get("required")):
                diffs.append(
                    f"{label} :: request body required differs: reference "
                    f"{bool(r_body.get('required'))}, ours {bool(o_body.get('required'))}"
                )
            diffs.extend(
                _diff_content(
                    ref_norm,
                    our_norm,
                    r_body.get("content", {}),
                    o_body.get("content", {}),
                    f"{label} :: request body",
                )
            )

        # Responses.
        r_resp, o_resp = r_op.get("responses", {}), o_op.get("responses", {})
        for code in sorted(set(r_resp) - set(o_resp)):
            diffs.append(f"{label} :: response {code} :: missing in ours")
        for code in sorted(set(o_resp) - set(r_resp)):
            diffs.append(f"{label} :: response {code} :: only in ours")
        for code in sorted(set(r_resp) & set(o_resp)):
            diffs.extend(
                _diff_content(
                    ref_norm,
                    our_norm,
                    r_resp[code].get("content", {}),
                    o_resp[code].get("content", {}),
                    f"{label} :: response {code}",
                )
            )
    return diffs


def _diff_content(
    ref_norm: Normalizer,
    our_norm: Normalizer,
    r_content: dict[str, Any],
    o_content: dict[str, Any],
    where: str,
) -> list[str]:
    diffs: list[str] = []
    for media in sorted(set(r_content) - set(o_content)):
        diffs.append(f"{where} :: content type '{media}' missing in ours")
    for media in sorted(set(o_content) - set(r_content)):
        diffs.append(f"{where} :: content type '{media}' only in ours")
    for media in sorted(set(r_content) & set(o_content)):
        r_schema = r_content[media].get("schema")
        o_schema = o_content[media].get("schema")
        if (r_schema is None) != (o_schema is None):
            side = "missing in ours" if o_schema is None else "only in ours"
            diffs.append(f"{where} '{media}' :: schema {side}")
        elif r_schema is not None:
            diffs.extend(
                diff_shapes(
                    ref_norm.shape(r_schema), our_norm.shape(o_schema), f"{where} '{media}'"
                )
            )
    return diffs


def allowed_reason(difference: str) -> str | None:
    for pattern, reason in ALLOWED_DIFFERENCES.items():
        if fnmatch.fnmatchcase(difference, pattern):
            return reason
    return None


# ---------------------------------------------------------------------------------------
# Tests
# ---------------------------------------------------------------------------------------


def _generate() -> str:
    """The document exactly as the regenerate command writes it."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("TESSERA_")}
    proc = subprocess.run(
        [sys.executable, "-m", "tessera_server", "openapi", "--output", "-"],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, f"`tessera openapi` failed:\n{proc.stderr}"
    return proc.stdout


@pytest.fixture(scope="module")
def generated_text() -> str:
    return _generate()


@pytest.fixture(scope="module")
def ours() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(COMMITTED.read_text(encoding="utf-8"))
    return data


@pytest.fixture(scope="module")
def reference() -> dict[str, Any]:
    if REFERENCE is None:
        pytest.skip(
            "reference contract tessera-openapi-0.1.4.json not found "
            "(set TESSERA_REFERENCE_OPENAPI to its path)"
        )
    data: dict[str, Any] = json.loads(REFERENCE.read_text(encoding="utf-8"))
    return data


def test_committed_openapi_matches_the_code(generated_text: str) -> None:
    committed = COMMITTED.read_text(encoding="utf-8") if COMMITTED.exists() else ""
    if generated_text != committed:
        import difflib

        delta = "".join(
            list(
                difflib.unified_diff(
                    committed.splitlines(keepends=True),
                    generated_text.splitlines(keepends=True),
                    "openapi.json (committed)",
                    "openapi.json (generated from the code)",
                    n=2,
                )
            )[:80]
        )
        pytest.fail(
            "openapi.json is out of date with the code. Regenerate it from the repository "
            f"root with:\n\n    {REGENERATE}\n\n(and regenerate the SDK models from it). "
            f"First lines of the difference:\n{delta}",
            pytrace=False,
        )


def test_component_names_carry_no_module_paths(ours: dict[str, Any]) -> None:
    names = sorted(ours.get("components", {}).get("schemas", {}))
    bad = [n for n in names if "__" in n or n.startswith("_") or n.startswith("Body_")]
    assert not bad, f"schema names leak module paths or framework names: {bad}"
    # Every reference name has a clean counterpart in ours.
    if REFERENCE is not None:
        ref_names = json.loads(REFERENCE.read_text(encoding="utf-8"))["components"]["schemas"]
        missing = sorted({clean_name(n) for n in ref_names} - set(names))
        assert not missing, f"reference schemas with no clean counterpart in ours: {missing}"


def test_every_ref_resolves(ours: dict[str, Any]) -> None:
    schemas = ours.get("components", {}).get("schemas", {})
    dangling: list[str] = []

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            ref = node.get("$ref")
            if isinstance(ref, str) and _ref_name(ref) not in schemas:
                dangling.append(ref)
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(ours)
    assert not dangling, f"dangling $refs: {sorted(set(dangling))}"


def test_wire_compatible_with_reference(reference: dict[str, Any], ours: dict[str, Any]) -> None:
    differences = compare_documents(reference, ours)
    unexpected = [d for d in differences if allowed_reason(d) is None]
    by_reason: dict[str, list[str]] = {}
    for d in differences:
        reason = allowed_reason(d)
        if reason is not None:
            by_reason.setdefault(reason, []).append(d)
    lines = [f"{len(differences)} difference(s) from the 0.1.4 reference contract."]
    if unexpected:
        lines.append(f"NOT ALLOWED ({len(unexpected)}):")
        lines.extend(f"  - {d}" for d in unexpected)
    for reason, diffs in by_reason.items():
        lines.append(f"allowed ({len(diffs)}): {reason}")
        lines.extend(f"    {d}" for d in diffs)
    print("\n".join(lines))
    assert not unexpected, (
        f"{len(unexpected)} undocumented difference(s) from the 0.1.4 reference contract. "
        "Fix the service (then regenerate openapi.json), or, for a deliberate additive "
        "change, add it to ALLOWED_DIFFERENCES in tests/test_contract.py with its reason:\n"
        + "\n".join(f"  - {d}" for d in unexpected)
    )


def test_allow_list_has_no_stale_entries(reference: dict[str, Any], ours: dict[str, Any]) -> None:
    differences = compare_documents(reference, ours)
    stale = [
        pattern
        for pattern in ALLOWED_DIFFERENCES
        if not any(fnmatch.fnmatchcase(d, pattern) for d in differences)
    ]
    assert not stale, f"allow-list entries that no longer match any difference: {stale}"


def test_comparison_detects_breaking_changes(reference: dict[str, Any]) -> None:
    """The comparator itself: a mutated copy of the reference must show the mutations."""
    mutated = json.loads(json.dumps(reference))
    schemas = mutated["components"]["schemas"]
    schemas["AddMemoryRequest"]["properties"]["mode"]["default"] = "sync"
    schemas["AddMemoryRequest"]["properties"].pop("infer")
    schemas["SearchResult"]["properties"]["extra"] = {"type": "string"}
    schemas["SearchResult"]["required"].append("extra")
    mutated["paths"]["/v1/memories"]["post"]["responses"].pop("201")
    mutated["paths"]["/v1/memories"]["get"]["parameters"][0]["required"] = True
    differences = compare_documents(reference, mutated)
    expected = [
        "POST /v1/memories :: request body 'application/json'.mode :: 'default' differs",
        "POST /v1/memories :: request body 'application/json' :: field 'infer' missing in ours",
        "POST /v1/search :: response 200 'application/json'.results[items] :: "
        "field 'extra' only in ours",
        "POST /v1/search :: response 200 'application/json'.results[items] :: "
        "field 'extra' optional in reference, required in ours",
        "POST /v1/memories :: response 201 :: missing in ours",
        "GET /v1/memories :: parameter query:user_id :: 'param_required' differs",
    ]
    for needle in expected:
        assert any(d.startswith(needle) for d in differences), (needle, differences)
    assert compare_documents(reference, reference) == []
