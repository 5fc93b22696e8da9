"""Python SDK for Tessera, long-term memory for LLM agents.

::

    from tessera_memory import Tessera

    client = Tessera()  # TESSERA_API_KEY, and TESSERA_BASE_URL or http://127.0.0.1:8420
    client.memories.add(content="I live in Berlin", role="user", user_id="alice")
    print(client.query("Where does the user live?", user_id="alice").context)
"""

from . import models, pagination
from ._client import AsyncTessera, Tessera
from ._core import DEFAULT_BASE_URL, DEFAULT_MAX_RETRIES, DEFAULT_TIMEOUT
from ._exceptions import (
    APIConnectionError,
    APIError,
    APIResponseValidationError,
    APIStatusError,
    APITimeoutError,
    AuthenticationError,
    ConflictError,
    InternalServerError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitError,
    TesseraError,
    UnprocessableEntityError,
    make_status_error,
)
from ._response import APIResponse
from ._ulid import new_ulid
from ._version import __version__
from .models import (
    AsyncAddResponse,
    BatchAddResponse,
    BatchMessage,
    CompressResponse,
    ConsolidationSummary,
    EnqueuedResponse,
    FactItem,
    FilterClause,
    ForesightItem,
    ForgetResponse,
    HealthStatus,
    JobHandle,
    JobStatusResponse,
    MemoryItem,
    PinResponse,
    ProblemDetail,
    ProcedureView,
    Provenance,
    QueryResponse,
    RecalledProcedure,
    RecalledResource,
    RecallProceduresResponse,
    RecallResourcesResponse,
    ReindexResponse,
    ResourceItem,
    SearchResponse,
    SearchResult,
    SyncAddResponse,
    TypedResult,
    WipeResponse,
)
from .pagination import AsyncCursorPage, NoNextPageError, SyncCursorPage

__all__ = [
    "DEFAULT_BASE_URL",
    "DEFAULT_MAX_RETRIES",
    "DEFAULT_TIMEOUT",
    "APIConnectionError",
    "APIError",
    "APIResponse",
    "APIResponseValidationError",
    "APIStatusError",
    "APITimeoutError",
    "AsyncAddResponse",
    "AsyncCursorPage",
    "AsyncTessera",
    "AuthenticationError",
    "BatchAddResponse",
    "BatchMessage",
    "CompressResponse",
    "ConflictError",
    "ConsolidationSummary",
    "EnqueuedResponse",
    "FactItem",
    "FilterClause",
    "ForesightItem",
    "ForgetResponse",
    "HealthStatus",
    "InternalServerError",
    "JobHandle",
    "JobStatusResponse",
    "MemoryItem",
    "NoNextPageError",
    "NotFoundError",
    "PermissionDeniedError",
    "PinResponse",
    "ProblemDetail",
    "ProcedureView",
    "Provenance",
    "QueryResponse",
    "RateLimitError",
    "RecallProceduresResponse",
    "RecallResourcesResponse",
    "RecalledProcedure",
    "RecalledResource",
    "ReindexResponse",
    "ResourceItem",
    "SearchResponse",
    "SearchResult",
    "SyncAddResponse",
    "SyncCursorPage",
    "Tessera",
    "TesseraError",
    "TypedResult",
    "UnprocessableEntityError",
    "WipeResponse",
    "__version__",
    "make_status_error",
    "models",
    "new_ulid",
    "pagination",
]
