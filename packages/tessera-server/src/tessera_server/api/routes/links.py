"""OpenAPI `links`: which value of a response feeds which later call.

They document the API's workflows (the `turn_id` an add returns is what forgets that turn; the
`job.id` is what to poll) and let stateful API fuzzers chain calls. They change no schema: the
request and response bodies, and so the generated client models, are the same with or without.
A body link carries only `user_id`, the usual scope (a link body naming a field the source
request lacked could not be resolved at all); query links carry both labels.
"""

from __future__ import annotations

from typing import Any

_USER_FROM_BODY = {"user_id": "$request.body#/user_id"}
_USER_FROM_QUERY = {"user_id": "$request.query.user_id"}
_SCOPE_QUERY_FROM_BODY = {
    "query.user_id": "$request.body#/user_id",
    "query.session_id": "$request.body#/session_id",
}
_SCOPE_QUERY_FROM_QUERY = {
    "query.user_id": "$request.query.user_id",
    "query.session_id": "$request.query.session_id",
}


def _link(
    operation_id: str,
    description: str,
    parameters: dict[str, str] | None = None,
    body: dict[str, str] | None = None,
) -> dict[str, Any]:
    out: dict[str, Any] = {"operationId": operation_id, "description": description}
    if parameters:
        out["parameters"] = parameters
    if body:
        out["requestBody"] = body
    return out


def _on_item(
    pointer: str, scope_body: dict[str, str], scope_query: dict[str, str]
) -> dict[str, Any]:
    """The calls that take the memory item `pointer` names, in the same scope."""
    item = {"path.item_id": pointer}
    return {
        "GetMemory": _link("memories-get_memory", "Read this item.", {**item, **scope_query}),
        "ForgetMemory": _link("memories-forget_memory", "Forget this item.", item, scope_body),
        "PinMemory": _link("pins-pin_memory", "Pin this item (episodes).", item, scope_body),
        "UnpinMemory": _link("pins-unpin_memory", "Unpin this item.", item, scope_body),
        "CorrectFact": _link("facts-correct_fact", "Correct this item (facts).", item, scope_body),
    }


_LIST_SCOPE = _link(
    "memories-list_memories", "Browse the scope this call wrote to.", _SCOPE_QUERY_FROM_BODY
)
_FORGET_TURN = {
    "ForgetTurn": _link(
        "memories-forget_turn",
        "Forget the turn just stored, and what was derived from it alone.",
        {"path.turn_id": "$response.body#/turn_id"},
        _USER_FROM_BODY,
    ),
    "ListMemories": _LIST_SCOPE,
}
_GET_JOB = _link(
    "jobs-get_job", "Poll the job this call queued.", {"path.job_id": "$response.body#/job/id"}
)

ADD_ASYNC = {**_FORGET_TURN, "GetJob": _GET_JOB}
ADD_SYNC = _FORGET_TURN
ADD_BATCH = {
    "ForgetTurn": _link(
        "memories-forget_turn",
        "Forget the first turn of the batch.",
        {"path.turn_id": "$response.body#/results/0/turn_id"},
        _USER_FROM_BODY,
    ),
    "GetJob": _link(
        "jobs-get_job",
        "Poll the consolidation job the first turn queued, if any.",
        {"path.job_id": "$response.body#/results/0/job/id"},
    ),
    "ListMemories": _LIST_SCOPE,
}
LIST = {
    **_on_item("$response.body#/items/0/id", _USER_FROM_QUERY, _SCOPE_QUERY_FROM_QUERY),
    "NextPage": _link(
        "memories-list_memories",
        "The next page (when `has_more`).",
        {
            "query.cursor": "$response.body#/next_cursor",
            "query.limit": "$request.query.limit",
            **_SCOPE_QUERY_FROM_QUERY,
        },
    ),
}
GET = _on_item("$response.body#/id", _USER_FROM_QUERY, _SCOPE_QUERY_FROM_QUERY)
CORRECT = _on_item("$response.body#/id", _USER_FROM_BODY, _SCOPE_QUERY_FROM_BODY)
PROCEDURE = {
    "RecordOutcome": _link(
        "procedural-record_outcome",
        "Record how using this procedure went.",
        {"path.item_id": "$response.body#/id"},
        _USER_FROM_BODY,
    ),
}
RESOURCE = {
    "GetMemory": _link(
        "memories-get_memory",
        "Read the resource as a memory item.",
        {"path.item_id": "$response.body#/id", **_SCOPE_QUERY_FROM_BODY},
    ),
    "ForgetMemory": _link(
        "memories-forget_memory",
        "Forget the resource.",
        {"path.item_id": "$response.body#/id"},
        _USER_FROM_BODY,
    ),
}
CONSOLIDATE = {"GetJob": _GET_JOB}
