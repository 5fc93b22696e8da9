# Generated from the service's openapi.json by packages/tessera-memory/scripts/generate_models.py.
# Do not edit by hand: change the service, re-export openapi.json, then rerun the script.

from __future__ import annotations

from datetime import datetime
from enum import Enum
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field


class StrEnum(str, Enum):
    """A ``str`` enum that prints as its value (``f"{hit.type}"`` is ``episode``), as
    ``enum.StrEnum`` does on Python 3.11+; it compares equal to the plain string too."""

    def __str__(self) -> str:
        return str(self.value)


class AddMemoryRequest(BaseModel):
    model_config = ConfigDict(
        extra="allow",
    )
    user_id: Annotated[
        str | None,
        Field(
            description="The memory's durable owner: a person, or `repo:<name>` for a codebase.",
            title="User Id",
        ),
    ] = None
    session_id: Annotated[
        str | None,
        Field(
            description="Narrows the call to one session of the owner.",
            title="Session Id",
        ),
    ] = None
    content: Annotated[
        str, Field(description="What was said: the turn's text.", title="Content")
    ]
    role: Annotated[
        Literal["system", "user", "assistant"],
        Field(description="Who said it.", title="Role"),
    ]
    turn_id: Annotated[
        str | None,
        Field(
            description="Client id of the turn; replaying the same id is a no-op.",
            title="Turn Id",
        ),
    ] = None
    mode: Annotated[
        Literal["async", "sync"] | None,
        Field(
            description="`async` stores and queues; `sync` consolidates before answering.",
            title="Mode",
        ),
    ] = "async"
    infer: Annotated[
        bool | None,
        Field(
            description="`false` stores the text verbatim as its own episode, never rewritten.",
            title="Infer",
        ),
    ] = True
    event_time: Annotated[
        datetime | None,
        Field(description="When it was said (default: now).", title="Event Time"),
    ] = None
    metadata: Annotated[
        dict[str, Any] | None,
        Field(description="Free-form labels kept with it.", title="Metadata"),
    ] = None


class BatchMessage(BaseModel):
    model_config = ConfigDict(
        extra="allow",
    )
    role: Annotated[Literal["system", "user", "assistant"], Field(title="Role")]
    content: Annotated[str, Field(title="Content")]
    turn_id: Annotated[str | None, Field(title="Turn Id")] = None
    event_time: Annotated[
        datetime | None,
        Field(
            description="When it was said (default: the batch's arrival, in message order). Messages may arrive in any order; facts are placed by this time.",
            title="Event Time",
        ),
    ] = None


class CompressRequest(BaseModel):
    model_config = ConfigDict(
        extra="allow",
    )
    user_id: Annotated[
        str | None,
        Field(
            description="The memory's durable owner: a person, or `repo:<name>` for a codebase.",
            title="User Id",
        ),
    ] = None
    session_id: Annotated[
        str | None,
        Field(
            description="Narrows the call to one session of the owner.",
            title="Session Id",
        ),
    ] = None
    token_budget: Annotated[int | None, Field(title="Token Budget")] = 2000


class CompressResponse(BaseModel):
    model_config = ConfigDict(
        extra="allow",
    )
    digest: Annotated[str, Field(title="Digest")]


class ConsolidateRequest(BaseModel):
    model_config = ConfigDict(
        extra="allow",
    )
    user_id: Annotated[
        str | None,
        Field(
            description="The memory's durable owner: a person, or `repo:<name>` for a codebase.",
            title="User Id",
        ),
    ] = None
    session_id: Annotated[
        str | None,
        Field(
            description="Narrows the call to one session of the owner.",
            title="Session Id",
        ),
    ] = None


class ConsolidationSummary(BaseModel):
    model_config = ConfigDict(
        extra="allow",
    )
    tesserae_created: Annotated[int, Field(title="Tesserae Created")]
    facts_created: Annotated[int, Field(title="Facts Created")]
    foresight_created: Annotated[int, Field(title="Foresight Created")]
    turns_consolidated: Annotated[int, Field(title="Turns Consolidated")]
    llm_calls: Annotated[int, Field(title="Llm Calls")]


