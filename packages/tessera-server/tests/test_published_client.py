"""The published client `tessera-memory==0.1.4`, unchanged, against a real service.

A separate virtual environment gets the client from the package index (never this
repository's SDK), a real `tessera serve` runs on a loopback port, and
`scripts/published_client_check.py` drives every public method of the sync and async
clients against it under that environment's Python. The venv is built once per session.

Set TESSERA_PUBLISHED_CLIENT_PYTHON to a Python that already has the published client
installed to skip building the venv.

No fixtures from conftest.py; the venv set-up is `published_venv.py`'s.
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from published_venv import PUBLISHED, clean_env, index_venv
from tessera_server.testing import ServiceHandle, run_service

# Builds a venv with the published client from the package index: not in the fast lane.
pytestmark = pytest.mark.published

REPO_ROOT = Path(__file__).resolve().parents[3]
SCRIPT = REPO_ROOT / "scripts" / "published_client_check.py"


@pytest.fixture(scope="session")
def published_python(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A Python interpreter with the published client, and nothing of ours, installed."""
    return index_venv(
        tmp_path_factory,
        "published-client-venv",
        (PUBLISHED,),
        preset="TESSERA_PUBLISHED_CLIENT_PYTHON",
    )


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServiceHandle]:
    with run_service(tmp_path_factory.mktemp("published-client-service")) as handle:
        yield handle


def _run_script(python: Path, *args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(python), str(SCRIPT), *args],
        env=clean_env(),
        cwd=cwd,  # outside the repository, so no local package shadows the installed one
        capture_output=True,
        text=True,
        timeout=600,
    )


def test_published_client_is_the_one_from_the_index(published_python: Path, tmp_path: Path) -> None:
    probe = subprocess.run(
        [
            str(published_python),
            "-c",
            "import tessera_memory, importlib.metadata as m;"
            "print(tessera_memory.__version__, m.version('tessera-memory'), tessera_memory.__file__)",
        ],
        env=clean_env(),
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert probe.returncode == 0, probe.stderr
    version, dist_version, location = probe.stdout.split()
    assert (version, dist_version) == ("0.1.4", "0.1.4"), probe.stdout
    assert str(REPO_ROOT) not in location, f"the repository's SDK was imported: {location}"


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_published_client_drives_every_method(
    published_python: Path, service: ServiceHandle, tmp_path: Path
) -> None:
    result = _run_script(
        published_python,
        "--base-url",
        service.base_url,
        "--api-key",
        service.api_key,
        "--expect-version",
        "0.1.4",
        cwd=tmp_path,
    )
    output = result.stdout + ("\n[stderr]\n" + result.stderr if result.stderr.strip() else "")
    if result.returncode != 0:
        log_tail = "\n".join(service.logs().splitlines()[-60:])
        pytest.fail(
            f"the published client check exited {result.returncode}:\n\n{output}\n"
            f"[service log, last lines]\n{log_tail}",
            pytrace=False,
        )
    assert "all " in result.stdout and "checks passed" in result.stdout, output
    print(output)
