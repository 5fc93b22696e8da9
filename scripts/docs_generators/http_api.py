"""The HTTP reference: every operation and schema of the committed `openapi.json`."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from typing import Any

from .common import OPENAPI, _cell

# --------------------------------------------------------------------------------------
# HTTP reference (from openapi.json)


def _schema_anchor(name: str) -> str:
    return f"schema-{name.lower()}"


def _op_anchor(operation_id: str) -> str:
    return "op-" + re.sub(r"[^a-z0-9]+", "-", operation_id.lower()).strip("-")


def _ref_name(ref: str) -> str:
    return ref.rsplit("/", 1)[-1]


def _json_type(schema: Mapping[str, Any], link: Callable[[str], str]) -> str:
    """A short human reading of a JSON Schema type, with links to named schemas."""
    if "$ref" in schema:
        return link(_ref_name(schema["$ref"]))
    if "anyOf" in schema:
        parts = [s for s in schema["anyOf"] if s.get("type") != "null"]
        nullable = len(parts) < len(schema["anyOf"])
        text = " or ".join(_json_type(p, link) for p in parts) or "null"
        return f"{text} or null" if nullable and parts else text
    if "enum" in schema:
        return " \\| ".join(f'`"{v}"`' if isinstance(v, str) else f"`{v}`" for v in schema["enum"])
    if "const" in schema:
        return f"`{json.dumps(schema['const'])}`"
    kind = schema.get("type")
    if kind == "array":
        return f"array of {_json_type(schema.get('items', {}), link)}"
    if kind == "object" or (kind is None and "additionalProperties" in schema):
        extra = schema.get("additionalProperties")
        if isinstance(extra, dict) and extra:
            return f"object of {_json_type(extra, link)}"
        return "object"
    if kind is None:
        return "any"
    if isinstance(kind, list):
        return " or ".join(str(k) for k in kind)
    if "format" in schema:
        return f"{kind} ({schema['format']})"
    if kind == "string" and "contentMediaType" in schema:
        return "file (binary)"
    return str(kind)


def _schema_link(name: str) -> str:
    return f"[`{name}`](#{_schema_anchor(name)})"


def _default(schema: Mapping[str, Any]) -> str:
    return f"`{json.dumps(schema['default'])}`" if "default" in schema else ""


def _fields_table(schema: Mapping[str, Any]) -> list[str]:
    props: Mapping[str, Any] = schema.get("properties", {})
    if not props:
        return []
    required = set(schema.get("required", []))
    rows = ["| Field | Type | Required | Default | Description |", "|---|---|---|---|---|"]
    for name, prop in props.items():
        rows.append(
            f"| `{name}` | {_json_type(prop, _schema_link)} | {'yes' if name in required else ''} "
            f"| {_default(prop)} | {_cell(prop.get('description', ''))} |"
        )
    return rows


def http_reference(spec: Mapping[str, Any] | None = None) -> str:
    """Every operation (grouped by tag, in document order) and every schema."""
    if spec is None:
        spec = json.loads(OPENAPI.read_text(encoding="utf-8"))
    paths: Mapping[str, Mapping[str, Any]] = spec["paths"]
    groups: dict[str, list[tuple[str, str, Mapping[str, Any]]]] = {}
    for path, ops in paths.items():
        for method, op in ops.items():
            tag = (op.get("tags") or ["other"])[0]
            groups.setdefault(tag, []).append((method.upper(), path, op))

    schemas: Mapping[str, Mapping[str, Any]] = spec.get("components", {}).get("schemas", {})
    lines: list[str] = []
    info = spec.get("info", {})
    lines += [
        f"Generated from `openapi.json` (OpenAPI {spec.get('openapi', '?')}, API version "
        f"{info.get('version', '?')}) when this site was built.",
        "",
        "| Operation | Method and path |",
        "|---|---|",
    ]
    for ops_of_tag in groups.values():
        for method, path, op in ops_of_tag:
            anchor = _op_anchor(op.get("operationId", f"{method}-{path}"))
            lines.append(f"| [{op.get('summary', path)}](#{anchor}) | `{method} {path}` |")

    for tag, ops_of_tag in groups.items():
        lines += ["", f"## {tag.capitalize()}"]
        for method, path, op in ops_of_tag:
            anchor = _op_anchor(op.get("operationId", f"{method}-{path}"))
            lines += ["", f"### {op.get('summary', path)} {{#{anchor}}}", ""]
            lines += [f"`{method} {path}`", ""]
            if op.get("description"):
                lines += [" ".join(op["description"].split()), ""]
            auth = "Bearer API key" if op.get("security") else "none"
            lines += [f"**Authentication:** {auth}", ""]
            params = op.get("parameters", [])
            if params:
                lines += [
                    "**Parameters**",
                    "",
                    "| Name | In | Type | Required | Default | Description |",
                    "|---|---|---|---|---|---|",
                ]
                for p in params:
                    schema = p.get("schema", {})
                    desc = p.get("description") or schema.get("description", "")
                    lines.append(
                        f"| `{p['name']}` | {p['in']} | {_json_type(schema, _schema_link)} | "
                        f"{'yes' if p.get('required') else ''} | {_default(schema)} | "
                        f"{_cell(desc)} |"
                    )
                lines.append("")
            body = op.get("requestBody")
            if body:
                for media, content in body.get("content", {}).items():
                    schema = content.get("schema", {})
                    lines += [
                        f"**Request body** (`{media}`): {_json_type(schema, _schema_link)}",
                        "",
                    ]
                    if "$ref" in schema:
                        table = _fields_table(schemas[_ref_name(schema["$ref"])])
                        lines += [*table, ""] if table else []
            lines += ["**Responses**", "", "| Status | Body | Meaning |", "|---|---|---|"]
            for status, response in op.get("responses", {}).items():
                bodies = []
                for media, content in response.get("content", {}).items():
                    if content.get("schema"):
                        bodies.append(f"{_json_type(content['schema'], _schema_link)} (`{media}`)")
                meaning = response.get("description", "")
                if status.startswith(("4", "5")) and status != "503":
                    meaning = f"{meaning}; see [Errors](../errors.md)"
                lines.append(f"| {status} | {', '.join(bodies) or '-'} | {_cell(meaning)} |")

    lines += ["", "## Schemas"]
    for name in sorted(schemas):
        schema = schemas[name]
        lines += ["", f"### {name} {{#{_schema_anchor(name)}}}", ""]
        if schema.get("description"):
            lines += [" ".join(schema["description"].split()), ""]
        table = _fields_table(schema)
        if table:
            lines += table
            if schema.get("additionalProperties") is False:
                lines += ["", "Other fields are refused (422)."]
        else:
            lines.append(f"Type: {_json_type(schema, _schema_link)}")
    return "\n".join(lines)
