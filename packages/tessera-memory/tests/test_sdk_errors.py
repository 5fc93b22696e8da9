"""Error mapping: the exception class for every status, problem parsing, request ids."""

from __future__ import annotations

import httpx
import pytest
from sdk_fakes import FakeService, Harness, Reply
from tessera_memory import (
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
    ProblemDetail,
    RateLimitError,
    TesseraError,
    UnprocessableEntityError,
)


def test_hierarchy() -> None:
    assert issubclass(APITimeoutError, APIConnectionError)
    assert issubclass(APIConnectionError, TesseraError)
    assert not issubclass(APIConnectionError, APIError)
    assert issubclass(APIError, TesseraError)
    assert issubclass(APIStatusError, APIError)
    assert issubclass(APIResponseValidationError, APIError)
    for cls in (
        AuthenticationError,
        PermissionDeniedError,
        NotFoundError,
        ConflictError,
        UnprocessableEntityError,
        RateLimitError,
        InternalServerError,
    ):
        assert issubclass(cls, APIStatusError)


@pytest.mark.parametrize(
    ("status", "cls"),
    [
        (400, APIStatusError),
        (401, AuthenticationError),
        (403, PermissionDeniedError),
        (404, NotFoundError),
        (405, APIStatusError),
        (409, ConflictError),
        (413, APIStatusError),
        (422, UnprocessableEntityError),
        (429, RateLimitError),
        (500, InternalServerError),
        (501, InternalServerError),
        (502, InternalServerError),
        (503, InternalServerError),
        (504, InternalServerError),
        (599, InternalServerError),
        (302, APIStatusError),
        (418, APIStatusError),
    ],
)
def test_each_status_maps_to_its_exception(
    harness: Harness, status: int, cls: type[APIStatusError]
) -> None:
    problem = {
        "type": "about:blank",
        "title": "Some Title",
        "status": status,
        "detail": "what went wrong",
        "instance": "req_abc",
    }
    service = FakeService(Reply(status, json=problem, headers={"X-Request-Id": "req_abc"}))
    with pytest.raises(APIStatusError) as info:
        harness.run(service, lambda c: c.memories.get("ep_1", user_id="u"), max_retries=0)
    err = info.value
    assert type(err) is cls
    assert err.status_code == status
    assert err.request_id == "req_abc"
    assert err.response.status_code == status
    assert err.problem == ProblemDetail(**problem)
    assert err.detail == "what went wrong"
    # As in the published 0.1.4 client, str() is the problem's detail alone; the status and
    # request id are attributes, and part of repr().
    assert str(err) == "what went wrong"
    assert repr(err) == (
        f"{cls.__name__}('what went wrong', status_code={status}, request_id='req_abc')"
    )


def test_problem_extensions_are_kept(harness: Harness) -> None:
    body = {
        "type": "https://tessera.dev/problems/validation",
        "title": "Unprocessable Entity",
        "status": 422,
        "detail": "user_id or session_id is required",
        "instance": "req_1",
        "errors": [{"loc": ["body", "user_id"], "msg": "missing"}],
    }
    service = FakeService(Reply(422, json=body))
    with pytest.raises(UnprocessableEntityError) as info:
        harness.run(service, lambda c: c.search("q"))
    problem = info.value.problem
    assert problem is not None
    assert problem.type == "https://tessera.dev/problems/validation"
    assert problem.model_extra == {"errors": body["errors"]}


@pytest.mark.parametrize(
    "text",
    ["<html><body>502 Bad Gateway</body></html>", "upstream connect error", "", "[1, 2]", "null"],
)
def test_a_body_that_is_not_a_problem_gives_problem_none(harness: Harness, text: str) -> None:
    service = FakeService(Reply(502, text=text, headers={"X-Request-Id": "req_gw"}))
    with pytest.raises(InternalServerError) as info:
        harness.run(service, lambda c: c.health(), max_retries=0)
    err = info.value
    assert err.problem is None and err.detail is None
    assert err.status_code == 502
    assert err.request_id == "req_gw"
    assert str(err) == "Tessera API returned status 502."


def test_a_partial_problem_is_completed_from_the_response(harness: Harness) -> None:
    service = FakeService(Reply(404, json={"detail": "no such memory"}))
    with pytest.raises(NotFoundError) as info:
        harness.run(service, lambda c: c.memories.get("ep_x", user_id="u"))
    problem = info.value.problem
    assert problem is not None
    assert (problem.title, problem.status, problem.detail) == ("Not Found", 404, "no such memory")


def test_a_structured_detail_is_rendered_as_json(harness: Harness) -> None:
    detail = [{"loc": ["query", "limit"], "msg": "must be positive"}]
    service = FakeService(Reply(422, json={"detail": detail}))
    with pytest.raises(UnprocessableEntityError) as info:
        harness.run(service, lambda c: c.memories.list(user_id="u", limit=-1))
    assert info.value.detail is not None
    assert "must be positive" in info.value.detail


def test_problem_with_wrongly_typed_members_is_still_read(harness: Harness) -> None:
    service = FakeService(
        Reply(409, json={"title": 5, "status": "409", "type": None, "detail": "superseded"})
    )
    with pytest.raises(ConflictError) as info:
        harness.run(service, lambda c: c.memories.correct("ft_1", object="x", user_id="u"))
    problem = info.value.problem
    assert problem is not None
    assert (problem.title, problem.status, problem.detail) == ("Conflict", 409, "superseded")


def test_request_id_falls_back_to_the_problem_instance() -> None:
    request = httpx.Request("GET", "http://x/v1/jobs/job_1")
    response = httpx.Response(
        404, json={"title": "Not Found", "status": 404, "instance": "req_inst"}, request=request
    )
    from tessera_memory._exceptions import status_error

    err = status_error(response)
    assert isinstance(err, NotFoundError)
    assert err.request_id == "req_inst"


def test_a_success_body_that_breaks_the_contract(harness: Harness) -> None:
    service = FakeService(Reply(200, json={"unexpected": True}, headers={"X-Request-Id": "req_v"}))
    with pytest.raises(APIResponseValidationError) as info:
        harness.run(service, lambda c: c.memories.get("ep_1", user_id="u"))
    assert info.value.status_code == 200
    assert info.value.request_id == "req_v"
    assert service.attempts == 1


def test_a_success_body_that_is_not_json(harness: Harness) -> None:
    service = FakeService(Reply(200, text="OK"))
    with pytest.raises(APIResponseValidationError):
        harness.run(service, lambda c: c.health())


def test_an_undocumented_success_status(harness: Harness) -> None:
    service = FakeService(Reply(204, text=""))
    with pytest.raises(APIResponseValidationError, match="unexpected status 204"):
        harness.run(service, lambda c: c.maintenance.consolidate(user_id="u"))


def test_connection_errors_carry_the_request(harness: Harness) -> None:
    service = FakeService(Reply(raises=httpx.ConnectError))
    with pytest.raises(APIConnectionError) as info:
        harness.run(service, lambda c: c.health(), max_retries=0)
    assert info.value.request.url.path == "/health"
    assert isinstance(info.value.__cause__, httpx.ConnectError)


def test_missing_api_key_is_a_clear_error() -> None:
    from tessera_memory import AsyncTessera, Tessera

    for cls in (Tessera, AsyncTessera):
        with pytest.raises(TesseraError, match="TESSERA_API_KEY"):
            cls()
