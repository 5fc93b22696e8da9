"""A virtual environment holding packages from the package index and nothing of this
repository: the set-up the published-client tests share (`test_published_client.py`,
`test_published_live_suite.py`)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

PUBLISHED = "tessera-memory==0.1.4"

# pip output that means the index could not be reached (as opposed to a real failure).
_UNREACHABLE = re.compile(
    r"(Could not find a version that satisfies|No matching distribution found|"
    r"NewConnectionError|Failed to establish a new connection|Temporary failure in name "
    r"resolution|Network is unreachable|ConnectTimeout|ReadTimeout|SSLError|ProxyError|"
    r"Max retries exceeded)",
)


def clean_env() -> dict[str, str]:
    """An environment in which nothing of this repository leaks into the venv's imports."""
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV", "PYTHONSTARTUP")
        and not k.startswith("TESSERA_")
    }
    env["PYTHONNOUSERSITE"] = "1"
    env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
    return env


def pip(python: Path, *args: str, cwd: Path) -> None:
    """Run pip under `python`; skip the test when the package index cannot be reached."""
    try:
        done = subprocess.run(
            [str(python), "-m", "pip", *args],
            env=clean_env(),
            cwd=cwd,
            capture_output=True,
            text=True,
            timeout=600,
        )
    except subprocess.TimeoutExpired:
        pytest.skip(f"`pip {args[0]}` did not finish within 10 minutes (index unreachable?)")
    if done.returncode != 0:
        output = done.stdout + done.stderr
        if _UNREACHABLE.search(output):
            pytest.skip(
                f"pip could not reach the package index; this check needs it:\n{output[-2000:]}"
            )
        pytest.fail(f"`pip {' '.join(args)}` failed:\n{output[-4000:]}", pytrace=False)


def index_venv(
    tmp_path_factory: pytest.TempPathFactory, name: str, packages: tuple[str, ...], preset: str
) -> Path:
    """The Python of a fresh venv with `packages` installed from the index; or, when the
    environment variable `preset` names a Python that already has them, that one."""
    given = os.environ.get(preset)
    if given:
        return Path(given)
    venv = tmp_path_factory.mktemp(name)
    subprocess.run(
        [sys.executable, "-m", "venv", str(venv)],
        check=True,
        env=clean_env(),
        capture_output=True,
        timeout=300,
    )
    python = venv / ("Scripts/python.exe" if os.name == "nt" else "bin/python")
    pip(python, "install", "--no-input", *packages, cwd=venv)
    return python