class FactCorrectionRequest(BaseModel):
    model_config = ConfigDict(
        extra="allow",
    )
    user_id: Annotated[
        str | None,
        Field(
            description="The memory's durable owner: a person, or `repo:<name>` for a codebase.",
            title="User Id",
        ),
    ] = None
    session_id: Annotated[
        str | None,
        Field(
            description="Narrows the call to one session of the owner.",
            title="Session Id",
        ),
    ] = None
    object: Annotated[
        str, Field(description="The corrected object of the fact.", title="Object")
    ]
    confidence: Annotated[float | None, Field(title="Confidence")] = 1.0
    t_valid: Annotated[
        datetime | None,
        Field(
            description="When the corrected statement became true (default: as the old one).",
            title="T Valid",
        ),
    ] = None


class FactItem(BaseModel):
    model_config = ConfigDict(
        extra="allow",
    )
    id: Annotated[str, Field(title="Id")]
    type: Annotated[str | None, Field(title="Type")] = "fact"
    text: Annotated[str, Field(title="Text")]
    confidence: Annotated[float, Field(title="Confidence")]
    t_valid: Annotated[datetime, Field(title="T Valid")]


class ForesightItem(BaseModel):
    model_config = ConfigDict(
        extra="allow",
    )
    id: Annotated[str, Field(title="Id")]
    content: Annotated[str, Field(title="Content")]
    kind: Annotated[str, Field(title="Kind")]


class ForgetResponse(BaseModel):
    model_config = ConfigDict(
        extra="allow",
    )
    turns_deleted: Annotated[int, Field(title="Turns Deleted")]
    tesserae_deleted: Annotated[int, Field(title="Tesserae Deleted")]
    facts_deleted: Annotated[int, Field(title="Facts Deleted")]
    foresight_deleted: Annotated[int, Field(title="Foresight Deleted")]


class HealthStatusStatus(StrEnum):
    ok = "ok"
    unavailable = "unavailable"


class HealthStatus(BaseModel):
    model_config = ConfigDict(
        extra="allow",
    )
    status: Annotated[HealthStatusStatus, Field(title="Status")]


class JobHandle(BaseModel):
    model_config = ConfigDict(
        extra="allow",
    )
    id: Annotated[
        str, Field(description="`job_<n>`; poll it at `GET /v1/jobs/{id}`.", title="Id")
    ]
    status: Annotated[str, Field(title="Status")]


class JobStatusResponseStatus(StrEnum):
    queued = "queued"
    running = "running"
    succeeded = "succeeded"
    failed = "failed"


class JobStatusResponse(BaseModel):
    model_config = ConfigDict(
        extra="allow",
    )
    id: Annotated[str, Field(title="Id")]
    status: Annotated[JobStatusResponseStatus, Field(title="Status")]
    kind: Annotated[str, Field(title="Kind")]
    created_at: Annotated[datetime, Field(title="Created At")]
    updated_at: Annotated[datetime, Field(title="Updated At")]
    error: Annotated[str | None, Field(title="Error")] = None


class MemoryItemType(StrEnum):
    episode = "episode"
    fact = "fact"


class MemoryItem(BaseModel):
    model_config = ConfigDict(
        extra="allow",
    )
    id: Annotated[str, Field(title="Id")]
    type: Annotated[MemoryItemType, Field(title="Type")]
    text: Annotated[str, Field(title="Text")]
    created_at: Annotated[datetime, Field(title="Created At")]
    metadata: Annotated[
        dict[str, Any] | None,
        Field(
            description="The caller's metadata plus `tessera`: source turns, times, validity.",
            title="Metadata",
        ),
    ] = None


class MemoryPage(BaseModel):
    model_config = ConfigDict(
        extra="allow",
    )
    items: Annotated[list[MemoryItem], Field(title="Items")]
    has_more: Annotated[bool, Field(title="Has More")]
    next_cursor: Annotated[str | None, Field(title="Next Cursor")] = None


