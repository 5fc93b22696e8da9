"""Start a real Tessera service on a loopback port, for test suites and benchmarks.

Every package's tests (server, SDK, MCP) and the benchmark use this one helper so that
they all exercise the same thing a user runs: `tessera serve` in its own process, on a real
SQLite file, reached over HTTP.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx


def free_port() -> int:
    """Ask the kernel for a free loopback port."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class ServiceHandle:
    """A running service: where it listens, the environment it got, and a first key."""

    base_url: str
    api_key: str
    env: dict[str, str]
    process: subprocess.Popen[bytes]
    log_path: Path
    extra_keys: dict[str, str] = field(default_factory=dict)

    def create_key(self, tenant: str, *, read_only: bool = False) -> str:
        """Create a key with the service CLI (a new tenant name makes a new tenant)."""
        return create_key(self.env, tenant, read_only=read_only)

    def cli(self, *args: str) -> subprocess.CompletedProcess[str]:
        """Run `tessera <args>` against this service's database."""
        return run_cli(self.env, *args)

    def logs(self) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace")


def run_cli(env: Mapping[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "tessera_server", *args],
        env=dict(env),
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )


def create_key(env: Mapping[str, str], tenant: str, *, read_only: bool = False) -> str:
    args = ["keys", "create", "--tenant", tenant]
    if read_only:
        args.append("--read-only")
    out = run_cli(env, *args).stdout
    # The key is printed alone on its own line; the line before it names only its
    # prefix ("tsk_live_abcd1234…"), which is not a key.
    for line in out.splitlines():
        token = line.strip()
        if token.startswith("tsk_live_") and token.isascii() and " " not in token:
            return token
    raise RuntimeError(f"`tessera keys create` printed no key: {out!r}")


def service_env(data_dir: Path, extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """The environment a test service runs with: its own database, no network providers."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("TESSERA_")}
    env.update(
        {
            "TESSERA_DATABASE_URL": f"sqlite:///{data_dir / 'tessera.db'}",
            "TESSERA_RATE_LIMIT_PER_MINUTE": "100000",
            # One key serves a whole test session: its byte budget must not run out either.
            "TESSERA_WORK_BUDGET_BYTES_PER_MINUTE": "1000000000",
            "TESSERA_LOG_LEVEL": "info",
        }
    )
    if extra:
        env.update(extra)
    return env


def wait_ready(base_url: str, process: subprocess.Popen[bytes], timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"service exited early with code {process.returncode}")
        try:
            if httpx.get(f"{base_url}/ready", timeout=2.0).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"service at {base_url} not ready after {timeout}s")


@contextmanager
def run_service(
    data_dir: Path,
    *,
    env: Mapping[str, str] | None = None,
    tenant: str = "test",
    port: int | None = None,
    workers: int = 1,
    log_name: str = "service.log",
) -> Iterator[ServiceHandle]:
    """Run `tessera serve` until the block exits; yields a handle with a fresh key.

    `workers` > 1 runs that many API processes (`serve --workers`), with no job worker inside;
    a second service may share a first one's `data_dir` under another `log_name`."""
    data_dir.mkdir(parents=True, exist_ok=True)
    full_env = service_env(data_dir, env)
    # `keys create` migrates the database before it writes the key (as every CLI command
    # that opens the store does), so no separate `migrate` process is started.
    api_key = create_key(full_env, tenant)
    port = port or free_port()
    base_url = f"http://127.0.0.1:{port}"
    log_path = data_dir / log_name
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "tessera_server",
                "serve",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                *(["--workers", str(workers)] if workers > 1 else []),
            ],
            env=full_env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        try:
            wait_ready(base_url, process)
            yield ServiceHandle(base_url, api_key, full_env, process, log_path)
        finally:
            process.terminate()
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
