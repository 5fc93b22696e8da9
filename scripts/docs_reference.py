"""Generated parts of the documentation site, built from the code at `mkdocs build` time.

Each function returns Markdown that `scripts/docs_hooks.py` puts in place of a marker line
`<!-- generated: NAME -->` in a page, so these parts of the site cannot drift from what they
describe:

* `service-settings`: every `TESSERA_*` setting, from `tessera_server.config.Settings`;
* `cli-reference`: `tessera --help` and every subcommand's help, from the CLI's parser;
* `rerank-features`: the local reranker's features and their weights, from its source;
* `http-reference`: every operation and schema of the committed `openapi.json`;
* `python-reference`: the SDK's public surface, from its signatures and docstrings;
* `benchmark-results`: the latest `bench/results/*.md` tables and their plots.

Run `python scripts/docs_reference.py NAME` to print one of them.
"""

from __future__ import annotations

import argparse
import ast
import dataclasses
import enum
import inspect
import json
import os
import re
import sys
import textwrap
import types
import typing
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
OPENAPI = ROOT / "openapi.json"
BENCH_RESULTS = ROOT / "bench" / "results"
SOURCES = (
    ROOT / "packages" / "tessera-memory" / "src",
    ROOT / "packages" / "tessera-server" / "src",
)
HTTP_PAGE = "http.md"  # relative to the Python reference page (both live in docs/reference/)


def use_repository_sources() -> None:
    """Import the SDK and the service from this checkout, installed or not."""
    for src in reversed(SOURCES):
        if str(src) not in sys.path:
            sys.path.insert(0, str(src))


def _cell(text: str) -> str:
    """Text safe inside one Markdown table cell."""
    return " ".join(text.split()).replace("|", "\\|")


# --------------------------------------------------------------------------------------
# Service settings


def service_settings() -> str:
    """One table row per field of `Settings`: variable, type, default, meaning."""
    use_repository_sources()
    from tessera_server.config import Settings

    rows = [
        "| Variable | Type | Default | Meaning |",
        "|---|---|---|---|",
    ]
    for name, field in Settings.model_fields.items():
        if field.default_factory is not None:
            default = "a file in the user data directory (see below)"
        elif field.default in ("", None):
            default = "(empty)"
        elif isinstance(field.default, bool):
            default = f"`{str(field.default).lower()}`"
        else:
            default = f"`{field.default}`"
        kind = getattr(field.annotation, "__name__", str(field.annotation))
        bounds = [
            f"{label} {getattr(meta, attr)}"
            for meta in field.metadata
            for attr, label in (("ge", "≥"), ("gt", ">"), ("le", "≤"), ("lt", "<"))
            if getattr(meta, attr, None) is not None
        ]
        if bounds:
            kind = f"{kind}, {', '.join(bounds)}"
        env = f"TESSERA_{name.upper()}"
        rows.append(
            f'| <a id="{env.lower().replace("_", "-")}"></a>`{env}` | {kind} | {default} '
            f"| {_cell(field.description or '')} |"
        )
    return "\n".join(rows)


# --------------------------------------------------------------------------------------
# CLI


def cli_reference() -> str:
    """`tessera --help` and the help of every subcommand, as console blocks."""
    use_repository_sources()
    from tessera_server.cli import parser

    out: list[str] = []

    def visit(p: argparse.ArgumentParser, words: list[str]) -> None:
        p.prog = " ".join(["tessera", *words])
        text = p.format_help().rstrip()
        out.append(f"```text\n$ {p.prog} --help\n{text}\n```")
        for action in p._actions:
            if isinstance(action, argparse._SubParsersAction):
                for name, sub in action.choices.items():
                    visit(sub, [*words, name])

    # A fixed width and no colour keep the output the same on every machine and terminal.
    fixed = {"COLUMNS": "100", "NO_COLOR": "1"}
    saved = {name: os.environ.get(name) for name in fixed}
    os.environ.update(fixed)
    try:
        visit(parser(), [])
    finally:
        for name, value in saved.items():
            if value is None:
                del os.environ[name]
            else:
                os.environ[name] = value
    return "\n\n".join(out)