class PinResponse(BaseModel):
    model_config = ConfigDict(
        extra="allow",
    )
    id: Annotated[str, Field(title="Id")]
    pinned: Annotated[bool, Field(title="Pinned")]
    changed: Annotated[bool, Field(title="Changed")]


class ProblemDetail(BaseModel):
    """
    An RFC 9457 problem: what went wrong and what to change.
    """

    model_config = ConfigDict(
        extra="allow",
    )
    type: Annotated[str | None, Field(title="Type")] = "about:blank"
    title: Annotated[str, Field(title="Title")]
    status: Annotated[int, Field(title="Status")]
    detail: Annotated[str | None, Field(title="Detail")] = None
    instance: Annotated[str | None, Field(title="Instance")] = None


class ProcedureView(BaseModel):
    model_config = ConfigDict(
        extra="allow",
    )
    id: Annotated[str, Field(title="Id")]
    trigger: Annotated[str, Field(title="Trigger")]
    steps: Annotated[list[str], Field(title="Steps")]
    success: Annotated[str, Field(title="Success")]
    uses: Annotated[int, Field(title="Uses")]
    last_outcome: Annotated[bool | None, Field(title="Last Outcome")] = None


class Provenance(BaseModel):
    model_config = ConfigDict(
        extra="allow",
    )
    route: Annotated[str | None, Field(title="Route")] = None
    verifier: Annotated[bool | None, Field(title="Verifier")] = None
    repaired: Annotated[bool | None, Field(title="Repaired")] = False


class RecallProceduresRequest(BaseModel):
    model_config = ConfigDict(
        extra="allow",
    )
    user_id: Annotated[
        str | None,
        Field(
            description="The memory's durable owner: a person, or `repo:<name>` for a codebase.",
            title="User Id",
        ),
    ] = None
    session_id: Annotated[
        str | None,
        Field(
            description="Narrows the call to one session of the owner.",
            title="Session Id",
        ),
    ] = None
    task: Annotated[str, Field(title="Task")]
    k: Annotated[int | None, Field(title="K")] = 3
    min_similarity: Annotated[float | None, Field(title="Min Similarity")] = None


class RecallResourcesRequest(BaseModel):
    model_config = ConfigDict(
        extra="allow",
    )
    user_id: Annotated[
        str | None,
        Field(
            description="The memory's durable owner: a person, or `repo:<name>` for a codebase.",
            title="User Id",
        ),
    ] = None
    session_id: Annotated[
        str | None,
        Field(
            description="Narrows the call to one session of the owner.",
            title="Session Id",
        ),
    ] = None
    query: Annotated[str, Field(title="Query")]
    k: Annotated[int | None, Field(title="K")] = 5


class RecalledProcedure(BaseModel):
    model_config = ConfigDict(
        extra="allow",
    )
    procedure: ProcedureView
    similarity: Annotated[float, Field(title="Similarity")]


class RecordOutcomeRequest(BaseModel):
    model_config = ConfigDict(
        extra="allow",
    )
    user_id: Annotated[
        str | None,
        Field(
            description="The memory's durable owner: a person, or `repo:<name>` for a codebase.",
            title="User Id",
        ),
    ] = None
    session_id: Annotated[
        str | None,
        Field(
            description="Narrows the call to one session of the owner.",
            title="Session Id",
        ),
    ] = None
    success: Annotated[bool, Field(title="Success")]


class ReindexResponse(BaseModel):
    model_config = ConfigDict(
        extra="allow",
    )
    turns_backfilled: Annotated[int, Field(title="Turns Backfilled")]
    panels_refreshed: Annotated[int, Field(title="Panels Refreshed")]


