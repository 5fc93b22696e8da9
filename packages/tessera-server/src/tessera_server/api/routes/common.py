"""Pieces shared by the route modules."""

from __future__ import annotations

from http import HTTPStatus
from typing import Any

from ...engine.consolidation import Summary
from ...engine.ids import job_id
from ...store.records import JobRecord
from ..schemas import ConsolidationSummary, JobHandle, ProblemDetail


def errors(*codes: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI entries for the problem responses an operation can give."""
    return {
        code: {
            "model": ProblemDetail,
            "description": HTTPStatus(code).phrase,
            "content": {"application/problem+json": {}},
        }
        for code in codes
    }


def job_handle(job: JobRecord) -> JobHandle:
    return JobHandle(id=job_id(job.pk), status=job.status)


def summary_model(summary: Summary) -> ConsolidationSummary:
    return ConsolidationSummary(
        tesserae_created=summary.tesserae_created,
        facts_created=summary.facts_created,
        foresight_created=summary.foresight_created,
        turns_consolidated=summary.turns_consolidated,
        llm_calls=summary.llm_calls,
    )