# --------------------------------------------------------------------------------------
# The local reranker's features (read from its source, so nothing heavy is imported)

RERANKER = ROOT / "packages/tessera-server/src/tessera_server/providers/reranker/local.py"
RERANK_FEATURES = {
    "w_cosine": ("cosine similarity of the item to the query", "meaning"),
    "w_part": (
        "the best cosine similarity of any one of an episode's turns (a fact's own otherwise)",
        "one relevant line inside a longer episode",
    ),
    "w_coverage": (
        "the query's content words (lightly stemmed) found in the item, each weighted by how "
        "rare it is among the candidates",
        "saying what was asked about",
    ),
    "w_fused": ("the item's rank after fusion", "agreement between the arms"),
    "w_date": (
        "a date named in the query falls in the item's month",
        '"what did I do in May 2023?"',
    ),
    "w_day": (
        "a full date named in the query is the day the item was said",
        '"what did we discuss on 7 July 2023?"',
    ),
    "w_pin": ("the item is pinned", "what you pinned"),
    "w_long": (
        "a penalty: how far past 80 words the item runs (log of its length over 80); none when "
        'the question asks what the assistant said ("what did you recommend?")',
        "saying it in fewer words; long texts match query words by chance",
    ),
    "w_when": (
        'a "when …?" question and an item that names a date or a time ("yesterday [7 May '
        '2023]", "last week")',
        "answers that say when",
    ),
    "w_speaker": (
        "the query names whoever said the item's best-matching line",
        '"what did Caroline decide?" answered by Caroline\'s own lines',
    ),
}


