"""The engine's front door: every memory operation the API offers, free of HTTP and SQL."""

from __future__ import annotations

import builtins
import json
import math
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal

from ulid import ULID

from . import consolidation, forgetting, maintenance, overview, pending, timeline
from .clock import as_utc, utcnow
from .compose import Composed, compose
from .consolidation import Summary
from .errors import Conflict, InvalidInput, NotFound, PayloadTooLarge
from .ids import expect, item_kind, job_pk, new_episode_id, new_fact_id
from .narration import own_vector_text, turn_line
from .parts import part_attrs, part_of, split_parts
from .records import (
    EpisodeRecord,
    FactEnd,
    FactRecord,
    ForgetCounts,
    JobRecord,
    ListCursor,
    NewTurn,
    Scope,
    ScopeSummary,
    TurnRecord,
    Vector,
)
from .retrieval import Hit, SearchParams, search
from .runtime import Runtime
from .scope import owned_by

ROLES = ("system", "user", "assistant")
# A verbatim turn's notes: each note's text with its vector.
Notes = list[tuple[str, Vector | None]]


@dataclass
class AddOutcome:
    turn_id: str
    created: bool
    job: JobRecord | None
    summary: Summary | None


@dataclass
class Item:
    """An episode or a fact as `memories.get`/`list` show it."""

    id: str
    type: Literal["episode", "fact"]
    text: str
    created_at: datetime
    metadata: dict[str, Any]


@dataclass
class Page:
    items: list[Item]
    next_cursor: ListCursor | None


@dataclass
class Timeline:
    """A page of the scope's memories with the records and turns behind its episodes."""

    page: Page
    episodes: dict[str, EpisodeRecord]
    turns: dict[str, list[TurnRecord]]


def require_aware(value: datetime | None, name: str) -> datetime | None:
    if value is None:
        return None
    if value.tzinfo is None:
        raise InvalidInput(f"`{name}` needs a timezone offset, e.g. 2024-05-01T12:00:00Z")
    try:
        return as_utc(value)
    except OverflowError:
        raise InvalidInput(f"`{name}` is outside the range of representable UTC times") from None


def _count(name: str, value: int | None, default: int, most: int) -> int:
    """A caller's count: `default` when not given, else between 1 and `most`."""
    count = default if value is None else value
    if count < 1 or count > most:
        raise InvalidInput(f"`{name}` must be between 1 and {most}")
    return count


