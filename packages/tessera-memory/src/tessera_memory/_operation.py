"""Request descriptions: what one SDK call sends and how its answer is read.

An endpoint method builds an :class:`Operation` — method, path, query, JSON body or multipart
upload, whether it is safe to replay, and a parser for the success body. It performs no I/O; the
sync and async clients hand the same operation to the shared request loop in ``_core``.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, Generic, Literal, TypeVar
from urllib.parse import quote

import httpx
import pydantic
import pydantic_core

T = TypeVar("T")
A = TypeVar("A", bound=pydantic.BaseModel)
B = TypeVar("B", bound=pydantic.BaseModel)
ModelT = TypeVar("ModelT", bound=pydantic.BaseModel)

Method = Literal["GET", "POST", "PUT", "PATCH", "DELETE"]
Parser = Callable[[httpx.Response], T]

# Methods whose repetition has the same effect as one call (RFC 9110 §9.2.2).
IDEMPOTENT_METHODS: frozenset[str] = frozenset({"GET", "PUT", "DELETE"})

UPLOAD_MIME_TYPES: Mapping[str, str] = {
    ".png": "image/png",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".gif": "image/gif",
    ".webp": "image/webp",
}


@dataclass(frozen=True)
class Upload:
    """A file sent as one part of a multipart form; opened afresh for every attempt."""

    field_name: str
    path: Path
    content_type: str
    form: Mapping[str, str] = field(default_factory=dict)

    @contextmanager
    def open(self) -> Iterator[dict[str, tuple[str, IO[bytes], str]]]:
        with self.path.open("rb") as fh:
            yield {self.field_name: (self.path.name, fh, self.content_type)}


@dataclass(frozen=True)
class PageData(Generic[T]):
    """One page of a cursor-paginated list, as the service returned it."""

    items: list[T]
    has_more: bool
    next_cursor: str | None


@dataclass(frozen=True)
class Operation(Generic[T]):
    """Everything needed to perform one API call and read its result.

    ``replay_safe`` marks a non-idempotent method (a POST) that may nevertheless be replayed
    after an ambiguous failure because the body carries a client-minted idempotency key.
    """

    method: Method
    path: str
    parse: Parser[T]
    params: Mapping[str, Any] = field(default_factory=dict)
    json: Mapping[str, Any] | None = None
    upload: Upload | None = None
    replay_safe: bool = False

    @property
    def idempotent(self) -> bool:
        """True when a timeout, broken connection or 500 may be answered by sending again."""
        return self.replay_safe or self.method in IDEMPOTENT_METHODS

    def with_params(self, **params: Any) -> Operation[T]:
        return dataclasses.replace(self, params={**self.params, **query(**params)})


# --- building requests -------------------------------------------------------------------


def _segment(value: str) -> str:
    """Percent-encode one path segment. `.` and `..` are encoded too: left bare, HTTP
    clients collapse them and `DELETE /v1/memories/..` would become a scope-wide wipe."""
    encoded = quote(value, safe="")
    if encoded in (".", ".."):
        return encoded.replace(".", "%2E")
    return encoded


def path(template: str, *ids: str) -> str:
    """Fill ``{}`` placeholders with percent-encoded ids (an id can never change the route)."""
    return template.format(*(_segment(str(i)) for i in ids))


def query(**params: Any) -> dict[str, Any]:
    """Query parameters, without the ones left unset (``None``)."""
    return {k: v for k, v in params.items() if v is not None}


def body(**fields: Any) -> dict[str, Any]:
    """A JSON body: unset (``None``) fields dropped; models, datetimes and enums made JSON."""
    jsonable = pydantic_core.to_jsonable_python(
        {k: v for k, v in fields.items() if v is not None}, by_alias=True
    )
    assert isinstance(jsonable, dict)
    return jsonable


def image_upload(file_path: str | os.PathLike[str], *, form: Mapping[str, str | None]) -> Upload:
    """Check a local image before anything is sent: it must exist and be a supported type."""
    p = Path(file_path)
    suffix = p.suffix.lower()
    if suffix not in UPLOAD_MIME_TYPES:
        allowed = ", ".join(UPLOAD_MIME_TYPES)
        raise ValueError(
            f"cannot upload {p.name!r}: unsupported file extension {p.suffix or '(none)'!r};"
            f" supported image types are {allowed}"
        )
    if not p.is_file():
        raise FileNotFoundError(f"no such file: {str(p)!r}")
    return Upload(
        field_name="file",
        path=p,
        content_type=UPLOAD_MIME_TYPES[suffix],
        form={k: v for k, v in form.items() if v is not None},
    )


# --- reading responses -------------------------------------------------------------------


def model(cls: type[ModelT]) -> Parser[ModelT]:
    """Parse the body as ``cls``."""

    def parse(response: httpx.Response) -> ModelT:
        return cls.model_validate_json(response.content)

    return parse


def by_status(first: tuple[int, type[A]], second: tuple[int, type[B]]) -> Parser[A | B]:
    """Parse the body as the model documented for the response's status code."""

    def parse(response: httpx.Response) -> A | B:
        for status, cls in (first, second):
            if response.status_code == status:
                return cls.model_validate_json(response.content)
        raise ValueError(
            f"unexpected status {response.status_code}; expected {first[0]} or {second[0]}"
        )

    return parse


def page_of(cls: type[ModelT]) -> Parser[PageData[ModelT]]:
    """Parse a cursor page (``items``, ``has_more``, ``next_cursor``) of ``cls``."""
    adapter = pydantic.TypeAdapter(list[cls])  # type: ignore[valid-type]

    def parse(response: httpx.Response) -> PageData[ModelT]:
        data = response.json()
        if not isinstance(data, dict) or not isinstance(data.get("items"), list):
            raise ValueError("a page must be an object with an 'items' list")
        cursor = data.get("next_cursor")
        return PageData(
            items=adapter.validate_python(data["items"]),
            has_more=bool(data.get("has_more", False)),
            next_cursor=cursor if isinstance(cursor, str) and cursor else None,
        )

    return parse
