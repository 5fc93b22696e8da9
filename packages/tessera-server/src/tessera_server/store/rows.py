"""Records to table rows and back, written once for every SQL backend.

The tables have the same columns in every backend; what differs is how a value is spelled
(SQLite keeps times as ISO text, vectors as float32 bytes and flags as 0/1, PostgreSQL has
native types) and the placeholder of a bound parameter. A backend describes that in a `Codec`;
each record's columns and their kinds are listed once here (`Table`), and one encoder and one
decoder serve every table and every codec, the export format's included (`portable.py`).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Generic, Literal, Protocol, TypeVar

from ..engine.records import (
    ApiKeyRecord,
    EpisodeRecord,
    FactRecord,
    ForesightRecord,
    JobRecord,
    PanelRecord,
    Scope,
    TurnRecord,
    Vector,
)


class Row(Protocol):
    """A result row read by column name (sqlite3.Row, psycopg's dict rows)."""

    def __getitem__(self, key: str, /) -> Any: ...


def _same(value: Any) -> Any:
    return value


@dataclass(frozen=True)
class Codec:
    """How one backend spells engine values in its columns, and its parameter placeholder."""

    mark: str = "?"
    enc_time: Callable[[datetime], Any] = _same
    dec_time: Callable[[Any], datetime] = _same
    enc_vec: Callable[[Vector | None], Any] = _same
    dec_vec: Callable[[Any], Vector | None] = _same
    enc_flag: Callable[[bool], Any] = _same
    enc_label: Callable[[str | None], Any] = lambda value: value or ""
    dec_label: Callable[[Any], str | None] = lambda value: value or None
    enc_json: Callable[[Any], Any] = lambda value: enc_json(value)
    dec_json: Callable[[Any], Any] = lambda value: dec_json(value)

    def enc_time_opt(self, value: datetime | None) -> Any:
        return None if value is None else self.enc_time(value)

    def dec_time_opt(self, value: Any) -> datetime | None:
        return None if value is None else self.dec_time(value)

    def marks(self, count: int) -> str:
        return ", ".join(self.mark for _ in range(count))

    def insert(self, table: str, values: Mapping[str, Any], suffix: str = "") -> str:
        """`INSERT INTO table (columns) VALUES (placeholders)` for a row from the functions
        below; bind `list(values.values())`."""
        columns = ", ".join(values)
        return f"INSERT INTO {table} ({columns}) VALUES ({self.marks(len(values))}){suffix}"

    def update(self, table: str, values: Mapping[str, Any], where: str) -> str:
        """`UPDATE table SET column = placeholder, ... WHERE where`; bind the values first."""
        sets = ", ".join(f"{column} = {self.mark}" for column in values)
        return f"UPDATE {table} SET {sets} WHERE {where}"

    def scope_sql(self, scope: Scope, alias: str = "", prefix: str = "") -> tuple[str, list[Any]]:
        """The WHERE clause of a scope: only the labels given constrain (absent ones are '').
        `prefix` goes before each column (SQLite's `+` keeps its planner off an index)."""
        column = f"{prefix}{alias}." if alias else prefix
        clauses = [f"{column}tenant_id = {self.mark}"]
        params: list[Any] = [scope.tenant_id]
        for name, value in (("user_id", scope.user_id), ("session_id", scope.session_id)):
            if value is not None:
                clauses.append(f"{column}{name} = {self.mark}")
                params.append(value)
        return " AND ".join(clauses), params


def enc_label(value: str | None) -> str:
    """Absent scope labels are stored as '' (so they take part in unique keys)."""
    return value or ""


def dec_label(value: str) -> str | None:
    return value or None


def enc_json(value: Any) -> str:
    """Canonical JSON text: sorted keys, no spaces, so equal values are equal text."""
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), sort_keys=True)


def dec_json(value: str) -> Any:
    return json.loads(value)


Sources = Sequence[tuple[int, str]]

# What a column holds, and so how a codec spells it.
Kind = Literal["int", "float", "str", "raw", "label", "time", "time?", "json", "flag", "vec"]

_ENCODE: dict[Kind, Callable[[Codec, Any], Any]] = {
    "int": lambda c, v: v,
    "float": lambda c, v: v,
    "str": lambda c, v: v,
    "raw": lambda c, v: v,
    "label": lambda c, v: c.enc_label(v),
    "time": lambda c, v: c.enc_time(v),
    "time?": lambda c, v: c.enc_time_opt(v),
    "json": lambda c, v: c.enc_json(v),
    "flag": lambda c, v: c.enc_flag(v),
    "vec": lambda c, v: c.enc_vec(v),
}
_DECODE: dict[Kind, Callable[[Codec, Any], Any]] = {
    "int": lambda c, v: int(v),
    "float": lambda c, v: float(v),
    "str": lambda c, v: str(v),
    "raw": lambda c, v: v,
    "label": lambda c, v: c.dec_label(v),
    "time": lambda c, v: c.dec_time(v),
    "time?": lambda c, v: c.dec_time_opt(v),
    "json": lambda c, v: c.dec_json(v),
    "flag": lambda c, v: bool(v),
    "vec": lambda c, v: c.dec_vec(v),
}

