"""Writing, browsing, correcting, pinning and forgetting memories."""

from __future__ import annotations

import base64
import hashlib
import json
from datetime import datetime, timezone
from typing import Annotated

from fastapi import APIRouter, Body, Query
from fastapi.responses import JSONResponse

from ...engine.consolidation import Summary
from ...engine.errors import InvalidInput
from ...engine.memory import AddOutcome, Item
from ...engine.records import ForgetCounts, JobRecord, ListCursor, NewTurn, Scope
from ..deps import Caller, Engine, QueryScope, SessionLabel, UserLabel, scope_of
from ..schemas import (
    AddMemoryRequest,
    AsyncAddResponse,
    BatchAddRequest,
    BatchAddResponse,
    ConsolidationSummary,
    FactCorrectionRequest,
    FactItem,
    ForgetResponse,
    JobHandle,
    MemoryItem,
    MemoryPage,
    PinResponse,
    ScopedRequest,
    SyncAddResponse,
    TurnItem,
    WipeRequest,
    WipeResponse,
)
from . import links
from .common import create_post, errors, job_handle, summary_model, view

router = APIRouter(prefix="/v1", tags=["memories"])


def _async_body(outcome: AddOutcome) -> AsyncAddResponse:
    job: JobRecord | None = outcome.job
    return AsyncAddResponse(
        turn_id=outcome.turn_id,
        created=outcome.created,
        consolidation_queued=job is not None,
        job=job_handle(job) if job else None,
    )


@router.post(
    "/memories",
    summary="Add a turn",
    status_code=201,
    response_model=AsyncAddResponse,
    responses={
        201: {"links": links.ADD_ASYNC},
        200: {
            "model": SyncAddResponse,
            "description": "Stored and consolidated (mode=sync).",
            "links": links.ADD_SYNC,
        },
        **errors(413, 422),
    },
)
def add_memory(
    body: AddMemoryRequest, who: Caller, engine: Engine
) -> AsyncAddResponse | JSONResponse:
    """Store one conversational turn. `mode=async` (201) queues consolidation on the cadence;
    `mode=sync` (200) consolidates before answering. `infer=false` stores the text verbatim."""
    said = NewTurn(body.content, body.role, body.turn_id, body.event_time)
    outcome = engine.add(
        scope_of(who, body.user_id, body.session_id),
        said,
        mode=body.mode,
        infer=body.infer,
        metadata=body.metadata,
    )
    if body.mode == "sync":
        # A verbatim (infer=false) turn is consolidated by being stored: one episode, no
        # extraction. Sync callers always get the sync body, whatever `infer` says.
        summary = outcome.summary or Summary(tesserae_created=int(outcome.created))
        sync = SyncAddResponse(turn_id=outcome.turn_id, consolidation=summary_model(summary))
        return JSONResponse(sync.model_dump(mode="json"), status_code=200)
    return _async_body(outcome)


@create_post(
    router,
    "/memories:batch",
    summary="Add turns in order",
    links=links.ADD_BATCH,
    fails=(413, 422),
)
def add_memories_batch(body: BatchAddRequest, who: Caller, engine: Engine) -> BatchAddResponse:
    """Append messages in order under one scope; each is individually replay-safe."""
    outcomes = engine.batch(
        scope_of(who, body.user_id, body.session_id),
        [NewTurn(m.content, m.role, m.turn_id, m.event_time) for m in body.messages],
        infer=body.infer,
        metadata=body.metadata,
    )
    return BatchAddResponse(results=[_async_body(o) for o in outcomes])


def _scope_hash(scope: Scope) -> str:
    raw = f"{scope.tenant_id}|{scope.user_id or ''}|{scope.session_id or ''}".encode()
    return hashlib.sha256(raw).hexdigest()[:16]


def encode_cursor(cursor: ListCursor, scope: Scope) -> str:
    raw = json.dumps(
        {"t": cursor.created_at.isoformat(), "i": cursor.item_id, "s": _scope_hash(scope)}
    )
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_cursor(value: str, scope: Scope) -> ListCursor:
    try:
        if len(value) > 512:
            raise ValueError
        data = json.loads(base64.urlsafe_b64decode(value + "=" * (-len(value) % 4)))
        stamp, item_id, owner = data["t"], data["i"], data["s"]
        if not all(isinstance(v, str) for v in (stamp, item_id, owner)):
            raise ValueError
        created = datetime.fromisoformat(stamp)
        if created.tzinfo is None:
            raise ValueError
        created = created.astimezone(timezone.utc)
    except (ValueError, KeyError, TypeError, OverflowError):
        raise InvalidInput(
            "`cursor` is not a cursor this service issued; start without one"
        ) from None
    if owner != _scope_hash(scope):
        raise InvalidInput("`cursor` belongs to a different scope; use the one its page came from")
    return ListCursor(created, item_id)


