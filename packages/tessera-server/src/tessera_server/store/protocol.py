"""The store protocol: everything the engine asks of persistence, and nothing more.

A backend is one folder under `store/` implementing this protocol; the engine never
sees SQL, connections or which backend is active.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable, Iterator, Sequence
from contextlib import AbstractContextManager
from datetime import datetime, timedelta
from typing import Any, Protocol

from ..engine.records import (
    ApiKeyRecord,
    EpisodePool,
    EpisodeRecord,
    FactEnd,
    FactPool,
    FactRecord,
    ForesightRecord,
    ForgetCounts,
    JobRecord,
    ListCursor,
    ListedItem,
    PanelRecord,
    RankedIds,
    RankedPks,
    Scope,
    ScopeSummary,
    TimeTravel,
    TurnRecord,
    Vector,
)


class StoreBusy(Exception):
    """A conflict with concurrent writers (a deadlock, a serialization failure) that outlasted
    the store's own retries. The operation was rolled back; repeating it later may succeed,
    so the API answers 503 with Retry-After."""

    retry_after = 1


def new_job_pk() -> int:
    """A job's key: random, not the next of a sequence. The public id is `job_<pk>`, and a
    tenant polling its own jobs must learn nothing about how many jobs other tenants queued.
    Jobs run oldest first by `created_at`, so nothing depends on keys growing."""
    return secrets.randbelow(2**63 - 1) + 1


class Store(Protocol):
    """Persistence for turns, memories, jobs and keys. Writes inside `transaction()` commit
    together; calls outside one commit on their own."""

    backend: str

    def migrate(self) -> list[str]: ...

    def ping(self) -> bool: ...

    def close(self) -> None: ...

    def transaction(self) -> AbstractContextManager[None]: ...

    def integrity_ok(self) -> bool: ...

    def ensure_tenant(self, name: str, now: datetime) -> tuple[int, bool]: ...

    def insert_key(
        self, tenant_id: int, prefix: str, key_hash: str, read_only: bool, now: datetime
    ) -> None: ...

    def find_key(self, key_hash: str) -> ApiKeyRecord | None: ...

    def list_keys(self) -> list[ApiKeyRecord]: ...

    def revoke_key(self, prefix: str, now: datetime) -> bool: ...

    def insert_turn(self, turn: TurnRecord) -> tuple[TurnRecord, bool]:
        """Store a turn unless its turn_id exists in the scope; returns (stored, created)."""
        ...

    def get_turn(self, scope: Scope, turn_id: str, *, exact: bool = False) -> TurnRecord | None:
        """A turn by client id. `exact` matches absent labels too (the uniqueness scope)."""
        ...

    def turns_by_pk(self, pks: Sequence[int]) -> list[TurnRecord]: ...

    def pending_turns(self, scope: Scope, limit: int = 10_000) -> list[TurnRecord]: ...

    def count_pending(self, scope: Scope) -> int: ...

    def claim_turns(self, pks: Sequence[int]) -> int:
        """Mark turns consolidated; returns how many were still pending."""
        ...

    def turns_missing_embeddings(self, scope: Scope) -> list[TurnRecord]: ...

    def set_turn_embeddings(self, items: Sequence[tuple[int, Vector]]) -> None: ...

    def episodes_missing_embeddings(self, scope: Scope) -> list[tuple[str, str]]: ...

    def facts_missing_embeddings(self, scope: Scope) -> list[tuple[str, str]]: ...

    def set_item_embeddings(self, tenant_id: int, items: Sequence[tuple[str, Vector]]) -> None:
        """Replace the vectors of episodes (`ep_`) and facts (`ft_`) by id."""
        ...

    def insert_episode(self, ep: EpisodeRecord) -> EpisodeRecord: ...

    def get_episodes(self, scope: Scope, ids: Sequence[str]) -> list[EpisodeRecord]:
        """Episodes by id, in the order asked, silently skipping ids outside the scope."""
        ...

    def episodes_in_scope(
        self, scope: Scope, kinds: Sequence[str], limit: int = 100_000
    ) -> list[EpisodeRecord]: ...

    def episodes_for_turns(self, turn_pks: Sequence[int]) -> list[EpisodeRecord]: ...

    def update_episode(self, ep: EpisodeRecord) -> None:
        """Rewrite an episode's text, attributes, pin, vector and sources."""
        ...

    def set_pinned(self, scope: Scope, episode_id: str, pinned: bool) -> bool | None:
        """Set the pin; returns whether it changed, or None when the episode is not found."""
        ...

    def update_attrs(self, scope: Scope, episode_id: str, attrs: dict[str, Any]) -> bool: ...

    def insert_fact(self, fact: FactRecord) -> FactRecord: ...

    def get_facts(self, scope: Scope, ids: Sequence[str]) -> list[FactRecord]: ...

    def live_facts(
        self, scope: Scope, subject: str | None = None, relation: str | None = None
    ) -> list[FactRecord]:
        """Facts neither expired nor invalidated, optionally for one subject and relation."""
        ...

    def close_fact(self, fact_id: str, tenant_id: int, end: FactEnd) -> None:
        """End a fact's validity and/or its belief interval as `end` says; never deletes it."""
        ...

    def believed_facts(self, scope: Scope, subject: str, relation: str) -> list[FactRecord]:
        """Facts of one subject and relation not expired, whatever their validity, ordered
        by t_valid then insertion: the chain the engine's timeline places facts in."""
        ...

    def all_facts(self, scope: Scope) -> list[FactRecord]:
        """Every fact of the scope, retired ones included, ordered by t_valid then
        insertion (the engine reads a portrait as of a past instant from them)."""
        ...

    def dangling_supersessions(self, tenant_id: int) -> list[FactRecord]:
        """Believed facts whose `superseded_by` names a fact that no longer exists."""
        ...

    def set_fact_validity(
        self, tenant_id: int, changes: Sequence[tuple[str, datetime | None, str | None]]
    ) -> None:
        """Set each (fact id, t_invalid, superseded_by) exactly, None included: the
        persistence of what the engine's timeline decided."""
        ...

    def insert_foresight(self, item: ForesightRecord) -> ForesightRecord: ...

    def live_foresight(self, scope: Scope, now: datetime) -> list[ForesightRecord]:
        """Foresight not expired at `now`, with its source turns."""
        ...

    def put_portrait(
        self, tenant_id: int, user_id: str, data: dict[str, Any], now: datetime
    ) -> None: ...

    def get_portrait(self, tenant_id: int, user_id: str) -> dict[str, Any] | None: ...

    def replace_panels(
        self, tenant_id: int, user_id: str, panels: Sequence[PanelRecord]
    ) -> int: ...

    def get_panels(self, tenant_id: int, user_id: str) -> list[PanelRecord]: ...

    # The search arms: the engine says which rows may be ranked (a pool), the store ranks
    # them by words (BM25-style over stemmed terms) or by vector (cosine), best first.
    def lexical_episodes(
        self, pool: EpisodePool, terms: Sequence[str], limit: int
    ) -> RankedIds: ...

    def dense_episodes(self, pool: EpisodePool, query: Vector, limit: int) -> RankedIds: ...

    def lexical_facts(self, pool: FactPool, terms: Sequence[str], limit: int) -> RankedIds: ...

    def dense_facts(self, pool: FactPool, query: Vector, limit: int) -> RankedIds: ...

    def lexical_turns(self, scope: Scope, terms: Sequence[str], limit: int) -> RankedPks: ...

    def dense_turns(self, scope: Scope, query: Vector, limit: int) -> RankedPks: ...

    def episodes_of_turns(
        self, scope: Scope, turn_pks: Sequence[int], kinds: Sequence[str]
    ) -> dict[int, list[str]]:
        """For each turn, the ids of the episodes (of the given kinds) built from it."""
        ...

    def turn_vectors(self, turn_pks: Sequence[int]) -> dict[int, Vector]: ...

    def turn_neighbors(self, pks: Sequence[int], max_gap: timedelta) -> dict[int, list[int]]:
        """For each turn, the turns said just before and just after it in its conversation.

        A conversation is one (tenant, user, session) in (event_time, pk) order; a neighbour
        more than `max_gap` away in time belongs to another sitting and is left out.
        """
        ...

    def list_items(self, scope: Scope, cursor: ListCursor | None, limit: int) -> list[ListedItem]:
        """Episodes and believed facts, newest first, strictly after the cursor."""
        ...

    def derived_from_episode(self, ep: EpisodeRecord) -> tuple[list[int], list[int]]:
        """(fact pks, foresight pks) of the items drawn from the episode."""
        ...

    def drawn_only_from(self, turn_pks: Sequence[int]) -> tuple[list[int], list[int]]:
        """(fact pks, foresight pks) of the items whose every source turn is among these."""
        ...

    def delete_rows(self, table: str, pks: Sequence[int]) -> int:
        """Delete episodes, facts or foresight items by primary key; returns how many."""
        ...

    def unlink_turns(self, turn_pks: Sequence[int]) -> None:
        """Drop the links from facts and foresight items to these turns."""
        ...

    def delete_fact(self, fact: FactRecord) -> ForgetCounts: ...

    def delete_turn_rows(self, tenant_id: int, turn_pks: Sequence[int]) -> int:
        """Delete turns and the facts and foresight drawn only from them."""
        ...

    def wipe(self, scope: Scope) -> int:
        """Delete every row of the scope from every table; returns the number of rows."""
        ...

    def users_in_scope(self, scope: Scope) -> list[str]:
        """The user_ids that own episodes or facts in the scope (for refreshing derived state)."""
        ...

    def enqueue_job(self, scope: Scope, kind: str, now: datetime) -> tuple[JobRecord, bool]:
        """Queue a job unless one is already queued for the same scope and kind."""
        ...

    def get_job(self, tenant_id: int, pk: int) -> JobRecord | None: ...

    def queued_jobs(self, tenant_id: int, user_id: str | None, kind: str) -> int:
        """How many jobs of `kind` wait (queued, not running) for the user, in any session."""
        ...

    def claim_job(
        self, now: datetime, lease: timedelta, served: Sequence[int] = ()
    ) -> JobRecord | None:
        """Lease a queued job, or one whose lease ran out: round-robin between tenants, a
        tenant not in `served` first, then in the order of `served` (the tenants this worker
        served, least recently first); the oldest job of that tenant."""
        ...

    def renew_job_lease(self, pk: int, attempts: int, now: datetime, lease: timedelta) -> bool:
        """Extend the lease of a job this worker still holds (running, same attempt): the
        heartbeat of a long job. Returns False when the job is no longer this worker's."""
        ...

    def finish_job(self, pk: int, status: str, error: str | None, now: datetime) -> None: ...

    def recover_interrupted_jobs(self, now: datetime) -> int:
        """Requeue jobs left running by a process that died."""
        ...

    def scopes_with_pending_turns(self) -> list[Scope]: ...

    def export_rows(self, tenant: str | None, user_id: str | None) -> Iterator[dict[str, Any]]:
        """A tenant's memory (every tenant's when None; one user's when given) as portable
        rows, in the format of `store/portable.py`. Raises LookupError for an unknown tenant."""
        ...

    def import_rows(self, rows: Iterable[dict[str, Any]]) -> dict[str, int]:
        """Store exported rows in one transaction, skipping what exists; counts per type."""
        ...

    # The console's reads.

    def find_key_by_prefix(self, prefix: str) -> tuple[ApiKeyRecord, str] | None:
        """A key by its public prefix, with its stored hash (what signs console sessions)."""
        ...

    def scope_summaries(
        self, tenant_id: int, user_id: str | None, limit: int
    ) -> list[ScopeSummary]:
        """Each (user, session) of the tenant (one user's when given) with its counts of
        turns, episodes, believed facts and foresight, most recently active first."""
        ...

    def recent_jobs(self, tenant_id: int, limit: int) -> list[JobRecord]:
        """The tenant's jobs, newest first."""
        ...

    def fact_history(
        self, scope: Scope, travel: TimeTravel | None, now: datetime, limit: int
    ) -> list[FactRecord]:
        """The scope's facts, superseded ones too, newest first (by `created_at`, then id);
        with `travel`, only
        those valid at its `as_of` and believed at its `known_as_of` (each default: now)."""
        ...
