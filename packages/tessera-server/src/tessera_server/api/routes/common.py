"""Pieces shared by the route modules."""

from __future__ import annotations

from http import HTTPStatus
from typing import Any, TypeVar

from fastapi.routing import APIRoute
from fastapi.utils import generate_unique_id
from pydantic import BaseModel

from ...engine.consolidation import Summary
from ...engine.ids import job_id
from ...engine.records import JobRecord
from ..schemas import ConsolidationSummary, JobHandle, ProblemDetail

Model = TypeVar("Model", bound=BaseModel)


def operation_id(route: APIRoute) -> str:
    """A route's `operationId`: the tag it is listed under (its last) and its function's
    name, `tag-function`. Derived, so no route spells it and none can spell it differently.
    An untagged route (the docs pages, outside the contract) keeps FastAPI's own id."""
    return f"{route.tags[-1]}-{route.name}" if route.tags else generate_unique_id(route)


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


def view(model: type[Model], source: object, **given: Any) -> Model:
    """`model` filled from the attributes of `source` that bear its fields' names; `given`
    supplies the fields whose value is not one of them (an id to format, a renamed field)."""
    fields = {
        name: getattr(source, name)
        for name in model.model_fields
        if name not in given and hasattr(source, name)
    }
    return model(**fields, **given)


def summary_model(summary: Summary) -> ConsolidationSummary:
    return view(ConsolidationSummary, summary)
