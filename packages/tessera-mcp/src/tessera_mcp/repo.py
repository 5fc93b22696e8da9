"""Which memory namespace (``user_id``) the current project uses.

The rules are those of the ``tessera-mcp`` 0.1.4 published on the package index, so memories
it stored stay visible. In order:

1. ``TESSERA_REPO`` names it outright, verbatim (``acme/widget`` is ``acme/widget``);
2. the ``origin`` remote of the git repository: ``repo:`` and the last two parts of its URL
   split at ``/`` and ``:`` (``git@github.com:acme/widget.git`` is ``repo:acme/widget``,
   ``https://gitlab.com/group/sub/widget`` is ``repo:sub/widget``, a local ``/srv/git/widget.git``
   is ``repo:git/widget``);
3. the git top-level folder name: ``repo:<folder>``;
4. the working directory name: ``repo:<folder>``.

Releases of this server before it followed those rules named some projects differently (a
``repo:`` prefix on ``TESSERA_REPO``, every path segment of a remote, a local remote's last
folder only). That older name is kept as :attr:`Namespace.legacy_user_id` when it differs, and
the reading tools search it too, so nothing stored under it is lost.

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
_SPLIT = re.compile(r"[/:]")
# ``scheme://user:password@`` at the start of a URL.
_USERINFO = re.compile(r"^(?P<scheme>[A-Za-z][A-Za-z0-9+.-]*://)[^/@]*@")


@dataclass(frozen=True)
class Namespace:
    """The scope every memory call of this project uses.

    ``legacy_user_id`` is the name releases of this server before the 0.1.4-compatible rules
    gave the same project, when it differs from ``user_id``; reads cover both.
    """

    user_id: str
    source: str
    session_id: str | None = None
    project_dir: Path | None = None
    legacy_user_id: str | None = None

    @property
    def read_ids(self) -> tuple[str, ...]:
        """The namespaces a read searches: this one, then the legacy one if any."""
        if self.legacy_user_id and self.legacy_user_id != self.user_id:
            return (self.user_id, self.legacy_user_id)
        return (self.user_id,)


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
    """The slug of a remote URL as 0.1.4 computed it: its last two parts split at ``/``
    and ``:``, after a trailing ``/`` and ``.git``; None when it has fewer than two parts.

    One deliberate difference: credentials in a URL (``https://user:token@host/...``) are
    removed first, so they can never become part of a name (0.1.4 kept them when the path had
    a single part).
    """
    cleaned = url.strip().removesuffix("/").removesuffix(".git")
    cleaned = _USERINFO.sub(r"\g<scheme>", cleaned)
    parts = [part for part in _SPLIT.split(cleaned) if part]
    return "/".join(parts[-2:]) if len(parts) >= 2 else None


def legacy_slug_from_remote(url: str) -> str | None:
    """The ``owner/repo`` path a remote URL points at, as earlier releases of this server read
    it (kept to find memories they stored), or None when it names no such path.

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


def _namespace(
    user_id: str,
    legacy: str | None,
    source: str,
    session: str | None,
    folder: Path,
) -> Namespace:
    return Namespace(user_id, source, session, folder, legacy if legacy != user_id else None)


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
        return _namespace(override, _with_prefix(override), "TESSERA_REPO", session, folder)

    top = _git(folder, "rev-parse", "--show-toplevel")
    if top is not None:
        # As 0.1.4 read it: the configured URL, before any ``insteadOf`` rewriting.
        remote = _git(folder, "config", "--get", "remote.origin.url")
        slug = repo_slug_from_remote(remote) if remote else None
        legacy = legacy_slug_from_remote(remote) if remote else None
        name = Path(top).name
        if slug:
            old = PREFIX + (legacy or name)
            return _namespace(PREFIX + slug, old, "git origin remote", session, Path(top))
        if name:
            earlier = PREFIX + legacy if legacy else None
            return _namespace(PREFIX + name, earlier, "git top-level folder", session, Path(top))

    # The filesystem root has no name (an app started from "/"): 0.1.4 called it "unknown".
    name = folder.name
    legacy_name = PREFIX + (name or "default")
    return _namespace(
        PREFIX + (name or "unknown"), legacy_name, "working directory", session, folder
    )
