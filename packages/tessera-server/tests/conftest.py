"""Fixtures for the service's end-to-end tests.

One real `tessera serve` process (uvicorn on a loopback port, a real SQLite file) serves the
whole session. Tests stay independent by writing under their own `user_id`. The few tests
that need a fresh database or special settings start their own process with `run_service`.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from server_helpers import Api, assert_clean_log, unique
from tessera_server.testing import ServiceHandle, run_service


@pytest.fixture(scope="session")
def service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServiceHandle]:
    with run_service(tmp_path_factory.mktemp("service")) as handle:
        yield handle
        # After the whole session: the shared service never crashed and never logged a key.
        assert_clean_log(handle.logs())


@pytest.fixture(scope="session")
def api(service: ServiceHandle) -> Iterator[Api]:
    client = Api(service.base_url, service.api_key)
    yield client
    client.close()


@pytest.fixture(scope="session")
def other_key(service: ServiceHandle) -> str:
    """A read-write key of a second tenant."""
    return service.create_key("other")


@pytest.fixture(scope="session")
def other(service: ServiceHandle, other_key: str) -> Iterator[Api]:
    client = Api(service.base_url, other_key, secrets=[service.api_key])
    yield client
    client.close()


@pytest.fixture(scope="session")
def readonly(service: ServiceHandle) -> Iterator[Api]:
    """A read-only key of the main tenant."""
    client = Api(service.base_url, service.create_key("test", read_only=True))
    yield client
    client.close()


@pytest.fixture(scope="session")
def anonymous(service: ServiceHandle) -> Iterator[Api]:
    client = Api(service.base_url, None)
    yield client
    client.close()


@pytest.fixture
def uid(request: pytest.FixtureRequest) -> str:
    """A user_id no other test uses."""
    return unique(request.node.name[:40].replace("[", "-").replace("]", ""))


@pytest.fixture
def fresh_dir(tmp_path: Path) -> Path:
    return tmp_path / "data"


# PostgreSQL is a throwaway server the tests start: left out of the fast lane by its marker.
@pytest.fixture(
    scope="module", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
)
def either(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ServiceHandle]:
    """A service of its own on each backend, for rules that touch storage (PostgreSQL is a
    throwaway server the tests start, as in the conformance suite)."""
    env: dict[str, str] = {}
    url = None
    if request.param == "postgres":
        pytest.importorskip("psycopg")
        from tessera_server.store.postgres import testserver

        url = testserver.shared().create_database()
        env = {"TESSERA_DATABASE_URL": url}
    try:
        with run_service(tmp_path_factory.mktemp(f"either-{request.param}"), env=env) as svc:
            yield svc
            assert_clean_log(svc.logs())
    finally:
        if url is not None:
            from tessera_server.store.postgres import testserver

            testserver.shared().drop_database(url)
