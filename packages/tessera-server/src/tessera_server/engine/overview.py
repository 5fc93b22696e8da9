"""Whole views of a scope for people looking at memory (the console): what it holds, how its
turns became episodes, its facts over both timelines, and the tenant's recent jobs.

Reads only; each view is bounded so that a page stays fast on a scope of any size.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from .clock import utcnow
from .keys import PREFIX, hash_key
from .records import (
    EpisodeRecord,
    FactRecord,
    ForesightRecord,
    JobRecord,
    Scope,
    ScopeSummary,
    TimeTravel,
    TurnRecord,
)
from .runtime import Runtime

SIDE_LIMIT = 50


@dataclass(frozen=True)
class KeyHolder:
    """Who signed in: the key's tenant, its public prefix and whether it may write."""

    tenant_id: int
    tenant_name: str
    prefix: str
    read_only: bool


@dataclass
class Sides:
    """What a scope holds beside its timeline: portrait, foresight, procedures, images."""

    portrait: dict[str, Any] | None
    foresight: list[ForesightRecord]
    procedures: list[EpisodeRecord]
    resources: list[EpisodeRecord]
    pending: list[TurnRecord]


def authenticate(runtime: Runtime, key: str) -> KeyHolder | None:
    """The holder of a live key, or None for a key that is malformed, unknown or revoked."""
    if not key.startswith(PREFIX) or len(key) > 200:
        return None
    record = runtime.store.find_key(hash_key(key))
    if record is None or record.revoked_at is not None:
        return None
    return KeyHolder(record.tenant_id, record.tenant_name, record.prefix, record.read_only)


def key_secret(runtime: Runtime, prefix: str) -> tuple[KeyHolder, str] | None:
    """A live key by its public prefix, with its stored hash: the secret that signs and
    checks the key holder's console sessions (a revoked key's sessions end with it)."""
    found = runtime.store.find_key_by_prefix(prefix)
    if found is None or found[0].revoked_at is not None:
        return None
    record, secret = found
    holder = KeyHolder(record.tenant_id, record.tenant_name, record.prefix, record.read_only)
    return holder, secret


def scopes(runtime: Runtime, tenant_id: int, user_id: str | None, limit: int) -> list[ScopeSummary]:
    return runtime.store.scope_summaries(tenant_id, user_id, limit)


def turns_of(runtime: Runtime, episodes: list[EpisodeRecord]) -> dict[str, list[TurnRecord]]:
    """Each episode's turns, in the order they were said."""
    pks = sorted({pk for ep in episodes for pk in ep.source_turn_pks})
    by_pk = {t.pk: t for t in runtime.store.turns_by_pk(pks)} if pks else {}
    out: dict[str, list[TurnRecord]] = {}
    for ep in episodes:
        turns = [by_pk[pk] for pk in ep.source_turn_pks if pk in by_pk]
        out[ep.id] = sorted(turns, key=lambda t: (t.event_time, t.pk or 0))
    return out


def sides(runtime: Runtime, scope: Scope) -> Sides:
    store = runtime.store
    portrait = (
        store.get_portrait(scope.tenant_id, scope.user_id) if scope.user_id is not None else None
    )
    foresight = store.live_foresight(scope, utcnow())
    foresight.sort(key=lambda f: (f.due_at is None, f.due_at or f.created_at, f.id))
    # One read for both kinds: each is a walk of the scope's index entries.
    skills = store.episodes_in_scope(scope, ("procedure", "resource"), 2 * SIDE_LIMIT)
    return Sides(
        portrait=portrait,
        foresight=foresight[:SIDE_LIMIT],
        procedures=[e for e in skills if e.kind == "procedure"],
        resources=[e for e in skills if e.kind == "resource"],
        pending=store.pending_turns(scope, SIDE_LIMIT),
    )


def fact_history(
    runtime: Runtime,
    scope: Scope,
    as_of: datetime | None,
    known_as_of: datetime | None,
    limit: int,
) -> tuple[list[FactRecord], dict[str, FactRecord]]:
    """Facts newest belief first (all of them, or those in view at the vantage when one is
    given), and the facts that replaced them where those are not on the list."""
    travel = TimeTravel(as_of, known_as_of) if as_of or known_as_of else None
    facts = runtime.store.fact_history(scope, travel, utcnow(), limit)
    shown = {f.id for f in facts}
    wanted = [f.superseded_by for f in facts if f.superseded_by and f.superseded_by not in shown]
    wanted += [
        str(f.metadata["corrects"])
        for f in facts
        if isinstance(f.metadata.get("corrects"), str) and f.metadata["corrects"] not in shown
    ]
    linked = {f.id: f for f in runtime.store.get_facts(scope, list(dict.fromkeys(wanted)))}
    return facts, linked


def recent_jobs(runtime: Runtime, tenant_id: int, limit: int) -> list[JobRecord]:
    return runtime.store.recent_jobs(tenant_id, limit)
