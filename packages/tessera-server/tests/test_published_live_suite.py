"""The published client's own live suite (`tests/test_live.py` of `tessera-memory==0.1.4`),
unchanged, against a default install with no vision endpoint, on SQLite and on PostgreSQL.

Its resources test uploads a PNG with no caption: the service must store it (offline
description and OCR) rather than ask for a vision model. A separate virtual environment gets
the published client and the suite's own test tools from the package index, and the suite's
source distribution from it too; nothing of this repository is imported there. Every one of
its 25 tests must pass: a skip counts as a failure.

Set TESSERA_PUBLISHED_LIVE_PYTHON to a Python that already has `tessera-memory==0.1.4`,
pytest and pytest-asyncio installed to skip building the venv.

No fixtures from conftest.py; the venv set-up is `published_venv.py`'s.
"""

from __future__ import annotations

import subprocess
import tarfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from published_venv import PUBLISHED, clean_env, index_venv, pip
from tessera_server.testing import ServiceHandle, run_service

pytestmark = pytest.mark.published

# The published suite's own test tools (its pyproject's dev group).
TOOLS = ("pytest>=8.3", "pytest-asyncio>=0.25", "respx>=0.22")
LIVE_TESTS = 25


@pytest.fixture(scope="session")
def live_python(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A Python with the published client and the suite's test tools, nothing of ours."""
    return index_venv(
        tmp_path_factory,
        "published-live-venv",
        (PUBLISHED, *TOOLS),
        preset="TESSERA_PUBLISHED_LIVE_PYTHON",
    )


@pytest.fixture(scope="session")
def live_suite(live_python: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The published source distribution's root, holding `tests/test_live.py`."""
    where = tmp_path_factory.mktemp("published-sdist")
    pip(
        live_python,
        "download",
        "--no-input",
        "--no-deps",
        "--no-binary",
        ":all:",
        "--dest",
        str(where),
        PUBLISHED,
        cwd=where,
    )
    archive = next(where.glob("tessera_memory-0.1.4.tar.gz"))
    with tarfile.open(archive) as tar:
        tar.extractall(where, filter="data")
    root = where / "tessera_memory-0.1.4"
    assert (root / "tests" / "test_live.py").is_file(), sorted(p.name for p in root.iterdir())
    return root


@pytest.fixture(
    scope="module", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
)
def default_service(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ServiceHandle]:
    """A default install: no LLM, no vision endpoint; only the database differs."""
    env: dict[str, str] = {}
    database = None
    if request.param == "postgres":
        pytest.importorskip("psycopg")
        testserver = pytest.importorskip("tessera_server.store.postgres.testserver")
        database = testserver.database()
        env["TESSERA_DATABASE_URL"] = database.__enter__()
    try:
        with run_service(tmp_path_factory.mktemp(f"live-{request.param}"), env=env) as handle:
            yield handle
    finally:
        if database is not None:
            database.__exit__(None, None, None)


@pytest.mark.slow
@pytest.mark.timeout(1800)
def test_published_live_suite_passes_in_full(
    live_python: Path, live_suite: Path, default_service: ServiceHandle
) -> None:
    env = clean_env()
    env["TESSERA_BASE_URL"] = default_service.base_url
    env["TESSERA_API_KEY"] = default_service.api_key
    # From the sdist's root, so its pytest settings (asyncio mode, markers) apply; its
    # sources sit under src/, off the path, so the suite imports the installed client.
    run = subprocess.run(
        [
            str(live_python),
            "-m",
            "pytest",
            "tests/test_live.py",
            "--run-live",
            "-q",
            "-rA",
            "-p",
            "no:cacheprovider",
        ],
        env=env,
        cwd=live_suite,
        capture_output=True,
        text=True,
        timeout=1700,
    )
    output = run.stdout + run.stderr
    if run.returncode != 0 or f"{LIVE_TESTS} passed" not in output or "skipped" in output:
        log_tail = "\n".join(default_service.logs().splitlines()[-60:])
        pytest.fail(
            f"the published live suite did not pass {LIVE_TESTS}/{LIVE_TESTS}:\n{output[-6000:]}\n"
            f"[service log, last lines]\n{log_tail}",
            pytrace=False,
        )
