"""Logging: useful lines, and never the key, the Authorization header or a body."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import httpx
import pytest
from sdk_fakes import API_KEY, FakeService, Harness, Reply
from tessera_memory import Tessera
from tessera_memory._logging import _StderrHandler, logger

SECRET_CONTENT = "my bank PIN is 9911"


@pytest.fixture
def restore_logger() -> Iterator[None]:
    handlers, level = list(logger.handlers), logger.level
    yield
    logger.handlers[:] = handlers
    logger.setLevel(level)


def scripted() -> FakeService:
    return FakeService(
        Reply(503, json={"title": "busy", "status": 503, "detail": SECRET_CONTENT}),
        Reply(raises=httpx.ReadTimeout),
        Reply(201, json={"turn_id": "t", "created": True, "consolidation_queued": False}),
    )


def test_logs_never_contain_the_key_or_bodies(
    harness: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="tessera_memory")
    service = scripted()
    harness.run(
        service,
        lambda c: c.memories.add(content=SECRET_CONTENT, role="user", user_id="u"),
        default_headers={"X-Extra": "extra-header-value"},
    )
    assert service.attempts == 3
    text = caplog.text
    assert "POST http://tessera.test/v1/memories -> 503 (request id req_1)" in text
    assert "retrying POST /v1/memories" in text
    assert "ReadTimeout" in text
    assert "-> 201" in text
    for secret in (API_KEY, "Bearer", "Authorization", SECRET_CONTENT, "extra-header-value"):
        assert secret not in text
    for record in caplog.records:
        assert API_KEY not in str(record.args)


def test_logs_of_a_failed_call_never_contain_the_key(
    harness: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="tessera_memory")
    service = FakeService(
        Reply(401, json={"title": "Unauthorized", "status": 401, "detail": "bad key"})
    )
    with pytest.raises(Exception):  # noqa: B017
        harness.run(service, lambda c: c.search(SECRET_CONTENT, user_id="u"))
    assert "-> 401" in caplog.text
    assert API_KEY not in caplog.text and SECRET_CONTENT not in caplog.text


@pytest.mark.parametrize(("value", "level"), [("debug", logging.DEBUG), ("INFO", logging.INFO)])
def test_tessera_log_attaches_one_stderr_handler(
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    restore_logger: None,
    value: str,
    level: int,
) -> None:
    monkeypatch.setenv("TESSERA_LOG", value)
    service = scripted()
    http = httpx.Client(transport=httpx.MockTransport(service))
    client = Tessera(
        api_key=API_KEY, base_url="http://tessera.test", http_client=http, _sleep=lambda s: None
    )
    Tessera(api_key=API_KEY)  # a second client adds no second handler
    assert logger.level == level
    assert sum(isinstance(h, _StderrHandler) for h in logger.handlers) == 1
    client.memories.add(content=SECRET_CONTENT, role="user", user_id="u")
    err = capsys.readouterr().err
    assert "retrying POST /v1/memories" in err
    assert ("-> 201" in err) == (level == logging.DEBUG)
    assert API_KEY not in err and "Bearer" not in err and SECRET_CONTENT not in err


def test_no_handler_without_tessera_log(restore_logger: None) -> None:
    Tessera(api_key=API_KEY)
    assert not any(isinstance(h, _StderrHandler) for h in logger.handlers)
