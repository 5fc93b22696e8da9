"""Search and query: ranked hits, or a composed prompt-ready context."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter

from ...engine.memory import Memory, require_aware
from ...engine.retrieval import Hit, SearchParams
from ..deps import Caller, Engine, scope_of
from ..schemas import (
    FilterClause,
    ForesightItem,
    Provenance,
    QueryRequest,
    QueryResponse,
    SearchRequest,
    SearchResponse,
    SearchResult,
    TypedResult,
)
from .common import read_post

router = APIRouter(prefix="/v1")


def _params(
    engine: Memory,
    query: str,
    top_k: int | None,
    rerank: bool,
    as_of: datetime | None,
    known_as_of: datetime | None,
    types: list[str] | None,
    filters: list[FilterClause] | None,
) -> SearchParams:
    k = engine.result_count(top_k)
    clauses: list[dict[str, Any]] = [
        {"field": f.field, "op": f.op.value, "value": f.value} for f in filters or []
    ]
    return SearchParams(
        query=query,
        top_k=k,
        rerank=rerank,
        as_of=require_aware(as_of, "as_of"),
        known_as_of=require_aware(known_as_of, "known_as_of"),
        types=tuple(types) if types else ("episode", "fact"),
        filters=clauses,
    )


def _typed(hit: Hit) -> TypedResult:
    return TypedResult(id=hit.id, type=hit.type, text=hit.text, score=hit.score)


@read_post(router, "/search", summary="Search memory", tag="search")
def search(body: SearchRequest, who: Caller, engine: Engine) -> SearchResponse:
    """Hybrid lexical + dense retrieval over episodes and facts, fused and optionally
    reranked; scores descending. Never calls an LLM."""
    params = _params(
        engine,
        body.query,
        body.top_k,
        body.rerank,
        body.as_of,
        body.known_as_of,
        list(body.types or []),
        body.filters,
    )
    hits = engine.search(scope_of(who, body.user_id, body.session_id), params)
    return SearchResponse(
        results=[SearchResult(id=h.id, type=h.type, text=h.text, score=h.score) for h in hits]
    )


@read_post(router, "/query", summary="Compose a context", tag="query")
def query(body: QueryRequest, who: Caller, engine: Engine) -> QueryResponse:
    """Retrieve and compose one dated, prompt-ready `context` block with its parts."""
    params = _params(
        engine, body.query, body.top_k, True, body.as_of, body.known_as_of, None, body.filters
    )
    composed = engine.query(scope_of(who, body.user_id, body.session_id), params, body.mode)
    return QueryResponse(
        context=composed.context,
        results=[_typed(h) for h in composed.results],
        facts=[_typed(h) for h in composed.facts],
        episodes=[_typed(h) for h in composed.episodes],
        foresight=[
            ForesightItem(id=f.id, content=f.content, kind=f.kind) for f in composed.foresight
        ],
        portrait=composed.portrait,
        provenance=Provenance(**composed.provenance),
    )
