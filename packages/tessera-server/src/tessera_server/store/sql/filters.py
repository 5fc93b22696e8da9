"""Search filters and time travel compiled to SQL: the semantics written once, for every SQL
backend. A backend supplies only how it reads one key of a row's metadata (`MetadataJson`).

The rule of a metadata filter (`metadata.<key> <op> <value>`):

- a key that is missing, or holds JSON null, never matches (not even `ne`);
- numbers and booleans (true as 1, false as 0) are numbers; strings are text, and so are
  objects and arrays (as their JSON text);
- a number compares with a number numerically, text with text bytewise (code point order);
- a number and text compare by class: every number sorts before every text, so
  `eq` is false, `ne` true, and `lt`/`lte` true exactly when the stored value is the number;
- `in` matches when any of its values would match `eq`.

A column filter (`importance`, `role`, `event_time`, ...) compares the column with the bound
value (times in the backend's spelling). Time travel is `TimeTravel.windows`: a fact is seen
when each window's start is at or before its instant and its end is absent or after it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from ...engine.records import FilterSpec, TimeTravel
from ..rows import Codec

OPS = {"eq": "=", "ne": "<>", "gte": ">=", "lte": "<=", "gt": ">", "lt": "<"}
ValueClass = Literal["number", "text"]


@dataclass(frozen=True)
class MetadataJson:
    """How a backend reads one key of a row's metadata document. Each template has `{a}` for
    the table alias and `{key}` where the key (as `key_param` spells it) is bound."""

    type_of: str  # the JSON type name of the value, NULL when missing
    classes: Mapping[str, ValueClass]  # JSON type name -> class; unlisted (null) never match
    number_of: str  # the value as a number (true 1, false 0)
    text_of: str  # the value as text compared bytewise (a string's text, JSON otherwise)
    number_mark: str = "{m}"  # a bound number, as the comparison wants it
    key_path: str = "{key}"  # how the key is bound: SQLite binds a JSON path

    def read(self, template: str, alias: str, key: str, mark: str) -> tuple[str, list[Any]]:
        sql = template.replace("{a}", alias)
        bound = self.key_path.replace("{key}", key)
        return sql.replace("{key}", mark), [bound] * sql.count("{key}")


def _across(op: str, row_is_number: bool) -> str:
    """A comparison between a number and text: numbers sort first."""
    if op in ("eq", "ne"):
        return "TRUE" if op == "ne" else "FALSE"
    row_is_less = row_is_number
    return "TRUE" if (op in ("lt", "lte")) == row_is_less else "FALSE"


def metadata_sql(
    json: MetadataJson, codec: Codec, alias: str, key: str, op: str, value: Any
) -> tuple[str, list[Any]]:
    """One comparison on a metadata key, by the rule above."""
    m = codec.mark
    own: ValueClass = "text" if isinstance(value, str) else "number"
    template = json.text_of if own == "text" else json.number_of
    value_mark = m if own == "text" else json.number_mark.replace("{m}", m)
    sql, params = json.read(json.type_of, alias, key, m)
    parts = [f"(CASE {sql}"]
    for type_name, cls in json.classes.items():
        if cls == own:
            read, read_params = json.read(template, alias, key, m)
            parts.append(f"WHEN '{type_name}' THEN {read} {OPS[op]} {value_mark}")
            params += [*read_params, value]
        else:
            parts.append(f"WHEN '{type_name}' THEN {_across(op, own == 'text')}")
    return " ".join(parts) + " END)", params


def filters_sql(
    filters: Sequence[FilterSpec], alias: str, codec: Codec, json: MetadataJson
) -> tuple[str, list[Any]]:
    """Validated filters (`engine/filters.py`) as a conjunction; columns come from the engine's
    allow-list and every value is bound."""
    clauses: list[str] = []
    params: list[Any] = []
    for spec in filters:
        values = list(spec.value) if spec.op == "in" else [spec.value]
        op = "eq" if spec.op == "in" else spec.op
        if spec.metadata_key is None:
            bound = [codec.enc_time(v) if isinstance(v, datetime) else v for v in values]
            column = f"{alias}.{spec.column}"
            if spec.op == "in":
                clauses.append(f"{column} IN ({codec.marks(len(bound))})")
            else:
                clauses.append(f"{column} {OPS[op]} {codec.mark}")
            params += bound
            continue
        parts = []
        for value in values:
            sql, more = metadata_sql(json, codec, alias, spec.metadata_key, op, value)
            parts.append(sql)
            params += more
        clauses.append(parts[0] if len(parts) == 1 else "(" + " OR ".join(parts) + ")")
    return " AND ".join(clauses), params


def travel_sql(
    travel: TimeTravel, now: datetime, alias: str, codec: Codec
) -> tuple[str, list[Any]]:
    """Time travel (`TimeTravel.windows`) on the facts aliased `alias`."""
    m, clauses, params = codec.mark, [], []
    for w in travel.windows(now):
        clauses.append(
            f"{alias}.{w.start} <= {m} AND ({alias}.{w.end} IS NULL OR {alias}.{w.end} > {m})"
        )
        params += [codec.enc_time(w.at)] * 2
    return " AND ".join(clauses), params
