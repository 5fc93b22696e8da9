"""Fixtures for the SDK's unit tests (helpers live in ``sdk_fakes``)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import pytest
from sdk_fakes import Harness


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(params=["sync", "async"])
def harness(request: pytest.FixtureRequest) -> Harness:
    return Harness(request.param)


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    for name in ("TESSERA_API_KEY", "TESSERA_BASE_URL", "TESSERA_LOG"):
        monkeypatch.delenv(name, raising=False)
    yield


@pytest.fixture(scope="session")
def service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """One real service process (``tessera serve`` on loopback) for all end-to-end tests."""
    if os.environ.get("CI"):
        from tessera_server import testing
    else:  # the SDK's suite can run without the service installed; CI always runs it
        testing = pytest.importorskip("tessera_server.testing")
    with testing.run_service(tmp_path_factory.mktemp("tessera-sdk-e2e")) as handle:
        yield handle