R = TypeVar("R")


@dataclass(frozen=True)
class Table(Generic[R]):
    """A record's columns, in order, with their kinds. `read` are read back but never written
    by `encode` (the key, flags another statement sets); `named` maps a field to the column
    it is read from where the two names differ."""

    name: str
    record: type[R]
    columns: dict[str, Kind]
    read: dict[str, Kind] = field(default_factory=lambda: {"pk": "int"})
    named: dict[str, str] = field(default_factory=dict)

    def encode(self, item: R, c: Codec, only: Sequence[str] | None = None) -> dict[str, Any]:
        """The record as a row of written columns (or only the named ones)."""
        return {
            column: _ENCODE[kind](c, getattr(item, column))
            for column, kind in self.columns.items()
            if only is None or column in only
        }

    def decode(self, row: Row, c: Codec, *, stored: bool = True, **more: Any) -> R:
        """The record of a row; `more` gives fields that are not columns (source turns).
        A row not `stored` yet (an imported one) has only the written columns."""
        kinds = {**self.read, **self.columns} if stored else self.columns
        values = {
            name: _DECODE[kind](c, row[self.named.get(name, name)]) for name, kind in kinds.items()
        }
        return self.record(**values, **more)


_SCOPED: dict[str, Kind] = {"tenant_id": "int", "user_id": "label", "session_id": "label"}

TURNS = Table(
    "turns",
    TurnRecord,
    {
        **_SCOPED,
        "turn_id": "str",
        "role": "str",
        "content": "str",
        "event_time": "time",
        "metadata": "json",
        "infer": "flag",
        "embedding": "vec",
        "created_at": "time",
    },
    read={"pk": "int", "consolidated": "flag"},
)
EPISODES = Table(
    "episodes",
    EpisodeRecord,
    {
        "id": "str",
        **_SCOPED,
        "kind": "raw",
        "text": "str",
        "role": "str",
        "event_time": "time",
        "importance": "float",
        "metadata": "json",
        "pinned": "flag",
        "attrs": "json",
        "embedding": "vec",
        "created_at": "time",
    },
)
# The columns `update_episode` rewrites.
EPISODE_REWRITE = ("text", "attrs", "pinned", "embedding", "importance", "metadata")
FACTS = Table(
    "facts",
    FactRecord,
    {
        "id": "str",
        **_SCOPED,
        "subject": "str",
        "relation": "str",
        "object": "str",
        "text": "str",
        "role": "str",
        "confidence": "float",
        "importance": "float",
        "functional": "flag",
        "t_valid": "time",
        "t_invalid": "time?",
        "t_created": "time",
        "t_expired": "time?",
        "superseded_by": "raw",
        "episode_id": "raw",
        "metadata": "json",
        "embedding": "vec",
        "created_at": "time",
    },
)
FORESIGHT = Table(
    "foresight",
    ForesightRecord,
    {
        "id": "str",
        **_SCOPED,
        "kind": "str",
        "content": "str",
        "due_at": "time?",
        "expires_at": "time?",
        "episode_pk": "raw",
        "embedding": "vec",
        "created_at": "time",
    },
)
PANELS = Table(
    "panels",
    PanelRecord,
    {
        "tenant_id": "int",
        "user_id": "label",
        "level": "int",
        "summary": "str",
        "members": "json",
        "centroid": "vec",
        "updated_at": "time",
    },
)
KEYS = Table(
    "api_keys",
    ApiKeyRecord,
    {
        "id": "int",
        "tenant_id": "int",
        "tenant_name": "str",
        "prefix": "str",
        "read_only": "flag",
        "created_at": "time",
        "revoked_at": "time?",
    },
    read={},
    named={"tenant_name": "name"},
)
JOBS = Table(
    "jobs",
    JobRecord,
    {
        "pk": "int",
        "tenant_id": "int",
        "kind": "str",
        **{k: v for k, v in _SCOPED.items() if k != "tenant_id"},
        "status": "raw",
        "attempts": "int",
        "error": "raw",
        "created_at": "time",
        "updated_at": "time",
    },
    read={},
)


def turn_row(turn: TurnRecord, c: Codec) -> dict[str, Any]:
    return TURNS.encode(turn, c)


def turn_record(row: Row, c: Codec) -> TurnRecord:
    return TURNS.decode(row, c)


def episode_rewrite(ep: EpisodeRecord, c: Codec) -> dict[str, Any]:
    return EPISODES.encode(ep, c, EPISODE_REWRITE)


def panel_record(row: Row, c: Codec) -> PanelRecord:
    panel = PANELS.decode(row, c)
    assert panel.centroid is not None
    return panel


def key_record(row: Row, c: Codec) -> ApiKeyRecord:
    return KEYS.decode(row, c)


def job_record(row: Row, c: Codec) -> JobRecord:
    return JOBS.decode(row, c)