def reranker_weights(source: Path = RERANKER) -> dict[str, float]:
    """The default weights of `LocalReranker.__init__`, read from its source."""
    tree = ast.parse(source.read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        if isinstance(node, ast.ClassDef) and node.name == "LocalReranker":
            for item in node.body:
                if isinstance(item, ast.FunctionDef) and item.name == "__init__":
                    args = item.args.args[-len(item.args.defaults) :]
                    return {
                        a.arg: float(ast.literal_eval(d))
                        for a, d in zip(args, item.args.defaults, strict=True)
                    }
    raise LookupError(f"no LocalReranker.__init__ in {source}")


def rerank_features() -> str:
    """One row per feature of the local reranker, with its weight; unknown features fail."""
    weights = {k: v for k, v in reranker_weights().items() if k.startswith("w_")}
    unknown = sorted(set(weights) - set(RERANK_FEATURES))
    if unknown:
        raise LookupError(f"describe the reranker features {unknown} in RERANK_FEATURES")
    rows = ["| Feature | Weight | What it rewards |", "|---|---|---|"]
    for name, weight in sorted(weights.items(), key=lambda item: -item[1]):
        feature, rewards = RERANK_FEATURES[name]
        rows.append(f"| {feature} | {weight:g} | {rewards} |")
    return "\n".join(rows)


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


# --------------------------------------------------------------------------------------
# Python SDK reference (from signatures and docstrings)


_ROLE = re.compile(r":(?:class|func|meth|data|attr|exc|mod):`~?([^`]+)`")


def _markdown_doc(doc: str | None, known: Mapping[str, str] | None = None) -> str:
    """A docstring in Markdown: reST roles become code (linked when known), `::` blocks fence."""
    if not doc:
        return ""
    text = inspect.cleandoc(doc)

    def role(match: re.Match[str]) -> str:
        name = match.group(1).rsplit(".", 1)[-1]
        anchor = (known or {}).get(name)
        return f"[`{name}`](#{anchor})" if anchor else f"`{name}`"

    text = re.sub(r"``([^`]+)``", r"`\1`", text)
    out: list[str] = []
    lines = text.splitlines()
    i = 0
    while i < len(lines):
        line = lines[i]
        if line.rstrip().endswith("::"):
            lead = line.rstrip()[:-2].rstrip()
            if lead:
                out.append(_ROLE.sub(role, lead) + ":")
            i += 1
            block: list[str] = []
            while i < len(lines) and (not lines[i].strip() or lines[i].startswith((" ", "\t"))):
                block.append(lines[i])
                i += 1
            code = inspect.cleandoc("\n".join(block))
            out += ["", "```python", code, "```", ""]
            continue
        out.append(_ROLE.sub(role, line))
        i += 1
    return "\n".join(out).strip()


def _annotation(text: Any) -> str:
    """An annotation as written in the source (`from __future__ import annotations`)."""
    if isinstance(text, str):
        return text
    return _type_name(text)


def _type_name(tp: Any) -> str:
    """A readable name for a runtime type (pydantic field annotations)."""
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    if tp is type(None):
        return "None"
    if origin is typing.Annotated:
        return _type_name(args[0])
    if origin in (typing.Union, types.UnionType):
        return " | ".join(_type_name(a) for a in args)
    if origin is typing.Literal:
        return "Literal[" + ", ".join(repr(a) for a in args) + "]"
    if origin is not None:
        name = getattr(origin, "__name__", str(origin))
        return f"{name}[{', '.join(_type_name(a) for a in args)}]" if args else name
    if isinstance(tp, type):
        return tp.__name__
    return str(tp).replace("typing.", "")


@dataclasses.dataclass(frozen=True)
class _Endpoint:
    name: str
    build: Callable[..., Any]
    paginated: bool


def _endpoints(cls: type) -> Iterator[_Endpoint]:
    from tessera_memory._resource import PageEndpoint, _Descriptor

    for name, value in vars(cls).items():
        if isinstance(value, _Descriptor):
            yield _Endpoint(name, value._build, isinstance(value, PageEndpoint))


_OPERATION = re.compile(r'Operation\(\s*"(\w+)",\s*(?:path\()?\s*"([^"]+)"')


def _http_of(build: Callable[..., Any], spec: Mapping[str, Any]) -> tuple[str, str, str] | None:
    """(method, path, operation anchor) of the request an endpoint builder makes."""
    match = _OPERATION.search(inspect.getsource(build))
    if match is None:
        return None
    method, pattern = match.group(1), match.group(2)
    for path, ops in spec["paths"].items():
        if re.sub(r"\{[^}]+\}", "{}", path) == pattern and method.lower() in ops:
            op = ops[method.lower()]
            return method, path, _op_anchor(op.get("operationId", ""))
    return method, pattern, ""


def _signature(
    prefix: str, build: Callable[..., Any], returns: str | None, *, drop_first: bool = False
) -> str:
    sig = inspect.signature(build)
    params = list(sig.parameters.values())
    if drop_first:
        params = params[1:]
    parts: list[str] = []
    star_done = False
    for p in params:
        if p.name.startswith("_"):
            continue
        if p.kind is inspect.Parameter.KEYWORD_ONLY and not star_done:
            parts.append("*")
            star_done = True
        text = p.name
        if p.annotation is not inspect.Parameter.empty:
            text += f": {_annotation(p.annotation)}"
        if p.default is not inspect.Parameter.empty:
            text += f" = {p.default!r}"
        parts.append(text)
    tail = f" -> {returns}" if returns else ""
    one_line = f"{prefix}({', '.join(parts)}){tail}"
    if len(one_line) <= 88:
        return one_line
    inner = "".join(f"\n    {part}," for part in parts)
    return f"{prefix}({inner}\n){tail}"


def _returns(build: Callable[..., Any], paginated: bool) -> str:
    text = _annotation(inspect.signature(build).return_annotation)
    inner = re.fullmatch(r"Operation\[(.*)\]", text)
    value = inner.group(1) if inner else text
    if paginated:
        item = re.fullmatch(r"PageData\[(.*)\]", value)
        return f"SyncCursorPage[{item.group(1) if item else value}]"
    return value


def python_reference(spec: Mapping[str, Any] | None = None) -> str:
    """Clients, resources and their methods, pages, raw responses, errors, types, models."""
    use_repository_sources()
    import pydantic
    import tessera_memory
    from tessera_memory import _client, _exceptions, pagination
    from tessera_memory.resources import _types

    if spec is None:
        spec = json.loads(OPENAPI.read_text(encoding="utf-8"))
    public = {name: getattr(tessera_memory, name) for name in tessera_memory.__all__}
    models = {
        name: obj
        for name, obj in public.items()
        if isinstance(obj, type) and issubclass(obj, pydantic.BaseModel)
    }
    errors = {
        name: obj
        for name, obj in public.items()
        if isinstance(obj, type) and issubclass(obj, Exception)
    }
    known = {name: name.lower() for name in public}
    known.update({name: f"model-{name.lower()}" for name in models})
    lines: list[str] = [
        f"Generated from the signatures and docstrings of `tessera-memory` "
        f"{tessera_memory.__version__} when this site was built. Everything below is importable "
        "from `tessera_memory`.",
    ]

    # Clients -----------------------------------------------------------------------
    lines += ["", "## Clients"]
    for cls in (tessera_memory.Tessera, tessera_memory.AsyncTessera):
        name = cls.__name__
        lines += ["", f"### {name} {{#{name.lower()}}}", ""]
        lines += ["```python", _signature(name, cls.__init__, None, drop_first=True), "```", ""]
        lines += [_markdown_doc(cls.__doc__, known), ""]
    lines += [
        "Both clients have the same members; on `AsyncTessera` every request method is a "
        "coroutine.",
        "",
        "| Member | What it is |",
        "|---|---|",
    ]
    config = _client._ClientConfig
    for prop in ("api_key", "base_url", "timeout", "max_retries", "default_headers"):
        lines.append(f"| `{prop}` | the client's `{prop}` (read-only) |")
    lines.append(
        f"| `with_options(*, timeout=None, max_retries=None, default_headers=None)` "
        f"| {_cell(_markdown_doc(config.with_options.__doc__, known))} |"
    )
    lines.append(
        f"| `close()` / `await aclose()` "
        f"| {_cell(_markdown_doc(tessera_memory.Tessera.close.__doc__, known))} |"
    )
    lines.append(
        "| `with` / `async with` | the client closes its connection pool when the block ends |"
    )
    surface = _client.Surface
    for ep in _endpoints(surface):
        returns = _returns(ep.build, ep.paginated)
        lines.append(f"| `{ep.name}()` → `{returns}` | {_cell(_markdown_doc(ep.build.__doc__))} |")
    lines.append(
        f"| `with_raw_response` | {_cell(_markdown_doc(surface.with_raw_response.__doc__))} |"
    )

    # Resources ---------------------------------------------------------------------
    lines += [
        "",
        "## Resources",
        "",
        "Methods are shown for `Tessera`; on `AsyncTessera` each is awaited and a list returns "
        "an `AsyncCursorPage`. Every resource also has `.with_raw_response`, with the same "
        "methods returning an [`APIResponse`](#apiresponse).",
    ]
    hints = typing.get_type_hints(surface, include_extras=False)
    for attr in ("memories", "search", "query", "procedures", "resources", "maintenance", "jobs"):
        cls = typing.get_origin(hints[attr]) or hints[attr]
        lines += ["", f"### client.{attr} {{#client-{attr}}}", ""]
        lines += [_markdown_doc(cls.__doc__, known)]
        for ep in _endpoints(cls):
            call = f"client.{attr}" if ep.name == "__call__" else f"client.{attr}.{ep.name}"
            anchor = f"client-{attr}" + ("" if ep.name == "__call__" else f"-{ep.name}")
            heading = f"`{call}()`"
            if ep.name != "__call__":
                lines += ["", f"#### {heading} {{#{anchor}}}"]
            lines += ["", "```python", _signature(call, ep.build, _returns(ep.build, ep.paginated))]
            lines += ["```", ""]
            http = _http_of(ep.build, spec)
            if http is not None:
                method, path, op_anchor = http
                target = f"{HTTP_PAGE}#{op_anchor}" if op_anchor else HTTP_PAGE
                lines += [f"HTTP: [`{method} {path}`]({target})", ""]
            lines += [_markdown_doc(ep.build.__doc__, known)]

    # Pages and raw responses -------------------------------------------------------
    lines += ["", "## Pages and raw responses"]
    lines += ["", f"### SyncCursorPage and AsyncCursorPage {{#{known['SyncCursorPage']}}}", ""]
    lines += [_markdown_doc(pagination.__doc__, known), ""]
    lines += [
        "| Member | Sync | Async |",
        "|---|---|---|",
        "| `items`, `has_more`, `next_cursor` | attributes | attributes |",
    ]
    for member in ("has_next_page", "get_next_page", "iter_pages"):
        sync_doc = _markdown_doc(getattr(pagination.SyncCursorPage, member).__doc__)
        is_async = inspect.iscoroutinefunction(getattr(pagination.AsyncCursorPage, member))
        lines.append(
            f"| `{member}()` | {_cell(sync_doc) or 'the next page'} "
            f"| {'awaited' if is_async else 'same'} |"
        )
    lines.append("| iteration | `for item in page` | `async for item in page` |")
    response_cls = tessera_memory.APIResponse
    lines += ["", f"### APIResponse {{#{known['APIResponse']}}}", ""]
    lines += [_markdown_doc(response_cls.__doc__, known), ""]
    lines += ["| Field | Type |", "|---|---|"]
    for attribute in dataclasses.fields(response_cls):
        lines.append(f"| `{attribute.name}` | `{_cell(_annotation(attribute.type))}` |")

    # Errors ------------------------------------------------------------------------
    tree = textwrap.dedent((_exceptions.__doc__ or "").split("::", 1)[-1]).strip("\n")
    lines += ["", "## Errors", "", "```text", tree]
    lines += ["```", "", "| Exception | Base | Meaning |", "|---|---|---|"]
    for name, error_cls in errors.items():
        base = error_cls.__mro__[1].__name__
        lines.append(
            f'| <a id="{known[name]}"></a>`{name}` | `{base}` '
            f"| {_cell(_markdown_doc(error_cls.__doc__))} |"
        )
    lines += [
        "",
        "`APIStatusError` and its subclasses carry `status_code`, `problem` (a "
        "[`ProblemDetail`](#model-problemdetail) or `None`), `detail` (the problem's "
        "`detail`, or `None`), `request_id` (the `X-Request-Id` of the response), `response` "
        "and `request`. `APIConnectionError` carries `request`. See [Errors and "
        "retries](../guides/errors-and-retries.md).",
    ]

    # Types and constants -----------------------------------------------------------
    lines += ["", "## Argument types", "", "| Name | Definition | Meaning |", "|---|---|---|"]
    alias_docs = _alias_docs(inspect.getsource(_types))
    for name in ("Role", "MemoryType", "Timestamp", "Filter", "Message", "Metadata"):
        value = getattr(_types, name)
        lines.append(
            f"| `{name}` | `{_cell(_type_name(value))}` | {_cell(alias_docs.get(name, ''))} |"
        )
    lines += ["", "## Constants and helpers", "", "| Name | Value |", "|---|---|"]
    for name in ("DEFAULT_BASE_URL", "DEFAULT_TIMEOUT", "DEFAULT_MAX_RETRIES", "__version__"):
        lines.append(f"| `{name}` | `{public[name]!r}` |")
    lines.append(
        "| `new_ulid()` | a new 26-character ULID, as `memories.add` mints for `turn_id` |"
    )

    # Models ------------------------------------------------------------------------
    lines += [
        "",
        "## Models",
        "",
        "Pydantic v2 models generated from `openapi.json` (module `tessera_memory.models`). "
        "They keep fields a newer service adds (`model.model_extra`). Each mirrors the HTTP "
        "schema of the same name.",
    ]
    for name, model in sorted(models.items()):
        lines += ["", f"### {name} {{#{known[name]}}}", ""]
        schema_anchor = _schema_anchor(name)
        lines += [f"HTTP schema: [`{name}`]({HTTP_PAGE}#{schema_anchor})", ""]
        lines += ["| Field | Type | Default |", "|---|---|---|"]
        for field_name, field in model.model_fields.items():
            default = "required" if field.is_required() else f"`{field.default!r}`"
            lines.append(
                f"| `{field_name}` | `{_cell(_type_name(field.annotation))}` | {default} |"
            )
        for field_name, field in model.model_fields.items():
            annotation = field.annotation
            enum_cls = next(
                (
                    a
                    for a in (annotation, *typing.get_args(annotation))
                    if isinstance(a, type) and issubclass(a, enum.Enum)
                ),
                None,
            )
            if enum_cls is not None:
                values = ", ".join(f"`{m.value}`" for m in enum_cls)
                lines += [
                    "",
                    f"`{field_name}` is the enum `{enum_cls.__name__}` ({values}); compare with "
                    f"`.value`.",
                ]
    return "\n".join(lines)


def _alias_docs(source: str) -> dict[str, str]:
    """Docstrings written under module-level type aliases (`Name = ...` then a string)."""
    found: dict[str, str] = {}
    for match in re.finditer(r'^(\w+) = [^\n]+\n"""(.*?)"""', source, re.MULTILINE | re.DOTALL):
        found[match.group(1)] = _markdown_doc(match.group(2))
    return found


# --------------------------------------------------------------------------------------
# Benchmark results


# The site shows Tessera and the raw-turn baselines; rows of any other system a run measured
# (peers run for comparison) stay in bench/results/ and are left out of the site.
BASELINES = ("bm25", "dense", "rrf")
PALETTE = ("#3f51b5", "#009688", "#e65100", "#8e24aa", "#546e7a", "#c62828", "#2e7d32")


def shown_system(name: str) -> bool:
    return name in BASELINES or name.startswith("tessera")


@dataclasses.dataclass(frozen=True)
class Plot:
    """A plot for the site: a PNG of the run (`source`) or an SVG drawn here (`content`)."""

    name: str
    source: Path | None = None
    content: str | None = None


@dataclasses.dataclass(frozen=True)
class BenchResult:
    name: str
    markdown: str
    plots: tuple[Plot, ...]


def _shown_markdown(text: str) -> str:
    """The run's Markdown without table rows of systems the site does not show."""
    out: list[str] = []
    in_system_table = False
    for line in text.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")] if "|" in line else []
        if not cells:
            in_system_table = False
        elif cells[0] == "system":
            in_system_table = True
        elif in_system_table and not set(cells[0]) <= set("-: ") and not shown_system(cells[0]):
            continue
        out.append(line)
    text = "\n".join(out)

    def systems(match: re.Match[str]) -> str:
        kept = [s for s in match.group(1).split(",") if shown_system(s)]
        return f"--systems {','.join(kept)}"

    return re.sub(r"--systems ([\w,-]+)", systems, text)


def recall_svg(doc: Mapping[str, Any]) -> str:
    """Evidence recall against the word budget, one line per shown system, as an SVG."""
    import math

    budgets: list[int] = list(doc["settings"]["budgets_words"])
    prefix = doc["settings"]["metric_prefix"]
    series = {
        name: [entry.get(f"{prefix}@budget{b}") for b in budgets]
        for name, entry in doc["systems"].items()
        if shown_system(name)
    }
    width, height, left, right, top, bottom = 640, 400, 60, 170, 40, 50
    plot_w, plot_h = width - left - right, height - top - bottom
    logs = [math.log(b) for b in budgets]
    span = (logs[-1] - logs[0]) or 1.0

    def x(i: int) -> float:
        return left + (logs[i] - logs[0]) / span * plot_w

    def y(v: float) -> float:
        return top + (1.0 - v) * plot_h

    title = "LoCoMo" if doc.get("benchmark") == "locomo" else "LongMemEval (oracle)"
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" '
        f'font-family="sans-serif" font-size="12" role="img">',
        f"<title>{title}: evidence recall against the context budget</title>",
        f'<rect width="{width}" height="{height}" fill="white"/>',
        f'<text x="{left}" y="22" font-size="14">{title}: evidence {prefix.replace("_", " ")} '
        "against the context budget</text>",
    ]
    for tick in range(6):
        v = tick / 5
        parts.append(
            f'<line x1="{left}" x2="{left + plot_w}" y1="{y(v):.1f}" y2="{y(v):.1f}" '
            'stroke="#ddd"/>'
            f'<text x="{left - 8}" y="{y(v) + 4:.1f}" text-anchor="end">{v:.1f}</text>'
        )
    for i, budget in enumerate(budgets):
        parts.append(
            f'<text x="{x(i):.1f}" y="{top + plot_h + 20}" text-anchor="middle">{budget}</text>'
        )
    parts.append(
        f'<text x="{left + plot_w / 2:.1f}" y="{height - 10}" text-anchor="middle">'
        "context budget (words)</text>"
    )
    for n, (name, values) in enumerate(series.items()):
        colour = PALETTE[n % len(PALETTE)]
        dash = "" if name.startswith("tessera") else ' stroke-dasharray="6 4"'
        points = [(x(i), y(v)) for i, v in enumerate(values) if v is not None]
        path = " ".join(f"{px:.1f},{py:.1f}" for px, py in points)
        parts.append(
            f'<polyline points="{path}" fill="none" stroke="{colour}" stroke-width="2"{dash}/>'
        )
        parts += [
            f'<circle cx="{px:.1f}" cy="{py:.1f}" r="3.5" fill="{colour}"/>' for px, py in points
        ]
        ly = top + 10 + n * 20
        parts.append(
            f'<line x1="{width - right + 15}" x2="{width - right + 45}" y1="{ly}" y2="{ly}" '
            f'stroke="{colour}" stroke-width="2"{dash}/>'
            f'<text x="{width - right + 52}" y="{ly + 4}">{name}</text>'
        )
    parts.append("</svg>")
    return "\n".join(parts)


