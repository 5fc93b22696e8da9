"""Pieces shared by the route modules."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from http import HTTPStatus
from typing import Any, TypeVar

from fastapi import APIRouter, params
from fastapi.routing import APIRoute
from fastapi.types import DecoratedCallable
from fastapi.utils import generate_unique_id
from pydantic import BaseModel

from ...engine.consolidation import Summary
from ...engine.ids import job_id
from ...engine.records import JobRecord
from ..policy import READS
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


def read_post(
    router: APIRouter, path: str, *, summary: str, tag: str
) -> Callable[[DecoratedCallable], DecoratedCallable]:
    """Declare a POST that only reads (a search, a recall, a digest): the body carries the
    question, nothing is stored, so a read-only key may call it (`READS`) and its one failure
    is input to fix (422). One declaration, so no read route can miss half of it."""
    return router.post(
        path, summary=summary, tags=[tag], dependencies=[READS], responses=errors(422)
    )


def create_post(
    router: APIRouter,
    path: str,
    *,
    summary: str,
    links: dict[str, Any],
    tag: str | None = None,
    fails: tuple[int, ...] = (422,),
    dependencies: Sequence[params.Depends] = (),
) -> Callable[[DecoratedCallable], DecoratedCallable]:
    """Declare a POST that stores something new: 201 Created, with the OpenAPI links that
    read back what it made, and the problems it can answer with (`fails`)."""
    return router.post(
        path,
        summary=summary,
        status_code=201,
        tags=[tag] if tag else None,
        dependencies=list(dependencies),
        responses={201: {"links": links}, **errors(*fails)},
    )


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