class RememberProcedureRequest(BaseModel):
    model_config = ConfigDict(
        extra="allow",
    )
    user_id: Annotated[
        str | None,
        Field(
            description="The memory's durable owner: a person, or `repo:<name>` for a codebase.",
            title="User Id",
        ),
    ] = None
    session_id: Annotated[
        str | None,
        Field(
            description="Narrows the call to one session of the owner.",
            title="Session Id",
        ),
    ] = None
    trigger: Annotated[
        str,
        Field(
            description="The situation the procedure is for; its recall key.",
            title="Trigger",
        ),
    ]
    steps: Annotated[list[str], Field(title="Steps")]
    success: Annotated[
        str, Field(description="How to tell the procedure worked.", title="Success")
    ]


class RememberResourceRequest(BaseModel):
    model_config = ConfigDict(
        extra="allow",
    )
    user_id: Annotated[
        str | None,
        Field(
            description="The memory's durable owner: a person, or `repo:<name>` for a codebase.",
            title="User Id",
        ),
    ] = None
    session_id: Annotated[
        str | None,
        Field(
            description="Narrows the call to one session of the owner.",
            title="Session Id",
        ),
    ] = None
    blob_ref: Annotated[
        str,
        Field(
            description="Your handle for the blob; Tessera never fetches it.",
            title="Blob Ref",
        ),
    ]
    mime: Annotated[str, Field(title="Mime")]
    caption: Annotated[str | None, Field(title="Caption")] = None
    image_url: Annotated[str | None, Field(title="Image Url")] = None


class ResourceItem(BaseModel):
    model_config = ConfigDict(
        extra="allow",
    )
    id: Annotated[str, Field(title="Id")]
    caption: Annotated[str, Field(title="Caption")]
    blob_ref: Annotated[str, Field(title="Blob Ref")]
    mime: Annotated[str, Field(title="Mime")]


class ScopedRequest(BaseModel):
    """
    A body that carries only the scope.
    """

    model_config = ConfigDict(
        extra="allow",
    )
    user_id: Annotated[
        str | None,
        Field(
            description="The memory's durable owner: a person, or `repo:<name>` for a codebase.",
            title="User Id",
        ),
    ] = None
    session_id: Annotated[
        str | None,
        Field(
            description="Narrows the call to one session of the owner.",
            title="Session Id",
        ),
    ] = None


class SearchResultType(StrEnum):
    episode = "episode"
    fact = "fact"


class SearchResult(BaseModel):
    model_config = ConfigDict(
        extra="allow",
    )
    id: Annotated[str, Field(title="Id")]
    type: Annotated[SearchResultType, Field(title="Type")]
    text: Annotated[str, Field(title="Text")]
    score: Annotated[float, Field(title="Score")]


class SyncAddResponse(BaseModel):
    model_config = ConfigDict(
        extra="allow",
    )
    turn_id: Annotated[str, Field(title="Turn Id")]
    consolidation: ConsolidationSummary


class TurnItem(BaseModel):
    """
    A raw turn as it was added: its whole `content`, however long (search indexes a long
    turn in parts; each part names this turn in `metadata.tessera.source_turn_ids`).
    """

    model_config = ConfigDict(
        extra="allow",
    )
    turn_id: Annotated[str, Field(title="Turn Id")]
    role: Annotated[str, Field(title="Role")]
    content: Annotated[str, Field(title="Content")]
    event_time: Annotated[datetime, Field(title="Event Time")]
    created_at: Annotated[datetime, Field(title="Created At")]
    session_id: Annotated[str | None, Field(title="Session Id")] = None
    consolidated: Annotated[
        bool,
        Field(
            description="Whether consolidation has turned it into episodes and facts yet.",
            title="Consolidated",
        ),
    ]
    metadata: Annotated[
        dict[str, Any] | None,
        Field(description="The caller's metadata.", title="Metadata"),
    ] = None


class TypedResultType(StrEnum):
    episode = "episode"
    fact = "fact"


class TypedResult(BaseModel):
    model_config = ConfigDict(
        extra="allow",
    )
    id: Annotated[str, Field(title="Id")]
    type: Annotated[TypedResultType, Field(title="Type")]
    text: Annotated[str, Field(title="Text")]
    score: Annotated[float, Field(title="Score")]


