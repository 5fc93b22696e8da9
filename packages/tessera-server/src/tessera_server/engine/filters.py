"""Validating search filters against an allow-list, so no input ever becomes SQL."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Literal

from .errors import InvalidInput
from .records import FilterSpec

FieldType = Literal["number", "time", "text", "role"]


@dataclass(frozen=True)
class FieldRule:
    type: FieldType
    episode_column: str | None
    fact_column: str | None


FIELDS: dict[str, FieldRule] = {
    "importance": FieldRule("number", "importance", "importance"),
    "confidence": FieldRule("number", None, "confidence"),
    "event_time": FieldRule("time", "event_time", "t_valid"),
    "created_at": FieldRule("time", "created_at", "created_at"),
    "role": FieldRule("role", "role", "role"),
    "session_id": FieldRule("text", "session_id", "session_id"),
    "subject": FieldRule("text", None, "subject"),
    "relation": FieldRule("text", None, "relation"),
}
ROLES = ("system", "user", "assistant")
_META_KEY = re.compile(r"^[A-Za-z0-9_\-]{1,64}$")
_ORDER_OPS = {"gte", "lte", "gt", "lt"}
# Integers bind to SQL as 64-bit values; anything wider is refused, never a driver error.
MAX_INT = 2**63 - 1


@dataclass(frozen=True)
class ParsedFilters:
    """Filters split per arm; an arm is skipped when a clause names a field it lacks."""

    episodes: list[FilterSpec] | None
    facts: list[FilterSpec] | None


def _check_scalar(field: str, kind: FieldType, op: str, value: Any) -> Any:
    if kind == "number":
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise InvalidInput(f"filter on `{field}` needs a number, got {type(value).__name__}")
        if isinstance(value, float) and not math.isfinite(value):
            raise InvalidInput(f"filter on `{field}` needs a finite number")
        if isinstance(value, int) and abs(value) > MAX_INT:
            raise InvalidInput(f"filter on `{field}`: the number is out of range")
        return value
    if kind == "time":
        if not isinstance(value, str):
            raise InvalidInput(f"filter on `{field}` needs an ISO 8601 date-time string")
        try:
            parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            raise InvalidInput(
                f"filter on `{field}`: the value is not an ISO 8601 date-time"
            ) from None
        if parsed.tzinfo is None:
            raise InvalidInput(f"filter on `{field}`: add a timezone offset, e.g. 'Z'")
        try:
            return parsed.astimezone(timezone.utc)
        except OverflowError:
            raise InvalidInput(
                f"filter on `{field}`: the date-time is outside the representable range"
            ) from None
    if not isinstance(value, str):
        raise InvalidInput(f"filter on `{field}` needs a string, got {type(value).__name__}")
    if kind == "role" and value not in ROLES:
        raise InvalidInput(f"filter on `role`: the value is not one of {', '.join(ROLES)}")
    if op in _ORDER_OPS and kind == "role":
        raise InvalidInput(f"filter on `{field}` supports eq, ne and in only")
    return value


def _metadata_value(where: str, op: str, value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        raise InvalidInput(f"filter on {where} needs a finite number")
    if value is None or isinstance(value, (dict, list)):
        raise InvalidInput(f"filter on {where} needs a string, number or boolean")
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) > MAX_INT:
        raise InvalidInput(f"filter on {where}: the number is out of range")
    if op in _ORDER_OPS and isinstance(value, bool):
        raise InvalidInput(f"filter on {where}: {op} needs a string or number")
    return int(value) if isinstance(value, bool) else value


def parse_filters(clauses: list[dict[str, Any]], max_clauses: int) -> ParsedFilters:
    if len(clauses) > max_clauses:
        raise InvalidInput(f"at most {max_clauses} filter clauses are allowed")
    episodes: list[FilterSpec] | None = []
    facts: list[FilterSpec] | None = []
    for index, clause in enumerate(clauses):
        field, op, value = clause["field"], clause["op"], clause["value"]
        # A clause is named by its position, and by its field only when that is one of ours:
        # details never repeat what the caller sent (a metadata key is the caller's text).
        where = f"`{field}`" if field in FIELDS else f"`filters[{index}]`"
        values = value if op == "in" else [value]
        if op == "in":
            if not isinstance(value, list) or not value or len(value) > 100:
                raise InvalidInput(f"filter {where} `in` needs a list of 1 to 100 values")
        elif isinstance(value, list):
            raise InvalidInput(f"filter on {where}: a list value needs op `in`")
        if field.startswith("metadata."):
            key = field[len("metadata.") :]
            if not _META_KEY.match(key):
                raise InvalidInput(
                    f"{where}: metadata filter keys are 1-64 letters, digits, '_' or '-'"
                )
            checked = [_metadata_value(where, op, v) for v in values]
            spec = FilterSpec("metadata", op, checked if op == "in" else checked[0], key)
            for target in (episodes, facts):
                if target is not None:
                    target.append(spec)
            continue
        rule = FIELDS.get(field)
        if rule is None:
            known = ", ".join([*FIELDS, "metadata.<key>"])
            raise InvalidInput(f"{where} names an unknown filter field; use one of: {known}")
        checked = [_check_scalar(field, rule.type, op, v) for v in values]
        final = checked if op == "in" else checked[0]
        if rule.episode_column is None:
            episodes = None
        elif episodes is not None:
            episodes.append(FilterSpec(rule.episode_column, op, final))
        if rule.fact_column is None:
            facts = None
        elif facts is not None:
            facts.append(FilterSpec(rule.fact_column, op, final))
    return ParsedFilters(episodes, facts)
