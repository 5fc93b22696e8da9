"""Shared fixtures: an environment free of the developer's own Tessera settings, git repos."""

from __future__ import annotations

import os
import socket
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest


@pytest.fixture(autouse=True)
def isolated_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Every test runs without TESSERA_* from the outside and with its own config folder."""
    for name in list(os.environ):
        if name.startswith("TESSERA_"):
            monkeypatch.delenv(name)
    config = tmp_path / "config"
    monkeypatch.setenv("TESSERA_CONFIG_DIR", str(config))
    # Never let git look above the test's temporary folder.
    monkeypatch.setenv("GIT_CEILING_DIRECTORIES", str(tmp_path))
    for name in ("GIT_DIR", "GIT_WORK_TREE"):
        monkeypatch.delenv(name, raising=False)
    return config


def git(cwd: Path, *args: str) -> None:
    subprocess.run(["git", "-C", str(cwd), *args], check=True, capture_output=True)


@pytest.fixture
def make_repo(tmp_path: Path) -> Callable[..., Path]:
    """Create a real git repository, optionally with an origin remote."""

    def make(name: str, remote: str | None = None) -> Path:
        path = tmp_path / "work" / name
        path.mkdir(parents=True)
        git(path, "init", "-q")
        if remote is not None:
            git(path, "remote", "add", "origin", remote)
        return path

    return make


@pytest.fixture
def closed_port_url() -> str:
    """The address of a loopback port with nothing listening: connections are refused."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}"


@pytest.fixture
def silent_server_url() -> Iterator[str]:
    """A loopback port that accepts connections and never answers (a hung service)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    sock.listen(16)
    try:
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    finally:
        sock.close()


@pytest.fixture
def anyio_backend() -> str:
    """The server, the SDK and the hooks all run on asyncio."""
    return "asyncio"