class WipeRequest(BaseModel):
    model_config = ConfigDict(
        extra="allow",
    )
    user_id: Annotated[
        str | None,
        Field(
            description="The memory's durable owner: a person, or `repo:<name>` for a codebase.",
            title="User Id",
        ),
    ] = None
    session_id: Annotated[
        str | None,
        Field(
            description="Narrows the call to one session of the owner.",
            title="Session Id",
        ),
    ] = None


class WipeResponse(BaseModel):
    model_config = ConfigDict(
        extra="allow",
    )
    total: Annotated[
        int, Field(description="Rows erased across every table.", title="Total")
    ]


class ResourceUpload(BaseModel):
    model_config = ConfigDict(
        extra="allow",
    )
    file: Annotated[
        str,
        Field(
            description="A PNG, JPEG, GIF or WebP image.",
            json_schema_extra={"contentMediaType": "application/octet-stream"},
            title="File",
        ),
    ]
    blob_ref: Annotated[
        str, Field(description="Your handle for the blob.", title="Blob Ref")
    ]
    user_id: Annotated[str | None, Field(title="User Id")] = None
    session_id: Annotated[str | None, Field(title="Session Id")] = None


class AsyncAddResponse(BaseModel):
    model_config = ConfigDict(
        extra="allow",
    )
    turn_id: Annotated[str, Field(title="Turn Id")]
    created: Annotated[
        bool,
        Field(
            description="False when this turn_id was already stored.", title="Created"
        ),
    ]
    consolidation_queued: Annotated[bool, Field(title="Consolidation Queued")]
    job: JobHandle | None = None


class BatchAddRequest(BaseModel):
    model_config = ConfigDict(
        extra="allow",
    )
    user_id: Annotated[
        str | None,
        Field(
            description="The memory's durable owner: a person, or `repo:<name>` for a codebase.",
            title="User Id",
        ),
    ] = None
    session_id: Annotated[
        str | None,
        Field(
            description="Narrows the call to one session of the owner.",
            title="Session Id",
        ),
    ] = None
    messages: Annotated[
        list[BatchMessage],
        Field(description="Turns to append, in order.", title="Messages"),
    ]
    mode: Annotated[
        Literal["async"],
        Field(description="Batches are always asynchronous.", title="Mode"),
    ] = "async"
    infer: Annotated[bool | None, Field(title="Infer")] = True
    metadata: Annotated[dict[str, Any] | None, Field(title="Metadata")] = None


class BatchAddResponse(BaseModel):
    model_config = ConfigDict(
        extra="allow",
    )
    results: Annotated[list[AsyncAddResponse], Field(title="Results")]


class EnqueuedResponse(BaseModel):
    model_config = ConfigDict(
        extra="allow",
    )
    job: JobHandle


class FilterClause(BaseModel):
    model_config = ConfigDict(
        extra="allow",
    )
    field: Annotated[
        str,
        Field(
            description="An intrinsic field (importance, event_time, …) or `metadata.<key>`.",
            title="Field",
        ),
    ]
    op: Annotated[
        Literal["eq", "ne", "in", "gte", "lte", "gt", "lt"], Field(title="FilterOp")
    ]
    value: Annotated[Any, Field(title="Value")]


class QueryRequest(BaseModel):
    model_config = ConfigDict(
        extra="allow",
    )
    user_id: Annotated[
        str | None,
        Field(
            description="The memory's durable owner: a person, or `repo:<name>` for a codebase.",
            title="User Id",
        ),
    ] = None
    session_id: Annotated[
        str | None,
        Field(
            description="Narrows the call to one session of the owner.",
            title="Session Id",
        ),
    ] = None
    query: Annotated[str, Field(title="Query")]
    mode: Annotated[Literal["chat", "reasoning"] | None, Field(title="Mode")] = "chat"
    top_k: Annotated[int | None, Field(title="Top K")] = None
    as_of: Annotated[datetime | None, Field(title="As Of")] = None
    known_as_of: Annotated[datetime | None, Field(title="Known As Of")] = None
    filters: Annotated[list[FilterClause] | None, Field(title="Filters")] = None


