"""The Python SDK reference, from its signatures and docstrings."""

from __future__ import annotations

import dataclasses
import enum
import inspect
import json
import re
import textwrap
import types
import typing
from collections.abc import Callable, Iterator, Mapping
from typing import Any

from .common import HTTP_PAGE, OPENAPI, _cell, use_repository_sources
from .http_api import _op_anchor, _schema_anchor

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
