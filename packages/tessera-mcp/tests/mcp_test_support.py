"""Helpers shared by the tessera-mcp tests (a uniquely named module, importable from tests)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path


def cli_env(**extra: str) -> dict[str, str]:
    """The environment for a `tessera-mcp` subprocess: this test's, plus ``extra``."""
    env = dict(os.environ)
    env.update(extra)
    return env


def run_cli(
    *args: str, env: dict[str, str] | None = None, input: str | None = None, cwd: Path | None = None
) -> subprocess.CompletedProcess[str]:
    """Run `tessera-mcp` (through the interpreter running the tests) and capture its output."""
    return subprocess.run(
        [sys.executable, "-m", "tessera_mcp", *args],
        env=env or cli_env(),
        input=input if input is not None else "",
        capture_output=True,
        text=True,
        timeout=120,
        cwd=cwd,
        check=False,
    )