class QueryResponse(BaseModel):
    model_config = ConfigDict(
        extra="allow",
    )
    context: Annotated[str, Field(title="Context")]
    results: Annotated[list[TypedResult], Field(title="Results")]
    facts: Annotated[list[TypedResult], Field(title="Facts")]
    episodes: Annotated[list[TypedResult], Field(title="Episodes")]
    foresight: Annotated[list[ForesightItem], Field(title="Foresight")]
    portrait: Annotated[dict[str, Any] | None, Field(title="Portrait")] = None
    provenance: Provenance


class RecallProceduresResponse(BaseModel):
    model_config = ConfigDict(
        extra="allow",
    )
    results: Annotated[list[RecalledProcedure], Field(title="Results")]


class RecalledResource(BaseModel):
    model_config = ConfigDict(
        extra="allow",
    )
    resource: ResourceItem
    similarity: Annotated[float, Field(title="Similarity")]


class SearchRequest(BaseModel):
    model_config = ConfigDict(
        extra="allow",
    )
    user_id: Annotated[
        str | None,
        Field(
            description="The memory's durable owner: a person, or `repo:<name>` for a codebase.",
            title="User Id",
        ),
    ] = None
    session_id: Annotated[
        str | None,
        Field(
            description="Narrows the call to one session of the owner.",
            title="Session Id",
        ),
    ] = None
    query: Annotated[str, Field(title="Query")]
    top_k: Annotated[
        int | None,
        Field(description="Most results (default the configured k).", title="Top K"),
    ] = None
    rerank: Annotated[bool | None, Field(title="Rerank")] = True
    as_of: Annotated[
        datetime | None,
        Field(description="Facts as they were valid at this time.", title="As Of"),
    ] = None
    known_as_of: Annotated[
        datetime | None,
        Field(description="Facts as believed at this time.", title="Known As Of"),
    ] = None
    types: Annotated[list[Literal["episode", "fact"]] | None, Field(title="Types")] = (
        None
    )
    filters: Annotated[list[FilterClause] | None, Field(title="Filters")] = None


class SearchResponse(BaseModel):
    model_config = ConfigDict(
        extra="allow",
    )
    results: Annotated[list[SearchResult], Field(title="Results")]


class RecallResourcesResponse(BaseModel):
    model_config = ConfigDict(
        extra="allow",
    )
    results: Annotated[list[RecalledResource], Field(title="Results")]


# --- Names from the published tessera-memory 0.1.4 ------------------------------------------
# Appended by generate_models.py (PUBLISHED_NAMES). Prefer the names above in new code.


class AddMode(StrEnum):
    """``memories.add(mode=...)``: queue consolidation, or consolidate before answering."""

    async_ = "async"
    sync = "sync"


class QueryMode(StrEnum):
    """``query(mode=...)``: the full chat context, or the lean reasoning one."""

    chat = "chat"
    reasoning = "reasoning"


class MessageRole(StrEnum):
    """Who wrote a turn."""

    system = "system"
    user = "user"
    assistant = "assistant"


class FilterOperator(StrEnum):
    """The comparison of a :class:`FilterClause`."""

    eq = "eq"
    ne = "ne"
    in_ = "in"
    gte = "gte"
    lte = "lte"
    gt = "gt"
    lt = "lt"


Mode = AddMode
Mode1 = QueryMode
Role = MessageRole
Role1 = MessageRole
FilterOp = FilterOperator
Status = HealthStatusStatus
Status1 = JobStatusResponseStatus
Type = MemoryItemType
Type1 = MemoryItemType
Type2 = SearchResultType
PageMemoryItem = MemoryPage
FieldScopedBody = ScopedRequest
BodyResourcesRememberResourceFile = ResourceUpload
TesseraApiV1MaintenanceConsolidationSummary = ConsolidationSummary
TesseraApiV1MemoriesConsolidationSummary = ConsolidationSummary
TesseraApiV1MaintenanceJobHandle = JobHandle
TesseraApiV1MemoriesJobHandle = JobHandle