def bench_results(results: Path = BENCH_RESULTS) -> list[BenchResult]:
    """Every `<name>.md` table in `bench/results/`, with the plots of the same run.

    A run's own PNG is used when every system in it is one the site shows; otherwise (or when
    there is no PNG) a recall plot of the shown systems is drawn from `<name>.json`.
    """
    found: list[BenchResult] = []
    if not results.is_dir():
        return found
    for table in sorted(results.glob("*.md")):
        name = table.stem
        doc: dict[str, Any] = {}
        data = results / f"{name}.json"
        if data.exists():
            try:
                doc = json.loads(data.read_text(encoding="utf-8"))
            except ValueError:
                doc = {}
        systems = doc.get("systems") if isinstance(doc.get("systems"), dict) else {}
        all_shown = all(shown_system(s) for s in systems or {})
        pngs = [
            p for p in sorted(results.glob(f"{name}*.png")) if p.stem in (name, f"{name}-recall")
        ]
        plots: list[Plot] = []
        if all_shown:
            plots = [Plot(p.name, source=p) for p in pngs]
        if not plots and systems and "budgets_words" in doc.get("settings", {}):
            plots = [Plot(f"{name}-recall.svg", content=recall_svg(doc))]
        markdown = _shown_markdown(table.read_text(encoding="utf-8"))
        found.append(BenchResult(name, markdown, tuple(plots)))
    return found


def benchmark_results(results: Path = BENCH_RESULTS, plot_dir: str = "assets/bench") -> str:
    """The tables and plots, or a note saying no run has been recorded yet."""
    found = bench_results(results)
    if not found:
        return (
            '!!! note "No results recorded yet"\n'
            "    This build found no `bench/results/*.md`. Run the benchmarks (see *Reproduce* "
            "below); the next build of the site shows their tables and plots here."
        )
    parts: list[str] = []
    for result in found:
        text = result.markdown.strip()
        if not text.startswith("#"):
            text = f"## {result.name}\n\n{text}"
        parts.append(text)
        for plot in result.plots:
            parts.append(f"![{Path(plot.name).stem}]({plot_dir}/{plot.name})")
    return "\n\n".join(parts)


GENERATORS: dict[str, Callable[[], str]] = {
    "service-settings": service_settings,
    "cli-reference": cli_reference,
    "rerank-features": rerank_features,
    "http-reference": http_reference,
    "python-reference": python_reference,
    "benchmark-results": benchmark_results,
}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description="Print a generated part of the documentation.")
    p.add_argument("name", choices=sorted(GENERATORS))
    args = p.parse_args(argv)
    sys.stdout.write(GENERATORS[args.name]() + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