class Memory:
    """Operations on one runtime. Every method takes the caller's tenant-bound scope."""

    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime
        self.settings = runtime.settings
        self.store = runtime.store

    # -- validation shared by writes ---------------------------------------------------

    def _check_content(self, content: str, name: str = "content", limit: int | None = None) -> str:
        if not content.strip():
            raise InvalidInput(f"`{name}` is empty; there is nothing to remember")
        most = self.settings.max_content_chars if limit is None else limit
        if len(content) > most:
            raise PayloadTooLarge(f"`{name}` has {len(content)} characters; the limit is {most}")
        if "\x00" in content:
            raise InvalidInput(f"`{name}` contains a NUL character")
        return content

    def _check_metadata(self, metadata: dict[str, Any] | None) -> dict[str, Any]:
        if metadata is None:
            return {}

        def depth(value: Any, level: int) -> int:
            if isinstance(value, dict):
                return max([depth(v, level + 1) for v in value.values()], default=level + 1)
            if isinstance(value, list):
                return max([depth(v, level + 1) for v in value], default=level + 1)
            if isinstance(value, float) and not math.isfinite(value):
                raise InvalidInput("`metadata` holds NaN or Infinity, which JSON cannot carry")
            if isinstance(value, int) and not isinstance(value, bool) and abs(value) > 2**63:
                raise InvalidInput("`metadata` holds an integer too large to store")
            return level

        if depth(metadata, 0) > self.settings.max_metadata_depth:
            raise InvalidInput(
                f"`metadata` is nested more than {self.settings.max_metadata_depth} levels deep"
            )
        size = len(json.dumps(metadata, ensure_ascii=False).encode("utf-8"))
        if size > self.settings.max_metadata_bytes:
            raise PayloadTooLarge(
                f"`metadata` is {size} bytes as JSON; the limit is {self.settings.max_metadata_bytes}"
            )
        return metadata

    def _check_turn_id(self, turn_id: str | None) -> str:
        if turn_id is None:
            return str(ULID())
        if not turn_id.strip() or len(turn_id) > self.settings.max_label_chars:
            raise InvalidInput(
                f"`turn_id` must be 1 to {self.settings.max_label_chars} non-blank characters"
            )
        if any(ord(ch) < 32 for ch in turn_id):
            raise InvalidInput("`turn_id` contains control characters")
        if turn_id in (".", ".."):
            # A URL path segment of "." or ".." is removed by clients, so such a turn could
            # never be addressed (DELETE …/turns/.. would reach DELETE /v1/memories).
            raise InvalidInput("`turn_id` cannot be '.' or '..'")
        return turn_id

    # -- writing -----------------------------------------------------------------------

    def add(
        self,
        scope: Scope,
        said: NewTurn,
        *,
        mode: str,
        infer: bool,
        metadata: dict[str, Any] | None,
    ) -> AddOutcome:
        turn = self._new_turn(scope, said, infer, metadata, None)
        stored, created = self._store_turn(turn, self._embed_turns([turn])[0])
        if not infer:
            return AddOutcome(stored.turn_id, created, None, None)
        if mode == "sync":
            summary = consolidation.consolidate(self.runtime, scope)
            return AddOutcome(stored.turn_id, created, None, summary)
        job = self._maybe_enqueue(scope) if created else None
        return AddOutcome(stored.turn_id, created, job, None)

    def batch(
        self,
        scope: Scope,
        messages: list[NewTurn],
        *,
        infer: bool,
        metadata: dict[str, Any] | None,
    ) -> list[AddOutcome]:
        if not messages:
            raise InvalidInput("`messages` is empty; send at least one message")
        if len(messages) > self.settings.max_batch:
            raise PayloadTooLarge(
                f"`messages` has {len(messages)} entries; the limit is {self.settings.max_batch}"
            )
        base = utcnow()
        turns = [
            # Microsecond steps keep the batch's order when all share one clock reading.
            self._new_turn(scope, m, infer, metadata, base + timedelta(microseconds=i))
            for i, m in enumerate(messages)
        ]
        # A long verbatim turn's parts are embedded before the transaction opens: embedding
        # inside it held the database's write lock for as long as the model ran, and other
        # writers waited past the busy timeout (503s under eight concurrent batch imports).
        notes = self._embed_turns(turns)
        outcomes = []
        with self.store.transaction():
            for turn, parts in zip(turns, notes, strict=True):
                stored, created = self._store_turn(turn, parts)
                outcomes.append(AddOutcome(stored.turn_id, created, None, None))
        if infer and any(o.created for o in outcomes):
            job = self._maybe_enqueue(scope)
            if job is not None:
                outcomes[-1].job = job
        return outcomes

    def _new_turn(
        self,
        scope: Scope,
        said: NewTurn,
        infer: bool,
        metadata: dict[str, Any] | None,
        when: datetime | None,
    ) -> TurnRecord:
        if said.role not in ROLES:
            raise InvalidInput(f"`role` must be one of {', '.join(ROLES)}")
        now = when or utcnow()
        return TurnRecord(
            **owned_by(scope),
            turn_id=self._check_turn_id(said.turn_id),
            role=said.role,
            content=self._check_content(said.content, limit=self.settings.max_turn_chars),
            event_time=require_aware(said.event_time, "event_time") or now,
            metadata=self._check_metadata(metadata),
            infer=infer,
            created_at=now,
        )

    def _store_turn(self, turn: TurnRecord, notes: Notes) -> tuple[TurnRecord, bool]:
        """Store a turn; a verbatim (infer=false) turn is also its own note at once (a long
        one, one note per part: see `parts`). `notes`: the verbatim turn's, embedded."""
        with self.store.transaction():
            stored, created = self.store.insert_turn(turn)
            if created:
                for index, (text, vector) in enumerate(notes, start=1):
                    self.store.insert_episode(
                        EpisodeRecord(
                            id=new_episode_id(),
                            **owned_by(turn),
                            kind="note",
                            text=text,
                            role=turn.role,
                            event_time=turn.event_time,
                            importance=0.5,
                            metadata=dict(turn.metadata),
                            created_at=turn.created_at,
                            source_turn_pks=[stored.pk] if stored.pk is not None else [],
                            attrs=part_attrs(index, len(notes)) if len(notes) > 1 else {},
                            embedding=vector,
                        )
                    )
        return stored, created

    def _embed_turns(self, turns: builtins.list[TurnRecord]) -> builtins.list[Notes]:
        """Give each turn its own vector, and return each verbatim turn's notes (its parts
        when it is long) with theirs, in one call of the model.

        With parts embedded once (see `parts`) no text is read twice: a long turn's own
        vector is its first part's, and a whole verbatim turn's note shares the turn's.
        """
        once, size = self.settings.turn_parts_embedded_once, self.settings.turn_part_chars
        texts: builtins.list[str] = []

        def embedding(text: str) -> int:
            texts.append(text)
            return len(texts) - 1

        plans: builtins.list[tuple[int, builtins.list[tuple[str, int]]]] = []
        for turn in turns:
            pieces = split_parts(turn.content, size) if not turn.infer else []
            if len(pieces) > 1:
                notes = [(piece, embedding(piece)) for piece in pieces]
                own = notes[0][1] if once else embedding(turn.content)
            else:
                own = embedding(own_vector_text(turn, size, once))
                notes = [] if turn.infer else [(turn.content, own)]
            plans.append((own, notes))
        vectors = self.runtime.embedder.embed(texts)
        out: builtins.list[Notes] = []
        for turn, (own, notes) in zip(turns, plans, strict=True):
            turn.embedding = vectors[own]
            out.append([(text, vectors[at]) for text, at in notes])
        return out

    def _maybe_enqueue(self, scope: Scope) -> JobRecord | None:
        """Queue consolidation when enough turns wait (the cadence)."""
        if self.store.count_pending(scope) < self.settings.consolidate_every:
            return None
        job, _ = self.store.enqueue_job(scope, "consolidate", utcnow())
        return job

    # -- reading -----------------------------------------------------------------------

    def search(self, scope: Scope, params: SearchParams) -> list[Hit]:
        return search(self.runtime, scope, params)

    def query(
        self, scope: Scope, params: SearchParams, mode: str, hits: builtins.list[Hit] | None = None
    ) -> Composed:
        return compose(self.runtime, scope, params, mode, hits)

    def get(self, scope: Scope, item_id: str) -> Item:
        if item_kind(item_id) == "episode":
            episodes = self.store.get_episodes(scope, [item_id])
            if not episodes:
                waiting = pending.find(self.store, scope, item_id)
                if waiting is None:
                    raise NotFound("no such episode in this scope")
                return as_item(waiting[0])
            return as_item(episodes[0])
        facts = self.store.get_facts(scope, [item_id])
        if not facts:
            raise NotFound("no such fact in this scope")
        return as_item(facts[0])

    # -- bounds a caller's numbers must keep (the API checks types only) -----------------

    def page_size(self, limit: int | None) -> int:
        """`limit` of a list call, defaulted and bounded."""
        return _count("limit", limit, self.settings.default_page_size, self.settings.max_page_size)

    def result_count(self, top_k: int | None) -> int:
        """`top_k` of a read, defaulted and bounded."""
        return _count("top_k", top_k, self.settings.default_top_k, self.settings.max_top_k)

    def list(self, scope: Scope, cursor: ListCursor | None, limit: int) -> Page:
        # Turns waiting for consolidation are listed too, as the episodes they stand for
        # until then (engine/pending.py).
        waiting = {ep.id: ep for ep in pending.in_scope(self.store, scope)}
        rows = pending.merge_listing(
            self.store.list_items(scope, cursor, limit + 1),
            list(waiting.values()),
            cursor,
            limit + 1,
        )
        page, more = rows[:limit], len(rows) > limit
        episodes = {
            e.id: e
            for e in self.store.get_episodes(
                scope, [r.id for r in page if r.kind == "episode" and r.id not in waiting]
            )
        }
        episodes.update((r.id, waiting[r.id]) for r in page if r.id in waiting)
        facts = {
            f.id: f for f in self.store.get_facts(scope, [r.id for r in page if r.kind == "fact"])
        }
        items = []
        for row in page:
            if row.kind == "episode" and row.id in episodes:
                items.append(as_item(episodes[row.id]))
            elif row.kind == "fact" and row.id in facts:
                items.append(as_item(facts[row.id]))
        next_cursor = ListCursor(page[-1].created_at, page[-1].id) if more and page else None
        return Page(items, next_cursor)

    # -- changing what is known ----------------------------------------------------------

    def correct(
        self,
        scope: Scope,
        item_id: str,
        *,
        obj: str,
        confidence: float,
        t_valid: datetime | None,
    ) -> FactRecord:
        expect(item_id, "fact")
        obj = self._check_content(obj, "object").strip()
        if not (0.0 <= confidence <= 1.0) or not math.isfinite(confidence):
            raise InvalidInput("`confidence` must be between 0 and 1")
        valid_from = require_aware(t_valid, "t_valid")
        with self.store.transaction():
            found = self.store.get_facts(scope, [item_id])
            if not found:
                raise NotFound("no such fact in this scope")
            old = found[0]
            if old.t_expired is not None:
                # Retired by an earlier correction. A fact closed on the valid timeline (a
                # past value) may still be corrected: its successor takes its place there.
                raise Conflict(
                    f"fact {item_id} was already superseded by {old.superseded_by or 'a correction'}; "
                    "correct the current fact instead"
                )
            now = utcnow()
            text = (
                old.text.replace(old.object, obj)
                if old.object and old.object in old.text
                else f"{old.subject} {old.relation.replace('_', ' ')}: {obj}"
            )
            new = FactRecord(
                id=new_fact_id(),
                **owned_by(old),
                subject=old.subject,
                relation=old.relation,
                object=obj,
                text=text,
                role=old.role,
                confidence=confidence,
                importance=old.importance,
                functional=old.functional,
                t_valid=valid_from or old.t_valid,
                t_created=now,
                metadata={**old.metadata, "corrects": old.id},
                created_at=now,
                episode_id=old.episode_id,
                source_turn_pks=list(old.source_turn_pks),
                embedding=self.runtime.embedder.embed([text])[0],
            )
            self.store.close_fact(
                old.id, old.tenant_id, FactEnd(t_expired=now, superseded_by=new.id)
            )
            self.store.insert_fact(new)
            chain = timeline.owner_scope(old.tenant_id, old.user_id, old.session_id)
            timeline.relink(self.store, chain, old.subject, old.relation)
        if scope.user_id is not None:
            maintenance.refresh_portrait(self.runtime, scope.tenant_id, scope.user_id)
        return new

    def pin(self, scope: Scope, item_id: str, pinned: bool) -> bool:
        expect(item_id, "episode")
        # Unlike the deletes, pinning is not idempotent over absence: pinning nothing would
        # report success for an episode that is not there. Unknown, another user's and another
        # tenant's ids all get the same 404, so the answer tells nothing about them.
        changed = self.store.set_pinned(scope, item_id, pinned)
        if changed is None:
            waiting = pending.find(self.store, scope, item_id)
            if waiting is not None:
                # A turn shown as its own episode: its episode is built now (it keeps this
                # id when the turn begins it), and that episode is pinned.
                turn = waiting[1]
                consolidation.consolidate(
                    self.runtime, Scope(turn.tenant_id, turn.user_id, turn.session_id)
                )
                changed = self.store.set_pinned(scope, item_id, pinned)
        if changed is None:
            raise NotFound("no such episode in this scope")
        return changed

    # -- forgetting --------------------------------------------------------------------

    def forget(self, scope: Scope, item_id: str) -> ForgetCounts:
        if item_kind(item_id) == "episode" and not self.store.get_episodes(scope, [item_id]):
            waiting = pending.find(self.store, scope, item_id)
            if waiting is not None:
                # A turn shown as its own episode: forgetting the one forgets the other.
                turn = waiting[1]
                own = Scope(turn.tenant_id, turn.user_id, turn.session_id)
                return forgetting.forget_turn(self.runtime, own, turn.turn_id)
        return forgetting.forget_item(self.runtime, scope, item_id)

    def forget_turn(self, scope: Scope, turn_id: str) -> ForgetCounts:
        # An id that could never have been stored is a mistake to report, not a no-op.
        return forgetting.forget_turn(self.runtime, scope, self._check_turn_id(turn_id))

    def wipe(self, scope: Scope) -> int:
        return forgetting.wipe(self.runtime, scope)

    # -- maintenance and jobs ------------------------------------------------------------

    def consolidate_now(self, scope: Scope) -> Summary:
        return consolidation.consolidate(self.runtime, scope)

    def enqueue_consolidation(self, scope: Scope) -> JobRecord:
        job, _ = self.store.enqueue_job(scope, "consolidate", utcnow())
        return job

    def reindex(self, scope: Scope) -> tuple[int, int]:
        return maintenance.reindex(self.runtime, scope)

    def compress(self, scope: Scope, token_budget: int) -> str:
        if token_budget < 1 or token_budget > 1_000_000:
            raise InvalidInput("`token_budget` must be between 1 and 1000000")
        return maintenance.compress(self.runtime, scope, token_budget)

    def job(self, tenant_id: int, job_id: str) -> JobRecord:
        found = self.store.get_job(tenant_id, job_pk(job_id))
        if found is None:
            raise NotFound("no such job")
        return found

    # -- whole views, for people (the console) -------------------------------------------

    def authenticate(self, key: str) -> overview.KeyHolder | None:
        return overview.authenticate(self.runtime, key)

    def key_secret(self, prefix: str) -> tuple[overview.KeyHolder, str] | None:
        return overview.key_secret(self.runtime, prefix)

    def scopes(
        self, tenant_id: int, user_id: str | None, limit: int
    ) -> builtins.list[ScopeSummary]:
        return overview.scopes(self.runtime, tenant_id, user_id, limit)

    def timeline(self, scope: Scope, cursor: ListCursor | None, limit: int) -> Timeline:
        """A page of `list` (same order and cursor) with each episode's record and turns."""
        page = self.list(scope, cursor, limit)
        ids = [i.id for i in page.items if i.type == "episode"]
        episodes = self.store.get_episodes(scope, ids)
        # A long turn shows once, under its first part, not under each of its parts.
        shown = [e for e in episodes if (part_of(e.attrs) or (1, 1))[0] == 1]
        return Timeline(page, {e.id: e for e in episodes}, overview.turns_of(self.runtime, shown))

    def episode_turns(
        self, scope: Scope, episode_ids: builtins.list[str]
    ) -> dict[str, builtins.list[TurnRecord]]:
        return overview.turns_of(self.runtime, self.store.get_episodes(scope, episode_ids))

    def users_in(self, scope: Scope) -> builtins.list[str]:
        """The users who own memory in the scope (a session may span several)."""
        return self.store.users_in_scope(scope)

    def sides(self, scope: Scope) -> overview.Sides:
        return overview.sides(self.runtime, scope)

    def fact_history(
        self,
        scope: Scope,
        as_of: datetime | None,
        known_as_of: datetime | None,
        limit: int,
    ) -> tuple[builtins.list[FactRecord], dict[str, FactRecord]]:
        return overview.fact_history(
            self.runtime,
            scope,
            require_aware(as_of, "as_of"),
            require_aware(known_as_of, "known_as_of"),
            limit,
        )

    def recent_jobs(self, tenant_id: int, limit: int) -> builtins.list[JobRecord]:
        return overview.recent_jobs(self.runtime, tenant_id, limit)

    def preview_forget_turn(self, scope: Scope, turn_id: str) -> forgetting.TurnCascade | None:
        return forgetting.preview_forget_turn(self.runtime, scope, self._check_turn_id(turn_id))

    def turn(self, scope: Scope, turn_id: str) -> TurnRecord:
        found = self.store.get_turn(scope, self._check_turn_id(turn_id))
        if found is None:
            raise NotFound(f"no turn {turn_id[:40]} in this scope")
        return found


