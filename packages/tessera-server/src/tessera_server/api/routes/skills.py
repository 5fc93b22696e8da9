"""Procedures (learned how-tos) and resources (captioned blobs)."""

from __future__ import annotations

import mimetypes
from typing import Annotated

from fastapi import APIRouter, File, Form, UploadFile

from ...engine import skills
from ...engine.errors import InvalidInput, PayloadTooLarge
from ...engine.records import EpisodeRecord
from ..deps import Caller, Engine, scope_of
from ..policy import UPLOAD
from ..schemas import (
    ProcedureView,
    RecalledProcedure,
    RecalledResource,
    RecallProceduresRequest,
    RecallProceduresResponse,
    RecallResourcesRequest,
    RecallResourcesResponse,
    RecordOutcomeRequest,
    RememberProcedureRequest,
    RememberResourceRequest,
    ResourceItem,
)
from . import links
from .common import create_post, errors, read_post

router = APIRouter(prefix="/v1")
IMAGE_TYPES = {"image/png", "image/jpeg", "image/gif", "image/webp"}
# The first bytes of each accepted image format.
MAGIC = {
    "image/png": (b"\x89PNG\r\n\x1a\n",),
    "image/jpeg": (b"\xff\xd8\xff",),
    "image/gif": (b"GIF87a", b"GIF89a"),
    "image/webp": (b"RIFF",),
}


def procedure_view(ep: EpisodeRecord) -> ProcedureView:
    return ProcedureView(
        id=ep.id,
        trigger=ep.text,
        steps=list(ep.attrs.get("steps", [])),
        success=str(ep.attrs.get("success", "")),
        uses=int(ep.attrs.get("uses", 0)),
        last_outcome=ep.attrs.get("last_outcome"),
    )


def resource_item(ep: EpisodeRecord) -> ResourceItem:
    return ResourceItem(
        id=ep.id,
        caption=ep.text,
        blob_ref=str(ep.attrs.get("blob_ref", "")),
        mime=str(ep.attrs.get("mime", "")),
    )


@create_post(
    router, "/procedures", summary="Remember a procedure", tag="procedural", links=links.PROCEDURE
)
def remember_procedure(
    body: RememberProcedureRequest, who: Caller, engine: Engine
) -> ProcedureView:
    """Store a how-to: the situation it is for, its steps, and how success looks."""
    scope = scope_of(who, body.user_id, body.session_id)
    return procedure_view(
        skills.remember_procedure(engine.runtime, scope, body.trigger, body.steps, body.success)
    )


@read_post(router, "/procedures/recall", summary="Recall procedures", tag="procedural")
def recall_procedures(
    body: RecallProceduresRequest, who: Caller, engine: Engine
) -> RecallProceduresResponse:
    """The procedures whose trigger best matches a task, by cosine similarity. A read."""
    scope = scope_of(who, body.user_id, body.session_id)
    found = skills.recall_procedures(engine.runtime, scope, body.task, body.k, body.min_similarity)
    return RecallProceduresResponse(
        results=[
            RecalledProcedure(procedure=procedure_view(r.episode), similarity=r.similarity)
            for r in found
        ]
    )


@router.post(
    "/procedures/{item_id}/outcome",
    summary="Record a procedure's outcome",
    tags=["procedural"],
    responses={200: {"links": links.PROCEDURE}, **errors(404, 422)},
)
def record_outcome(
    item_id: str, body: RecordOutcomeRequest, who: Caller, engine: Engine
) -> ProcedureView:
    """Count a use of the procedure and remember whether it worked."""
    scope = scope_of(who, body.user_id, body.session_id)
    return procedure_view(skills.record_outcome(engine.runtime, scope, item_id, body.success))


@create_post(
    router, "/resources", summary="Remember a resource", tag="resources", links=links.RESOURCE
)
def remember_resource(body: RememberResourceRequest, who: Caller, engine: Engine) -> ResourceItem:
    """Keep a blob handle with a searchable caption (given, or written by a vision model)."""
    scope = scope_of(who, body.user_id, body.session_id)
    episode = skills.remember_resource(
        engine.runtime,
        scope,
        blob_ref=body.blob_ref,
        mime=body.mime,
        caption=body.caption,
        image_url=body.image_url,
    )
    return resource_item(episode)


@create_post(
    router,
    "/resources/file",
    summary="Upload an image resource",
    tag="resources",
    links=links.RESOURCE,
    fails=(413, 422),
    dependencies=[UPLOAD],
)
def remember_resource_file(
    who: Caller,
    engine: Engine,
    file: Annotated[UploadFile, File(description="A PNG, JPEG, GIF or WebP image.")],
    blob_ref: Annotated[str, Form(description="Your handle for the blob.")],
    user_id: Annotated[str | None, Form()] = None,
    session_id: Annotated[str | None, Form()] = None,
) -> ResourceItem:
    """Describe an uploaded image and keep the text, not the image.

    With a vision model configured, its caption is the text. Without one, the text is what
    is known offline (file name, format, size, dominant colours, EXIF date and camera) at
    once, and the words read in the image by the bundled OCR shortly after, in the job
    worker; the bytes are dropped once read. An unreadable image is a 422, one with too
    many pixels a 413."""
    scope = scope_of(who, user_id, session_id)
    limit = engine.settings.max_upload_bytes
    data = file.file.read(limit + 1)
    if len(data) > limit:
        raise PayloadTooLarge(f"the upload is larger than {limit} bytes")
    mime = (file.content_type or "").lower()
    if mime not in IMAGE_TYPES:
        guessed = mimetypes.guess_type(file.filename or "")[0]
        mime = guessed or mime
    if mime not in IMAGE_TYPES:
        raise InvalidInput("only PNG, JPEG, GIF and WebP images can be uploaded")
    if not data.startswith(MAGIC[mime]):
        raise InvalidInput(f"the file's bytes are not a {mime} image")
    episode = skills.remember_resource(
        engine.runtime,
        scope,
        blob_ref=blob_ref,
        mime=mime,
        caption=None,
        image_url=None,
        data=data,
        file_name=file.filename,
    )
    return resource_item(episode)


@read_post(router, "/resources/recall", summary="Recall resources", tag="resources")
def recall_resources(
    body: RecallResourcesRequest, who: Caller, engine: Engine
) -> RecallResourcesResponse:
    """Resources whose caption matches a text query."""
    scope = scope_of(who, body.user_id, body.session_id)
    found = skills.recall_resources(engine.runtime, scope, body.query, body.k)
    return RecallResourcesResponse(
        results=[
            RecalledResource(resource=resource_item(r.episode), similarity=r.similarity)
            for r in found
        ]
    )
