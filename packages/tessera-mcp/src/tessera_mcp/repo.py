"""Which memory namespace (``user_id``) the current project uses.

In order:

1. ``TESSERA_REPO`` names it outright (``acme/widget`` becomes ``repo:acme/widget``);
2. the ``origin`` remote of the git repository: ``repo:<owner>/<repo>``;
3. the git top-level folder name: ``repo:<folder>``;
4. the working directory name: ``repo:<folder>``.

The project folder is ``TESSERA_PROJECT_DIR`` when set (editors that start MCP servers outside
the project can pass it), else the working directory. ``TESSERA_SESSION`` sets a session id.
"""

from __future__ import annotations

import contextlib
import os
import re
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

PREFIX = "repo:"
_GIT_TIMEOUT = 5.0
# user@host:path, the scp-like syntax git accepts for ssh remotes.
_SCP_LIKE = re.compile(r"^(?:[^@/]+@)?(?P<host>[^:/]+):(?P<path>.+)$")


@dataclass(frozen=True)
class Namespace:
    """The scope every memory call of this project uses."""

    user_id: str
    source: str
    session_id: str | None = None
    project_dir: Path | None = None


def _git(cwd: Path, *args: str) -> str | None:
    """Run git in ``cwd``; its stripped stdout, or None when git fails or is missing."""
    try:
        done = subprocess.run(
            ["git", "-C", str(cwd), *args],
            capture_output=True,
            text=True,
            timeout=_GIT_TIMEOUT,
            check=False,
            env={**os.environ, "GIT_TERMINAL_PROMPT": "0", "LC_ALL": "C"},
        )
    except (OSError, subprocess.SubprocessError):
        return None
    if done.returncode != 0:
        return None
    out = done.stdout.strip()
    return out or None


def _strip_git_suffix(path: str) -> str:
    path = path.strip().strip("/")
    while path.endswith("/"):
        path = path[:-1]
    if path.endswith(".git"):
        path = path[: -len(".git")]
    return path.strip("/")


def repo_slug_from_remote(url: str) -> str | None:
    """The ``owner/repo`` path a remote URL points at, or None when it names no such path.

    Understands https/http/ssh/git URLs (``https://github.com/acme/widget.git``,
    ``ssh://git@host:22/acme/widget``), the scp-like form (``git@github.com:acme/widget.git``)
    and local paths (``/srv/git/widget.git``, ``file:///srv/git/widget``), for which only the
    final folder name is used. Credentials embedded in a URL are never part of the result.
    """
    url = url.strip()
    if not url:
        return None
    if "://" in url:
        parts = urlsplit(url)
        path = _strip_git_suffix(parts.path)
        if parts.scheme == "file" or not parts.hostname:
            name = path.rsplit("/", 1)[-1]
            return name or None
        return path or None
    if url.startswith(("/", "./", "../", "~")) or re.match(r"^[A-Za-z]:[\\/]", url):
        name = _strip_git_suffix(url.replace("\\", "/")).rsplit("/", 1)[-1]
        return name or None
    scp = _SCP_LIKE.match(url)
    if scp:
        path = _strip_git_suffix(scp.group("path"))
        return path or None
    name = _strip_git_suffix(url).rsplit("/", 1)[-1]
    return name or None


def _with_prefix(name: str) -> str:
    name = name.strip()
    return name if name.startswith(PREFIX) else PREFIX + name


def detect_namespace(
    cwd: str | os.PathLike[str] | None = None, env: Mapping[str, str] | None = None
) -> Namespace:
    """Work out the namespace for a project folder (see the module docstring for the order)."""
    env = os.environ if env is None else env
    session = env.get("TESSERA_SESSION", "").strip() or None
    folder = Path(cwd) if cwd else Path.cwd()
    project = env.get("TESSERA_PROJECT_DIR", "").strip()
    # A client that does not expand ${workspaceFolder} passes it literally: ignore that.
    if project and "${" not in project and Path(project).expanduser().is_dir():
        folder = Path(project).expanduser()
    with contextlib.suppress(OSError):
        folder = folder.resolve()

    override = env.get("TESSERA_REPO", "").strip()
    if override:
        return Namespace(_with_prefix(override), "TESSERA_REPO", session, folder)

    top = _git(folder, "rev-parse", "--show-toplevel")
    if top is not None:
        remote = _git(folder, "remote", "get-url", "origin")
        slug = repo_slug_from_remote(remote) if remote else None
        if slug:
            return Namespace(PREFIX + slug, "git origin remote", session, Path(top))
        name = Path(top).name
        if name:
            return Namespace(PREFIX + name, "git top-level folder", session, Path(top))

    # The filesystem root has no name (an app started from "/"): use a fixed one.
    name = folder.name or "default"
    return Namespace(PREFIX + name, "working directory", session, folder)
