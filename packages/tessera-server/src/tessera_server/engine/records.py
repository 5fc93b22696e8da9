"""The domain records: what a turn, an episode, a fact, a job and a scope are.

They belong to the engine, which holds the rules of memory; a store persists them and
imports this module (and nothing else of the engine), so the types point the way the layers do.
Times are timezone-aware UTC datetimes here; backends choose their own encoding.
Scope labels are `None` when absent.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

Vector = npt.NDArray[np.float32]
EpisodeKind = Literal["episode", "note", "procedure", "resource"]
JobStatus = Literal["queued", "running", "succeeded", "failed"]


@dataclass(frozen=True)
class Scope:
    """Which part of a tenant's memory an operation may touch."""

    tenant_id: int
    user_id: str | None
    session_id: str | None

    def owner(self) -> Scope:
        """Whose memory this is: the user, or for rows without a user, their session (the
        scope facts are deduplicated and superseded in, and writers queue on)."""
        return Scope(self.tenant_id, self.user_id, None if self.user_id else self.session_id)


@dataclass(frozen=True)
class ApiKeyRecord:
    id: int
    tenant_id: int
    tenant_name: str
    prefix: str
    read_only: bool
    created_at: datetime
    revoked_at: datetime | None


@dataclass(frozen=True)
class NewTurn:
    """A turn as a caller sends it, before the service gives it a scope, a clock and a vector."""

    content: str
    role: str
    turn_id: str | None = None
    event_time: datetime | None = None


@dataclass
class TurnRecord:
    tenant_id: int
    user_id: str | None
    session_id: str | None
    turn_id: str
    role: str
    content: str
    event_time: datetime
    metadata: dict[str, Any]
    infer: bool
    created_at: datetime
    embedding: Vector | None = None
    pk: int | None = None
    consolidated: bool = False


@dataclass
class EpisodeRecord:
    id: str
    tenant_id: int
    user_id: str | None
    session_id: str | None
    kind: EpisodeKind
    text: str
    role: str
    event_time: datetime
    importance: float
    metadata: dict[str, Any]
    created_at: datetime
    source_turn_pks: list[int] = field(default_factory=list)
    attrs: dict[str, Any] = field(default_factory=dict)
    embedding: Vector | None = None
    pinned: bool = False
    pk: int | None = None
    source_turn_ids: list[str] = field(default_factory=list)


@dataclass
class FactRecord:
    id: str
    tenant_id: int
    user_id: str | None
    session_id: str | None
    subject: str
    relation: str
    object: str
    text: str
    role: str
    confidence: float
    importance: float
    functional: bool
    t_valid: datetime
    t_created: datetime
    metadata: dict[str, Any]
    created_at: datetime
    t_invalid: datetime | None = None
    t_expired: datetime | None = None
    superseded_by: str | None = None
    episode_id: str | None = None
    source_turn_pks: list[int] = field(default_factory=list)
    embedding: Vector | None = None
    pk: int | None = None
    source_turn_ids: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class FactEnd:
    """How a fact is closed, never deleted: the end of its validity (`t_invalid`), of the
    belief in it (`t_expired`), and the fact that superseded it. A field left None keeps what
    is stored."""

    t_invalid: datetime | None = None
    t_expired: datetime | None = None
    superseded_by: str | None = None


@dataclass
class ForesightRecord:
    id: str
    tenant_id: int
    user_id: str | None
    session_id: str | None
    kind: str
    content: str
    created_at: datetime
    due_at: datetime | None = None
    expires_at: datetime | None = None
    episode_pk: int | None = None
    source_turn_pks: list[int] = field(default_factory=list)
    embedding: Vector | None = None
    pk: int | None = None
    source_turn_ids: list[str] = field(default_factory=list)


@dataclass
class PanelRecord:
    tenant_id: int
    user_id: str | None
    level: int
    summary: str
    members: list[str]
    centroid: Vector
    updated_at: datetime
    pk: int | None = None


@dataclass(frozen=True)
class JobRecord:
    pk: int
    tenant_id: int
    kind: str
    user_id: str | None
    session_id: str | None
    status: JobStatus
    attempts: int
    error: str | None
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True)
class FilterSpec:
    """One validated filter clause: a known column (or a metadata key) and a typed value."""

    column: str
    op: Literal["eq", "ne", "in", "gte", "lte", "gt", "lt"]
    value: Any
    metadata_key: str | None = None


@dataclass(frozen=True)
class TimeTravel:
    """Bi-temporal vantage for facts: valid at `as_of`, as known at `known_as_of`."""

    as_of: datetime | None = None
    known_as_of: datetime | None = None

    def windows(self, now: datetime) -> tuple[Window, Window]:
        """The rule of time travel, written once and compiled by every backend (SQL, or a
        mask over an in-memory index): a fact is seen when it was valid at `as_of` and
        believed at `known_as_of`, each defaulting to `now`."""
        return (
            Window("t_valid", "t_invalid", self.as_of or now),
            Window("t_created", "t_expired", self.known_as_of or now),
        )


@dataclass(frozen=True)
class Window:
    """A row is inside when `start <= at` and its `end` is absent or `end > at`."""

    start: str
    end: str
    at: datetime


@dataclass(frozen=True)
class EpisodePool:
    """The episodes a search arm may rank: the scope's, of these kinds, that the filters admit."""

    scope: Scope
    kinds: Sequence[str]
    filters: Sequence[FilterSpec] = ()


@dataclass(frozen=True)
class FactPool:
    """The facts a search arm may rank: the scope's, seen through `travel` at `now`, that the
    filters admit."""

    scope: Scope
    travel: TimeTravel
    now: datetime
    filters: Sequence[FilterSpec] = ()


# What a search arm answers, best first: (episode or fact id, score), or (turn pk, score).
RankedIds = list[tuple[str, float]]
RankedPks = list[tuple[int, float]]


@dataclass(frozen=True)
class ListCursor:
    created_at: datetime
    item_id: str


@dataclass(frozen=True)
class ListedItem:
    """A row of `memories.list`: an episode or a fact, ordered newest first."""

    kind: Literal["episode", "fact"]
    id: str
    created_at: datetime


@dataclass
class ForgetCounts:
    turns: int = 0
    episodes: int = 0
    facts: int = 0
    foresight: int = 0

    def add(self, other: ForgetCounts) -> None:
        self.turns += other.turns
        self.episodes += other.episodes
        self.facts += other.facts
        self.foresight += other.foresight


@dataclass(frozen=True)
class ScopeSummary:
    """One (user, session) of a tenant with how much memory it holds (the console's list)."""

    user_id: str | None
    session_id: str | None
    turns: int
    episodes: int
    facts: int
    foresight: int
    last_activity: datetime | None
