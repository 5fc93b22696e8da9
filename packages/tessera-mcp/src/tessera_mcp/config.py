"""Where the key and service address come from, and how the key is stored.

Precedence, highest first:

* ``TESSERA_API_KEY`` / ``TESSERA_BASE_URL`` in the environment;
* the credentials file written by ``tessera-mcp login``
  (``~/.tessera/credentials.json``, or ``$TESSERA_CONFIG_DIR/credentials.json``);
* for the address only, the local default service (``http://127.0.0.1:8420``).

Everything here is read again on every call, so a ``login`` in another terminal takes effect on
the next tool call of an already running server.
"""

from __future__ import annotations

import contextlib
import json
import os
import stat
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

DEFAULT_BASE_URL = "http://127.0.0.1:8420"
CREDENTIALS_FILE = "credentials.json"


class CredentialsError(Exception):
    """The credentials file exists but cannot be read or written."""


@dataclass(frozen=True)
class Settings:
    """The resolved key and address, each with a note of where it came from."""

    api_key: str | None
    api_key_source: str | None
    base_url: str
    base_url_source: str
    credentials_path: Path
    credentials_problem: str | None = None

    @property
    def has_key(self) -> bool:
        return bool(self.api_key)


def config_dir(env: Mapping[str, str] | None = None) -> Path:
    """The folder holding the credentials file."""
    env = os.environ if env is None else env
    override = env.get("TESSERA_CONFIG_DIR", "").strip()
    if override:
        return Path(override).expanduser()
    return Path.home() / ".tessera"


def credentials_path(env: Mapping[str, str] | None = None) -> Path:
    return config_dir(env) / CREDENTIALS_FILE


def load_credentials(path: Path) -> dict[str, str]:
    """Read the credentials file; an absent file is an empty mapping."""
    try:
        raw = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return {}
    except OSError as exc:
        raise CredentialsError(f"cannot read {path}: {exc.strerror or exc}") from None
    try:
        data = json.loads(raw) if raw.strip() else {}
    except json.JSONDecodeError:
        raise CredentialsError(f"{path} is not valid JSON; run `tessera-mcp login` again") from None
    if not isinstance(data, dict):
        raise CredentialsError(f"{path} does not hold a JSON object; run `tessera-mcp login` again")
    return {str(k): v for k, v in data.items() if isinstance(v, str)}


def save_credentials(path: Path, values: Mapping[str, str]) -> None:
    """Write the credentials file atomically, readable by its owner only (0600).

    The folder is created 0700 when missing. The file is written to a temporary sibling that
    never has wider permissions, then renamed over the old one.
    """
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    payload = json.dumps(dict(values), indent=2, sort_keys=True) + "\n"
    fd, tmp_name = tempfile.mkstemp(prefix=".credentials-", suffix=".tmp", dir=path.parent)
    try:
        os.fchmod(fd, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(payload)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp_name, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp_name)
        raise
    os.chmod(path, 0o600)


def file_mode(path: Path) -> int | None:
    """The permission bits of ``path``, or None when it does not exist."""
    try:
        return stat.S_IMODE(path.stat().st_mode)
    except OSError:
        return None


def normalize_base_url(url: str) -> str:
    return url.strip().rstrip("/")


def resolve_settings(env: Mapping[str, str] | None = None) -> Settings:
    """Combine the environment and the credentials file into the settings for one call."""
    env = os.environ if env is None else env
    path = credentials_path(env)
    problem: str | None = None
    try:
        stored = load_credentials(path)
    except CredentialsError as exc:
        stored, problem = {}, str(exc)

    api_key: str | None = None
    key_source: str | None = None
    env_key = env.get("TESSERA_API_KEY", "").strip()
    file_key = stored.get("api_key", "").strip()
    if env_key:
        api_key, key_source = env_key, "TESSERA_API_KEY"
    elif file_key:
        api_key, key_source = file_key, str(path)

    env_url = env.get("TESSERA_BASE_URL", "").strip()
    file_url = stored.get("base_url", "").strip()
    if env_url:
        base_url, url_source = normalize_base_url(env_url), "TESSERA_BASE_URL"
    elif file_url:
        base_url, url_source = normalize_base_url(file_url), str(path)
    else:
        base_url, url_source = DEFAULT_BASE_URL, "default"

    return Settings(
        api_key=api_key,
        api_key_source=key_source,
        base_url=base_url,
        base_url_source=url_source,
        credentials_path=path,
        credentials_problem=problem,
    )


def mask_key(key: str) -> str:
    """A hint that tells two keys apart without revealing one: ``tsk_live_…wxyz``."""
    if len(key) <= 12:
        return "…" + key[-2:] if len(key) > 4 else "…"
    prefix = "tsk_live_" if key.startswith("tsk_live_") else key[:4]
    return f"{prefix}…{key[-4:]}"
