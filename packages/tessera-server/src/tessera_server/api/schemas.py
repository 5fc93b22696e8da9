"""Wire models: the request and response bodies of the HTTP API.

Field names, types and defaults follow the published contract exactly. Requests forbid
unknown fields (a typo is an error, not a silent no-op). Responses carry only the
contract's fields, because published clients validate them strictly; provenance rides
in `metadata.tessera` of memory items instead.
"""

from __future__ import annotations

from datetime import datetime
from enum import Enum
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

Role = Literal["system", "user", "assistant"]
# A timezone-aware time, sent as an ISO 8601 string: parsed even in strict request models.
Instant = Annotated[datetime, Field(strict=False)]
ItemType = Literal["episode", "fact"]

USER_ID = "The memory's durable owner: a person, or `repo:<name>` for a codebase."
SESSION_ID = "Narrows the call to one session of the owner."


# No field of this API needs deep nesting (metadata allows a few levels); a bound checked
# before anything walks the body keeps every later walk (validation, the engine's checks,
# JSON encoding for the store) far from Python's recursion limit.
MAX_BODY_DEPTH = 32


def body_fault(value: Any) -> str | None:
    """What makes a parsed JSON body unusable whatever its fields, or None.

    Walks the body with an explicit stack, never recursion, so a body nested thousands of
    levels deep costs one pass and answers 422 instead of overflowing the interpreter's
    stack. JSON may also escape half of a UTF-16 pair ("\\ud800"); such text cannot be
    stored.
    """
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        node, level = stack.pop()
        if isinstance(node, str):
            try:
                node.encode("utf-8")
            except UnicodeEncodeError:
                return "the body holds text that is not valid Unicode (a lone surrogate)"
        elif isinstance(node, dict | list):
            if level > MAX_BODY_DEPTH:
                return f"the body is nested more than {MAX_BODY_DEPTH} levels deep; flatten it"
            children = [*node.keys(), *node.values()] if isinstance(node, dict) else node
            stack.extend((child, level + 1) for child in children)
    return None


class Request(BaseModel):
    # Strict: a value of the wrong JSON type is a 422, never coerced (`"top_k": "5"`,
    # `"rerank": 1`, `"infer": "false"`). Times stay lax, since JSON carries them as ISO 8601
    # strings (`Instant`), and so does the filter operator, an enum read from a string.
    model_config = ConfigDict(extra="forbid", strict=True)

    @model_validator(mode="before")
    @classmethod
    def _usable_body(cls, data: Any) -> Any:
        fault = body_fault(data)
        if fault:
            raise ValueError(fault)
        return data


