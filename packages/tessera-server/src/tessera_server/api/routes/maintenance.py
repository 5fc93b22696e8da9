"""Consolidation on demand, reindexing, digests, job status and health."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import JSONResponse

from ...engine.ids import job_id as job_id_of
from ..deps import Caller, Engine, scope_of
from ..schemas import (
    CompressRequest,
    CompressResponse,
    ConsolidateRequest,
    ConsolidationSummary,
    EnqueuedResponse,
    HealthStatus,
    JobStatusResponse,
    ReindexResponse,
)
from . import links
from .common import errors, job_handle, read_post, summary_model, view

router = APIRouter()


@router.post(
    "/v1/consolidate",
    summary="Consolidate",
    status_code=202,
    response_model=EnqueuedResponse,
    tags=["maintenance"],
    responses={
        202: {"links": links.CONSOLIDATE},
        200: {"model": ConsolidationSummary, "description": "Ran inline (sync=true)."},
        **errors(422),
    },
)
def consolidate(
    body: ConsolidateRequest,
    who: Caller,
    engine: Engine,
    sync: Annotated[bool, Query(description="Run inline (200) instead of queueing (202).")] = False,
) -> EnqueuedResponse | JSONResponse:
    """Queue consolidation of the scope's pending turns (an already-queued job is returned),
    or run it inline with `?sync=true`."""
    scope = scope_of(who, body.user_id, body.session_id)
    if sync:
        return JSONResponse(
            summary_model(engine.consolidate_now(scope)).model_dump(), status_code=200
        )
    return EnqueuedResponse(job=job_handle(engine.enqueue_consolidation(scope)))


@router.post("/v1/reindex", summary="Reindex", tags=["maintenance"], responses=errors(422))
def reindex(body: ConsolidateRequest, who: Caller, engine: Engine) -> ReindexResponse:
    """Backfill missing embeddings and refresh panel centroids; deterministic, inline."""
    backfilled, panels = engine.reindex(scope_of(who, body.user_id, body.session_id))
    return ReindexResponse(turns_backfilled=backfilled, panels_refreshed=panels)


@read_post(router, "/v1/compress", summary="Compress", tag="maintenance")
def compress(body: CompressRequest, who: Caller, engine: Engine) -> CompressResponse:
    """Panel summaries, newest first, packed under `token_budget`."""
    scope = scope_of(who, body.user_id, body.session_id)
    return CompressResponse(digest=engine.compress(scope, body.token_budget))


@router.get("/v1/jobs/{job_id}", summary="Get a job", tags=["jobs"], responses=errors(404, 422))
def get_job(job_id: str, who: Caller, engine: Engine) -> JobStatusResponse:
    """A job's status, with its last error; another tenant's job is not found."""
    job = engine.job(who.tenant_id, job_id)
    return view(JobStatusResponse, job, id=job_id_of(job.pk))


@router.get("/health", summary="Liveness", tags=["health"])
def health(request: Request, response: Response) -> HealthStatus:
    """The process is up. Needs no key."""
    # The `Tessera-Extractor` header names what reads facts out of turns (`offline`, or
    # `llm <model> at <host>`): a header, since the body is the contract's exact HealthStatus.
    engine = getattr(request.app.state, "memory", None)
    if engine is not None:
        response.headers["Tessera-Extractor"] = engine.runtime.extractor_label
    return HealthStatus(status="ok")


@router.get(
    "/ready",
    summary="Readiness",
    response_model=HealthStatus,
    tags=["health"],
    responses={503: {"model": HealthStatus, "description": "Service Unavailable"}},
)
def ready(request: Request) -> HealthStatus | JSONResponse:
    """200 once the store answers and the models are loaded, else 503. Needs no key."""
    engine = getattr(request.app.state, "memory", None)
    if engine is None or not engine.store.ping():
        return JSONResponse({"status": "unavailable"}, status_code=503)
    return HealthStatus(status="ok")