def _provenance(record: EpisodeRecord | FactRecord) -> dict[str, Any]:
    base: dict[str, Any] = {"source_turn_ids": list(record.source_turn_ids)}
    if isinstance(record, EpisodeRecord):
        base.update(
            kind=record.kind,
            event_time=record.event_time.isoformat(),
            importance=record.importance,
            pinned=record.pinned,
        )
        part = part_of(record.attrs)
        if part is not None:
            # One part of a long turn: the turn (`source_turn_ids`) reads back whole.
            base["part"] = {"index": part[0], "count": part[1]}
        if record.attrs.get("pending"):
            # Not consolidated yet: the turn itself, until an episode is built from it.
            base["pending"] = True
        if record.kind == "resource" and "ocr" in record.attrs:
            base["ocr"] = record.attrs["ocr"]  # an upload's text reading: pending/done/failed/off
    else:
        base.update(
            subject=record.subject,
            relation=record.relation,
            object=record.object,
            confidence=record.confidence,
            t_valid=record.t_valid.isoformat(),
            t_invalid=record.t_invalid.isoformat() if record.t_invalid else None,
            t_created=record.t_created.isoformat(),
            t_expired=record.t_expired.isoformat() if record.t_expired else None,
            superseded_by=record.superseded_by,
            episode_id=record.episode_id,
        )
    return base


def as_item(record: EpisodeRecord | FactRecord) -> Item:
    """An episode or a fact as callers see it: its text, with provenance in `tessera`."""
    kind: Literal["episode", "fact"] = "episode" if isinstance(record, EpisodeRecord) else "fact"
    metadata = {**record.metadata, "tessera": _provenance(record)}
    return Item(record.id, kind, record.text, record.created_at, metadata)


__all__ = ["AddOutcome", "Item", "Memory", "Page", "turn_line"]