class Response(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ScopedRequest(Request):
    """A body that carries only the scope."""

    user_id: str | None = Field(None, description=USER_ID)
    session_id: str | None = Field(None, description=SESSION_ID)


class AddMemoryRequest(ScopedRequest):
    content: str = Field(description="What was said: the turn's text.")
    role: Role = Field(description="Who said it.")
    turn_id: str | None = Field(
        None, description="Client id of the turn; replaying the same id is a no-op."
    )
    mode: Literal["async", "sync"] = Field(
        "async", description="`async` stores and queues; `sync` consolidates before answering."
    )
    infer: bool = Field(
        True, description="`false` stores the text verbatim as its own episode, never rewritten."
    )
    event_time: Instant | None = Field(None, description="When it was said (default: now).")
    metadata: dict[str, Any] | None = Field(None, description="Free-form labels kept with it.")


class BatchMessage(Request):
    role: Role
    content: str
    turn_id: str | None = None
    event_time: Instant | None = Field(
        None,
        description="When it was said (default: the batch's arrival, in message order). "
        "Messages may arrive in any order; facts are placed by this time.",
    )


class BatchAddRequest(ScopedRequest):
    messages: list[BatchMessage] = Field(description="Turns to append, in order.")
    mode: Literal["async"] = Field("async", description="Batches are always asynchronous.")
    infer: bool = True
    metadata: dict[str, Any] | None = None


class JobHandle(Response):
    id: str = Field(description="`job_<n>`; poll it at `GET /v1/jobs/{id}`.")
    status: str


class ConsolidationSummary(Response):
    tesserae_created: int
    facts_created: int
    foresight_created: int
    turns_consolidated: int
    llm_calls: int


class AsyncAddResponse(Response):
    turn_id: str
    created: bool = Field(description="False when this turn_id was already stored.")
    consolidation_queued: bool
    job: JobHandle | None = None


class SyncAddResponse(Response):
    turn_id: str
    consolidation: ConsolidationSummary


class BatchAddResponse(Response):
    results: list[AsyncAddResponse]


class MemoryItem(Response):
    id: str
    type: ItemType
    text: str
    created_at: datetime
    metadata: dict[str, Any] = Field(
        default_factory=dict,
        description="The caller's metadata plus `tessera`: source turns, times, validity.",
    )


class TurnItem(Response):
    """A raw turn as it was added: its whole `content`, however long (search indexes a long
    turn in parts; each part names this turn in `metadata.tessera.source_turn_ids`)."""

    turn_id: str
    role: str
    content: str
    event_time: datetime
    created_at: datetime
    session_id: str | None = None
    consolidated: bool = Field(
        description="Whether consolidation has turned it into episodes and facts yet."
    )
    metadata: dict[str, Any] = Field(default_factory=dict, description="The caller's metadata.")


class MemoryPage(Response):
    items: list[MemoryItem]
    has_more: bool
    next_cursor: str | None = None


class FactItem(Response):
    id: str
    type: str = "fact"
    text: str
    confidence: float
    t_valid: datetime


class FactCorrectionRequest(ScopedRequest):
    object: str = Field(description="The corrected object of the fact.")
    confidence: float = 1.0
    t_valid: Instant | None = Field(
        None, description="When the corrected statement became true (default: as the old one)."
    )


class PinResponse(Response):
    id: str
    pinned: bool
    changed: bool


class ForgetResponse(Response):
    turns_deleted: int
    tesserae_deleted: int
    facts_deleted: int
    foresight_deleted: int


class WipeRequest(ScopedRequest):
    pass


class WipeResponse(Response):
    total: int = Field(description="Rows erased across every table.")


class FilterOp(str, Enum):
    eq = "eq"
    ne = "ne"
    in_ = "in"
    gte = "gte"
    lte = "lte"
    gt = "gt"
    lt = "lt"


class FilterClause(Request):
    field: str = Field(
        description="An intrinsic field (importance, event_time, …) or `metadata.<key>`."
    )
    op: Annotated[FilterOp, Field(strict=False)]
    value: Any


class SearchRequest(ScopedRequest):
    query: str
    top_k: int | None = Field(None, description="Most results (default the configured k).")
    rerank: bool = True
    as_of: Instant | None = Field(None, description="Facts as they were valid at this time.")
    known_as_of: Instant | None = Field(None, description="Facts as believed at this time.")
    types: list[ItemType] | None = None
    filters: list[FilterClause] | None = None


class SearchResult(Response):
    id: str
    type: ItemType
    text: str
    score: float


class SearchResponse(Response):
    results: list[SearchResult]


class TypedResult(SearchResult):
    pass


class QueryRequest(ScopedRequest):
    query: str
    mode: Literal["chat", "reasoning"] = "chat"
    top_k: int | None = None
    as_of: Instant | None = None
    known_as_of: Instant | None = None
    filters: list[FilterClause] | None = None


class ForesightItem(Response):
    id: str
    content: str
    kind: str


class Provenance(Response):
    route: str | None = None
    verifier: bool | None = None
    repaired: bool = False


class QueryResponse(Response):
    context: str
    results: list[TypedResult]
    facts: list[TypedResult]
    episodes: list[TypedResult]
    foresight: list[ForesightItem]
    portrait: dict[str, Any] | None = None
    provenance: Provenance


class RememberProcedureRequest(ScopedRequest):
    trigger: str = Field(description="The situation the procedure is for; its recall key.")
    steps: list[str]
    success: str = Field(description="How to tell the procedure worked.")


class ProcedureView(Response):
    id: str
    trigger: str
    steps: list[str]
    success: str
    uses: int
    last_outcome: bool | None = None


class RecallProceduresRequest(ScopedRequest):
    task: str
    k: int = 3
    min_similarity: float | None = None


class RecalledProcedure(Response):
    procedure: ProcedureView
    similarity: float


class RecallProceduresResponse(Response):
    results: list[RecalledProcedure]


class RecordOutcomeRequest(ScopedRequest):
    success: bool


class RememberResourceRequest(ScopedRequest):
    blob_ref: str = Field(description="Your handle for the blob; Tessera never fetches it.")
    mime: str
    caption: str | None = None
    image_url: str | None = None


class ResourceItem(Response):
    id: str
    caption: str
    blob_ref: str
    mime: str


class RecallResourcesRequest(ScopedRequest):
    query: str
    k: int = 5


class RecalledResource(Response):
    resource: ResourceItem
    similarity: float


class RecallResourcesResponse(Response):
    results: list[RecalledResource]


class ConsolidateRequest(ScopedRequest):
    pass


class EnqueuedResponse(Response):
    job: JobHandle


class ReindexResponse(Response):
    turns_backfilled: int
    panels_refreshed: int


class CompressRequest(ScopedRequest):
    token_budget: int = 2000


class CompressResponse(Response):
    digest: str


class JobStatusResponse(Response):
    id: str
    status: Literal["queued", "running", "succeeded", "failed"]
    kind: str
    created_at: datetime
    updated_at: datetime
    error: str | None = None


class HealthStatus(BaseModel):
    status: Literal["ok", "unavailable"]


class ProblemDetail(Response):
    """An RFC 9457 problem: what went wrong and what to change."""

    type: str = "about:blank"
    title: str
    status: int
    detail: str | None = None
    instance: str | None = None
