"""Records to table rows and back, written once for every SQL backend.

The tables have the same columns in every backend; what differs is how a value is spelled
(SQLite keeps times as ISO text, vectors as float32 bytes and flags as 0/1, PostgreSQL has
native types) and the placeholder of a bound parameter. A backend describes that in a `Codec`
and calls these functions, so a record's columns are listed in one place.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from .records import (
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


# -- turns ---------------------------------------------------------------------------------


def turn_row(turn: TurnRecord, c: Codec) -> dict[str, Any]:
    return {
        "tenant_id": turn.tenant_id,
        "user_id": enc_label(turn.user_id),
        "session_id": enc_label(turn.session_id),
        "turn_id": turn.turn_id,
        "role": turn.role,
        "content": turn.content,
        "event_time": c.enc_time(turn.event_time),
        "metadata": enc_json(turn.metadata),
        "infer": c.enc_flag(turn.infer),
        "embedding": c.enc_vec(turn.embedding),
        "created_at": c.enc_time(turn.created_at),
    }


def turn_record(row: Row, c: Codec) -> TurnRecord:
    return TurnRecord(
        pk=int(row["pk"]),
        tenant_id=int(row["tenant_id"]),
        user_id=dec_label(row["user_id"]),
        session_id=dec_label(row["session_id"]),
        turn_id=str(row["turn_id"]),
        role=str(row["role"]),
        content=str(row["content"]),
        event_time=c.dec_time(row["event_time"]),
        metadata=dec_json(row["metadata"]),
        infer=bool(row["infer"]),
        consolidated=bool(row["consolidated"]),
        embedding=c.dec_vec(row["embedding"]),
        created_at=c.dec_time(row["created_at"]),
    )


# -- episodes ------------------------------------------------------------------------------


def episode_row(ep: EpisodeRecord, c: Codec) -> dict[str, Any]:
    return {
        "id": ep.id,
        "tenant_id": ep.tenant_id,
        "user_id": enc_label(ep.user_id),
        "session_id": enc_label(ep.session_id),
        "kind": ep.kind,
        "text": ep.text,
        "role": ep.role,
        "event_time": c.enc_time(ep.event_time),
        "importance": ep.importance,
        "metadata": enc_json(ep.metadata),
        "pinned": c.enc_flag(ep.pinned),
        "attrs": enc_json(ep.attrs),
        "embedding": c.enc_vec(ep.embedding),
        "created_at": c.enc_time(ep.created_at),
    }


def episode_rewrite(ep: EpisodeRecord, c: Codec) -> dict[str, Any]:
    """The columns `update_episode` rewrites."""
    return {
        "text": ep.text,
        "attrs": enc_json(ep.attrs),
        "pinned": c.enc_flag(ep.pinned),
        "embedding": c.enc_vec(ep.embedding),
        "importance": ep.importance,
        "metadata": enc_json(ep.metadata),
    }


def episode_record(row: Row, c: Codec, sources: Sources) -> EpisodeRecord:
    return EpisodeRecord(
        pk=int(row["pk"]),
        id=str(row["id"]),
        tenant_id=int(row["tenant_id"]),
        user_id=dec_label(row["user_id"]),
        session_id=dec_label(row["session_id"]),
        kind=row["kind"],
        text=str(row["text"]),
        role=str(row["role"]),
        event_time=c.dec_time(row["event_time"]),
        importance=float(row["importance"]),
        metadata=dec_json(row["metadata"]),
        pinned=bool(row["pinned"]),
        attrs=dec_json(row["attrs"]),
        embedding=c.dec_vec(row["embedding"]),
        created_at=c.dec_time(row["created_at"]),
        source_turn_pks=[pk for pk, _ in sources],
        source_turn_ids=[turn_id for _, turn_id in sources],
    )


# -- facts ---------------------------------------------------------------------------------


def fact_row(fact: FactRecord, c: Codec) -> dict[str, Any]:
    return {
        "id": fact.id,
        "tenant_id": fact.tenant_id,
        "user_id": enc_label(fact.user_id),
        "session_id": enc_label(fact.session_id),
        "subject": fact.subject,
        "relation": fact.relation,
        "object": fact.object,
        "text": fact.text,
        "role": fact.role,
        "confidence": fact.confidence,
        "importance": fact.importance,
        "functional": c.enc_flag(fact.functional),
        "t_valid": c.enc_time(fact.t_valid),
        "t_invalid": c.enc_time_opt(fact.t_invalid),
        "t_created": c.enc_time(fact.t_created),
        "t_expired": c.enc_time_opt(fact.t_expired),
        "superseded_by": fact.superseded_by,
        "episode_id": fact.episode_id,
        "metadata": enc_json(fact.metadata),
        "embedding": c.enc_vec(fact.embedding),
        "created_at": c.enc_time(fact.created_at),
    }


def fact_record(row: Row, c: Codec, sources: Sources) -> FactRecord:
    return FactRecord(
        pk=int(row["pk"]),
        id=str(row["id"]),
        tenant_id=int(row["tenant_id"]),
        user_id=dec_label(row["user_id"]),
        session_id=dec_label(row["session_id"]),
        subject=str(row["subject"]),
        relation=str(row["relation"]),
        object=str(row["object"]),
        text=str(row["text"]),
        role=str(row["role"]),
        confidence=float(row["confidence"]),
        importance=float(row["importance"]),
        functional=bool(row["functional"]),
        t_valid=c.dec_time(row["t_valid"]),
        t_invalid=c.dec_time_opt(row["t_invalid"]),
        t_created=c.dec_time(row["t_created"]),
        t_expired=c.dec_time_opt(row["t_expired"]),
        superseded_by=row["superseded_by"],
        episode_id=row["episode_id"],
        metadata=dec_json(row["metadata"]),
        embedding=c.dec_vec(row["embedding"]),
        created_at=c.dec_time(row["created_at"]),
        source_turn_pks=[pk for pk, _ in sources],
        source_turn_ids=[turn_id for _, turn_id in sources],
    )


# -- foresight, portrait, panels -----------------------------------------------------------


def foresight_row(item: ForesightRecord, c: Codec) -> dict[str, Any]:
    return {
        "id": item.id,
        "tenant_id": item.tenant_id,
        "user_id": enc_label(item.user_id),
        "session_id": enc_label(item.session_id),
        "kind": item.kind,
        "content": item.content,
        "due_at": c.enc_time_opt(item.due_at),
        "expires_at": c.enc_time_opt(item.expires_at),
        "episode_pk": item.episode_pk,
        "embedding": c.enc_vec(item.embedding),
        "created_at": c.enc_time(item.created_at),
    }


def foresight_record(row: Row, c: Codec, sources: Sources = ()) -> ForesightRecord:
    return ForesightRecord(
        pk=int(row["pk"]),
        id=str(row["id"]),
        tenant_id=int(row["tenant_id"]),
        user_id=dec_label(row["user_id"]),
        session_id=dec_label(row["session_id"]),
        kind=str(row["kind"]),
        content=str(row["content"]),
        due_at=c.dec_time_opt(row["due_at"]),
        expires_at=c.dec_time_opt(row["expires_at"]),
        episode_pk=row["episode_pk"],
        embedding=c.dec_vec(row["embedding"]),
        created_at=c.dec_time(row["created_at"]),
        source_turn_pks=[pk for pk, _ in sources],
    )


def panel_row(tenant_id: int, user_id: str, panel: PanelRecord, c: Codec) -> dict[str, Any]:
    return {
        "tenant_id": tenant_id,
        "user_id": user_id,
        "level": panel.level,
        "summary": panel.summary,
        "members": enc_json(panel.members),
        "centroid": c.enc_vec(panel.centroid),
        "updated_at": c.enc_time(panel.updated_at),
    }


def panel_record(row: Row, c: Codec) -> PanelRecord:
    centroid = c.dec_vec(row["centroid"])
    assert centroid is not None
    return PanelRecord(
        pk=int(row["pk"]),
        tenant_id=int(row["tenant_id"]),
        user_id=dec_label(row["user_id"]),
        level=int(row["level"]),
        summary=str(row["summary"]),
        members=dec_json(row["members"]),
        centroid=centroid,
        updated_at=c.dec_time(row["updated_at"]),
    )


def portrait_upsert(c: Codec) -> str:
    return (
        f"INSERT INTO portraits (tenant_id, user_id, data, updated_at) VALUES ({c.marks(4)}) "
        "ON CONFLICT (tenant_id, user_id) DO UPDATE SET "
        "data = excluded.data, updated_at = excluded.updated_at"
    )


# -- keys and jobs -------------------------------------------------------------------------


def key_record(row: Row, c: Codec) -> ApiKeyRecord:
    return ApiKeyRecord(
        id=int(row["id"]),
        tenant_id=int(row["tenant_id"]),
        tenant_name=str(row["name"]),
        prefix=str(row["prefix"]),
        read_only=bool(row["read_only"]),
        created_at=c.dec_time(row["created_at"]),
        revoked_at=c.dec_time_opt(row["revoked_at"]),
    )


def job_record(row: Row, c: Codec) -> JobRecord:
    return JobRecord(
        pk=int(row["pk"]),
        tenant_id=int(row["tenant_id"]),
        kind=str(row["kind"]),
        user_id=dec_label(row["user_id"]),
        session_id=dec_label(row["session_id"]),
        status=row["status"],
        attempts=int(row["attempts"]),
        error=row["error"],
        created_at=c.dec_time(row["created_at"]),
        updated_at=c.dec_time(row["updated_at"]),
    )