def memory_item(item: Item) -> MemoryItem:
    return view(MemoryItem, item)


@router.get(
    "/memories", summary="List memories", responses={200: {"links": links.LIST}, **errors(422)}
)
def list_memories(
    who: Caller,
    engine: Engine,
    user_id: UserLabel = None,
    session_id: SessionLabel = None,
    cursor: Annotated[str | None, Query(description="Opaque cursor from a previous page.")] = None,
    limit: Annotated[int | None, Query(description="Page size (default 50, max 200).")] = None,
) -> MemoryPage:
    """Episodes and facts, newest first, one page at a time (keyset pagination)."""
    scope = scope_of(who, user_id, session_id)
    size = engine.page_size(limit)
    page = engine.list(scope, decode_cursor(cursor, scope) if cursor else None, size)
    return MemoryPage(
        items=[memory_item(i) for i in page.items],
        has_more=page.next_cursor is not None,
        next_cursor=encode_cursor(page.next_cursor, scope) if page.next_cursor else None,
    )


@router.delete("/memories", summary="Erase a scope", responses=errors(422))
def wipe_memories(body: WipeRequest, who: Caller, engine: Engine) -> WipeResponse:
    """Erase every row of the scope from every table (right to be forgotten)."""
    return WipeResponse(total=engine.wipe(scope_of(who, body.user_id, body.session_id)))


def _forget_body(counts: ForgetCounts) -> ForgetResponse:
    return ForgetResponse(
        turns_deleted=counts.turns,
        tesserae_deleted=counts.episodes,
        facts_deleted=counts.facts,
        foresight_deleted=counts.foresight,
    )


@router.delete(
    "/memories/turns/{turn_id:path}", summary="Forget a turn", responses=errors(404, 422)
)
def forget_turn(turn_id: str, body: ScopedRequest, who: Caller, engine: Engine) -> ForgetResponse:
    """Remove a raw turn and everything derived from it alone."""
    return _forget_body(engine.forget_turn(scope_of(who, body.user_id, body.session_id), turn_id))


@router.get("/memories/turns/{turn_id:path}", summary="Get a turn", responses=errors(404, 422))
def get_turn(turn_id: str, scope: QueryScope, engine: Engine) -> TurnItem:
    """One raw turn, whole: the way back from a search hit on a part of a long turn
    (`metadata.tessera.part`) to everything that was said in it."""
    return view(TurnItem, engine.turn(scope, turn_id))


@router.get(
    "/memories/{item_id}",
    summary="Get a memory",
    responses={200: {"links": links.GET}, **errors(404, 422)},
)
def get_memory(item_id: str, scope: QueryScope, engine: Engine) -> MemoryItem:
    """One episode (`ep_`) or fact (`ft_`) with its provenance in `metadata.tessera`."""
    return memory_item(engine.get(scope, item_id))


@router.delete("/memories/{item_id}", summary="Forget a memory", responses=errors(404, 422))
def forget_memory(item_id: str, body: ScopedRequest, who: Caller, engine: Engine) -> ForgetResponse:
    """Delete an episode or fact and what depends on it; counts are exact."""
    return _forget_body(engine.forget(scope_of(who, body.user_id, body.session_id), item_id))


@router.patch(
    "/memories/{item_id}",
    summary="Correct a fact",
    tags=["facts"],
    responses={200: {"links": links.CORRECT}, **errors(404, 409, 422)},
)
def correct_fact(
    item_id: str, body: FactCorrectionRequest, who: Caller, engine: Engine
) -> FactItem:
    """Replace a fact's object: a successor fact is created and the old one expires."""
    fact = engine.correct(
        scope_of(who, body.user_id, body.session_id),
        item_id,
        obj=body.object,
        confidence=body.confidence,
        t_valid=body.t_valid,
    )
    return view(FactItem, fact)


@router.post(
    "/memories/{item_id}/pin", summary="Pin an episode", tags=["pins"], responses=errors(404, 422)
)
def pin_memory(
    item_id: str, body: Annotated[ScopedRequest, Body()], who: Caller, engine: Engine
) -> PinResponse:
    """Keep an episode out of reach of maintenance; `ep_` ids only."""
    changed = engine.pin(scope_of(who, body.user_id, body.session_id), item_id, True)
    return PinResponse(id=item_id, pinned=True, changed=changed)


@router.delete(
    "/memories/{item_id}/pin", summary="Unpin an episode", tags=["pins"], responses=errors(404, 422)
)
def unpin_memory(
    item_id: str, body: Annotated[ScopedRequest, Body()], who: Caller, engine: Engine
) -> PinResponse:
    """Clear an episode's pin."""
    changed = engine.pin(scope_of(who, body.user_id, body.session_id), item_id, False)
    return PinResponse(id=item_id, pinned=False, changed=changed)


__all__ = ["ConsolidationSummary", "JobHandle", "router"]
