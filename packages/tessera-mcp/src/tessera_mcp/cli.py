"""The ``tessera-mcp`` command.

* ``tessera-mcp`` (or ``tessera-mcp serve``): run the MCP server on stdio;
* ``tessera-mcp login [KEY] [--base-url URL]``: store the API key (prompted for, hidden, when
  not given) in the credentials file;
* ``tessera-mcp logout``: remove the stored key;
* ``tessera-mcp status``: show the namespace, whether a key is set, and the service address;
* ``tessera-mcp hook session-start|user-prompt-submit|session-end``: Claude Code hooks.
"""

from __future__ import annotations

import argparse
import asyncio
import getpass
import os
import sys
from collections.abc import Mapping, Sequence
from typing import TextIO

import tessera_memory

from . import __version__
from .config import (
    CredentialsError,
    Settings,
    file_mode,
    load_credentials,
    mask_key,
    normalize_base_url,
    resolve_settings,
    save_credentials,
)
from .errors import describe_error
from .hooks import EVENTS, run_hook
from .repo import detect_namespace

CHECK_TIMEOUT = 5.0


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="tessera-mcp",
        description="Long-term memory for coding agents, through the Tessera memory service.",
    )
    parser.add_argument("--version", action="version", version=f"tessera-mcp {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.add_parser("serve", help="run the MCP server on stdio (the default)")
    login = sub.add_parser("login", help="store your Tessera API key")
    login.add_argument("key", nargs="?", help="the API key; prompted for (hidden) when omitted")
    login.add_argument("--base-url", help="also store the address of your Tessera service")
    login.add_argument(
        "--no-verify",
        action="store_true",
        help="store the key without checking it with the service",
    )
    sub.add_parser("logout", help="remove the stored API key")
    status = sub.add_parser("status", help="show the repository, key and service address in use")
    status.add_argument(
        "--offline", action="store_true", help="do not contact the service to check the key"
    )
    hook = sub.add_parser("hook", help="run a Claude Code hook (reads the event JSON on stdin)")
    hook.add_argument("event", choices=sorted(EVENTS))
    return parser


async def _check(settings: Settings, user_id: str) -> tuple[str, bool | None]:
    """Contact the service with the key: (what happened, whether the key was accepted)."""
    assert settings.api_key
    try:
        async with tessera_memory.AsyncTessera(
            api_key=settings.api_key,
            base_url=settings.base_url,
            timeout=CHECK_TIMEOUT,
            max_retries=0,
        ) as client:
            await client.memories.list(user_id=user_id, limit=1)
    except tessera_memory.AuthenticationError:
        return "the service rejected this key (401)", False
    except tessera_memory.PermissionDeniedError:
        return "reachable; the key is valid but may not read memories (403)", True
    except tessera_memory.TesseraError as exc:
        return describe_error(exc, settings), None
    return "reachable, key accepted", True


def _read_key(stdin: TextIO) -> str:
    if stdin.isatty():
        return getpass.getpass("Tessera API key (input hidden): ")
    return stdin.readline()


def cmd_login(
    args: argparse.Namespace, env: Mapping[str, str], stdin: TextIO, out: TextIO, err: TextIO
) -> int:
    key = (args.key or "").strip()
    if not key:
        try:
            key = _read_key(stdin).strip()
        except (EOFError, KeyboardInterrupt):
            key = ""
    if not key:
        print("No key given; nothing was saved.", file=err)
        return 2
    if any(c.isspace() for c in key):
        print("That key contains spaces; paste it again exactly as issued.", file=err)
        return 2
    if not key.startswith("tsk_"):
        print("Note: Tessera keys usually start with `tsk_live_`; saving it anyway.", file=err)

    before = resolve_settings(env)
    try:
        values = load_credentials(before.credentials_path)
    except CredentialsError:
        values = {}
    values["api_key"] = key
    if args.base_url:
        values["base_url"] = normalize_base_url(args.base_url)

    if not args.no_verify:
        url = (
            normalize_base_url(env["TESSERA_BASE_URL"])
            if env.get("TESSERA_BASE_URL", "").strip()
            else values.get("base_url") or before.base_url
        )
        probe = Settings(key, "login", url, "login", before.credentials_path)
        user_id = detect_namespace(None, env).user_id
        outcome, accepted = asyncio.run(_check(probe, user_id))
        if accepted is False:
            print(
                f"The Tessera service at {url} rejected this key (401); nothing was saved. "
                "Check the key, or pass --base-url if it belongs to another service.",
                file=err,
            )
            return 1
        if accepted is None:
            print(f"Could not check the key: {outcome}", file=err)
            print("Saving it anyway; it will be used once the service is reachable.", file=err)

    try:
        save_credentials(before.credentials_path, values)
    except OSError as exc:
        print(f"Could not write {before.credentials_path}: {exc.strerror or exc}", file=err)
        return 1
    print(
        f"Saved key {mask_key(key)} to {before.credentials_path} (readable only by you).", file=out
    )
    if args.base_url:
        print(f"Service address: {values['base_url']}", file=out)
    if env.get("TESSERA_API_KEY", "").strip():
        print(
            "Note: TESSERA_API_KEY is set in this environment and takes precedence over the "
            "saved key.",
            file=out,
        )
    if args.base_url and env.get("TESSERA_BASE_URL", "").strip():
        print(
            "Note: TESSERA_BASE_URL is set in this environment and takes precedence over "
            "--base-url.",
            file=out,
        )
    print("Running agents pick it up on their next memory call; no restart needed.", file=out)
    return 0


def cmd_logout(env: Mapping[str, str], out: TextIO, err: TextIO) -> int:
    settings = resolve_settings(env)
    path = settings.credentials_path
    try:
        values = load_credentials(path)
    except CredentialsError as exc:
        print(str(exc), file=err)
        return 1
    if "api_key" not in values:
        print(f"No key stored in {path}.", file=out)
        return 0
    del values["api_key"]
    try:
        if values:
            save_credentials(path, values)
        else:
            path.unlink()
    except OSError as exc:
        print(f"Could not update {path}: {exc.strerror or exc}", file=err)
        return 1
    print(f"Removed the stored key from {path}.", file=out)
    if env.get("TESSERA_API_KEY", "").strip():
        print("Note: TESSERA_API_KEY is still set in this environment.", file=out)
    return 0


def cmd_status(args: argparse.Namespace, env: Mapping[str, str], out: TextIO) -> int:
    settings = resolve_settings(env)
    ns = detect_namespace(None, env)
    rows: list[tuple[str, str]] = [
        ("namespace", f"{ns.user_id}  (from {ns.source})"),
        *(
            [("also reads", f"{ns.legacy_user_id}  (this project's name in earlier releases)")]
            if ns.legacy_user_id
            else []
        ),
        ("project", str(ns.project_dir) if ns.project_dir else "-"),
        ("session", f"{ns.session_id}  (from TESSERA_SESSION)" if ns.session_id else "-"),
    ]
    if settings.api_key:
        rows.append(
            ("api key", f"set, {mask_key(settings.api_key)}  (from {settings.api_key_source})")
        )
    else:
        rows.append(("api key", "not set; run `tessera-mcp login` or set TESSERA_API_KEY"))
    rows.append(("base url", f"{settings.base_url}  (from {settings.base_url_source})"))
    mode = file_mode(settings.credentials_path)
    if mode is None:
        creds = f"{settings.credentials_path}  (not created yet)"
    else:
        creds = f"{settings.credentials_path}  (mode {mode:04o})"
        if mode & 0o077:
            creds += "  WARNING: readable by others; run `chmod 600` on it"
    if settings.credentials_problem:
        creds += f"  PROBLEM: {settings.credentials_problem}"
    rows.append(("credentials", creds))
    if args.offline:
        rows.append(("service", "not checked (--offline)"))
    elif not settings.api_key:
        rows.append(("service", "not checked (no key)"))
    else:
        outcome, _ = asyncio.run(_check(settings, ns.user_id))
        rows.append(("service", outcome))
    width = max(len(name) for name, _ in rows)
    print(f"tessera-mcp {__version__}", file=out)
    for name, value in rows:
        print(f"{name.ljust(width)}  {value}", file=out)
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    env = os.environ
    command = args.command or "serve"
    if command == "serve":
        from .server import serve

        if sys.stdin.isatty():
            print(
                "tessera-mcp speaks MCP on stdin/stdout; add it to your agent's MCP config "
                "rather than running it by hand. Try `tessera-mcp status`. (Ctrl-C to quit.)",
                file=sys.stderr,
            )
        try:
            serve()
        except KeyboardInterrupt:
            return 130
        return 0
    if command == "login":
        return cmd_login(args, env, sys.stdin, sys.stdout, sys.stderr)
    if command == "logout":
        return cmd_logout(env, sys.stdout, sys.stderr)
    if command == "status":
        return cmd_status(args, env, sys.stdout)
    if command == "hook":
        return run_hook(args.event)
    raise AssertionError(command)  # argparse rejects anything else
