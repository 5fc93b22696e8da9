"""The `tessera` command: serve, worker, keys, memories, migrate, export, import, openapi.

Errors a user can fix end in one line saying what to do (`CommandError`), not a traceback.
"""

from __future__ import annotations

import argparse
import errno
import json
import logging
import os
import signal
import socket
import sys
import threading
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from . import __version__, history_import
from .config import Settings, load_settings
from .engine import keys
from .engine.clock import utcnow


class CommandError(Exception):
    """A problem the user can fix: printed as one line, exit status 1."""


def _store(settings: Settings):  # type: ignore[no-untyped-def]
    from .providers.embedder import embedder_dim
    from .store import open_store

    try:
        store = open_store(settings, dim=embedder_dim(settings.embedder))
        store.migrate()
    except ValueError as exc:  # e.g. PostgreSQL named but its driver not installed
        raise CommandError(str(exc)) from None
    except Exception as exc:
        if not type(exc).__module__.startswith("psycopg"):
            raise
        # The driver's first line says why (refused, unknown host, bad password), no secret.
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise CommandError(
            f"cannot open the database {redacted(settings.database_url)}: {reason}; "
            "check TESSERA_DATABASE_URL and that the server runs"
        ) from None
    return store


def _check_port(host: str, port: int) -> None:
    """Refuse to start on a port something else holds, with the fix, before loading models."""
    try:
        with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            probe.bind((host, port))
    except OSError as exc:
        if exc.errno == errno.EADDRINUSE:
            raise CommandError(
                f"port {port} on {host} is in use (another `tessera serve`?); stop it or "
                f"pick another with `tessera serve --port N` (or TESSERA_PORT)"
            ) from None
        raise CommandError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None


def _check_providers(settings: Settings) -> None:
    """Say at start when a configured LLM or vision endpoint does not answer."""
    from .providers.llm import probe

    for what, url, key, fallback in (
        ("LLM", settings.llm_base_url, settings.llm_api_key, "the offline extractor reads turns"),
        ("vision", settings.vision_base_url, settings.vision_api_key, "image uploads fail"),
    ):
        if not url:
            continue
        why = probe(url, key)
        shown = redacted(url)
        if why is None:
            print(f"{what} endpoint {shown} answers.", flush=True)
        else:
            print(
                f"warning: the {what} endpoint {shown} does not answer ({why}); until it does, "
                f"{fallback}. Check TESSERA_{what.upper()}_BASE_URL.",
                flush=True,
            )


def redacted(url: str) -> str:
    """A database URL safe to print: any password is replaced by `***`."""
    parts = urlsplit(url)
    if parts.password is None and "password=" not in parts.query:
        return url
    if parts.password is not None:
        user, host = parts.netloc.rsplit("@", 1)
        parts = parts._replace(netloc=f"{user.split(':', 1)[0]}:***@{host}")
    if "password=" in parts.query:
        query = [(k, "***" if k == "password" else v) for k, v in parse_qsl(parts.query)]
        parts = parts._replace(query=urlencode(query, safe="*/"))
    return urlunsplit(parts)


def _logging(settings: Settings) -> None:
    logging.basicConfig(
        level=settings.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s %(message)s"
    )


WORKER_HEALTHCHECK_SECONDS = 120


def cmd_serve(args: argparse.Namespace) -> int:
    import uvicorn

    from .app import create_app

    settings = load_settings(host=args.host, port=args.port)
    _logging(settings)
    processes = args.workers or 1
    if processes < 1:
        print("--workers must be at least 1", file=sys.stderr)
        return 2
    _check_port(settings.host, settings.port)
    store = _store(settings)
    has_keys = bool([k for k in store.list_keys() if k.revoked_at is None])
    store.close()
    where = redacted(settings.database_url)
    shown = f" ({processes} processes)" if processes > 1 else ""
    print(
        f"Tessera {__version__}: database {where}, on http://{settings.host}:{settings.port}"
        f"{shown} (API reference at /docs)",
        flush=True,
    )
    _check_providers(settings)
    if processes > 1 or not settings.worker_enabled:
        print(
            "No job worker runs inside the API processes; run `tessera worker` beside them.",
            flush=True,
        )
    if not has_keys:
        print(
            "No API key exists yet in this database. Create one in another shell, with the "
            "same TESSERA_DATABASE_URL:\n"
            "    tessera keys create --tenant default\n"
            "then export TESSERA_API_KEY=<the key it prints>.",
            flush=True,
        )
    if processes > 1:
        # Each API process builds its app from the environment; none runs a worker.
        os.environ["TESSERA_WORKER_ENABLED"] = "false"
        uvicorn.run(
            "tessera_server.app:create_app",
            factory=True,
            host=settings.host,
            port=settings.port,
            log_level=settings.log_level.lower(),
            access_log=False,
            workers=processes,
            # uvicorn kills a child that does not answer its health check in time (5 s by
            # default); loading the embedding model on a busy host took longer, and the
            # children were killed and restarted over and over.
            timeout_worker_healthcheck=WORKER_HEALTHCHECK_SECONDS,
        )
        return 0
    uvicorn.run(
        create_app(settings),
        host=settings.host,
        port=settings.port,
        log_level=settings.log_level.lower(),
        access_log=False,
        workers=1,
    )
    return 0


def cmd_worker(args: argparse.Namespace) -> int:
    """Run job workers without the HTTP API until SIGTERM or SIGINT."""
    from .app import build_runtime
    from .engine.worker import Worker

    settings = load_settings()
    _logging(settings)
    if args.threads < 1:
        print("--threads must be at least 1", file=sys.stderr)
        return 2
    runtime = build_runtime(settings, background=True)
    # SQLite requeues jobs a dead process left running; PostgreSQL relies on lease expiry.
    recovered = runtime.store.recover_interrupted_jobs(utcnow())
    if recovered:
        logging.getLogger("tessera").info("requeued %d interrupted job(s)", recovered)
    stop = threading.Event()

    def on_signal(signum: int, frame: Any) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    workers = [Worker(runtime) for _ in range(args.threads)]
    for worker in workers:
        worker.start()
    print(
        f"Tessera worker on {redacted(settings.database_url)}: {args.threads} thread(s), "
        f"pid {os.getpid()}",
        flush=True,
    )
    try:
        while not stop.wait(1.0):
            pass
    finally:
        for worker in workers:
            worker.stop()
        runtime.store.close()
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    """Write a tenant's memory (or every tenant's) as JSON Lines."""
    settings = load_settings()
    store = _store(settings)
    counts: Counter[str] = Counter()
    target = None if args.output == "-" else Path(args.output)
    partial = target.with_name(target.name + ".partial") if target else None
    out = partial.open("w", encoding="utf-8") if partial else sys.stdout
    try:
        for row in store.export_rows(args.tenant, args.user_id):
            out.write(json.dumps(row, ensure_ascii=False, separators=(",", ":")) + "\n")
            counts[row["type"]] += 1
    except LookupError as exc:
        print(exc.args[0] if exc.args else str(exc), file=sys.stderr)
        return 1
    finally:
        if out is not sys.stdout:
            out.close()
        store.close()
    if target is not None and partial is not None:
        os.replace(partial, target)  # a file that exists is a complete export
    del counts["header"]
    summary = ", ".join(f"{n} {kind}" for kind, n in counts.items()) or "nothing"
    print(f"exported {summary}", file=sys.stderr)
    return 0


def _read_rows(path: str) -> Iterator[dict[str, Any]]:
    handle = sys.stdin if path == "-" else open(path, encoding="utf-8")  # noqa: SIM115
    try:
        for number, line in enumerate(handle, 1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except ValueError:
                raise ValueError(f"line {number} is not JSON") from None
            if not isinstance(row, dict):
                raise ValueError(f"line {number} is not a JSON object")
            yield row
    finally:
        if handle is not sys.stdin:
            handle.close()


def cmd_import(args: argparse.Namespace) -> int:
    """Store the rows of an export, all or nothing; rows already present are skipped.
    With a source (`chatgpt`, `claude`), import a chat product's history instead."""
    if args.source:
        from . import history_import

        return history_import.run(args)
    if not args.input:
        print("tessera import needs --input FILE (or a source: chatgpt, claude)", file=sys.stderr)
        return 2
    settings = load_settings()
    store = _store(settings)
    try:
        counts = store.import_rows(_read_rows(args.input))
    except (ValueError, KeyError, TypeError) as exc:
        reason = f"missing field {exc}" if isinstance(exc, KeyError) else str(exc)
        print(f"nothing imported: {reason}", file=sys.stderr)
        return 1
    except OSError as exc:
        print(f"nothing imported: {exc.strerror or exc}", file=sys.stderr)
        return 1
    finally:
        store.close()
    skipped = counts.pop("skipped", 0)
    summary = ", ".join(f"{n} {kind}" for kind, n in counts.items())
    print(f"imported {summary}; skipped {skipped} already present")
    return 0


def cmd_migrate(args: argparse.Namespace) -> int:
    settings = load_settings()
    store = _store(settings)
    store.close()
    print(f"schema up to date at {redacted(settings.database_url)}")
    return 0


def cmd_keys(args: argparse.Namespace) -> int:
    settings = load_settings()
    store = _store(settings)
    try:
        if args.keys_command == "create":
            tenant_id, new = store.ensure_tenant(args.tenant, utcnow())
            key, prefix, digest = keys.mint_key()
            store.insert_key(tenant_id, prefix, digest, args.read_only, utcnow())
            kind = "read-only key" if args.read_only else "key"
            made = " (new tenant)" if new else ""
            print(f"Created {kind} {prefix}… for tenant {args.tenant!r}{made}")
            # A key works only with the database it was made in: say which one.
            print(f"in {redacted(settings.database_url)} (serve this database to use it).")
            print("It is shown only this once; store it now:")
            print(key)
        elif args.keys_command == "list":
            for rec in store.list_keys():
                state = f"revoked {rec.revoked_at:%Y-%m-%d}" if rec.revoked_at else "active"
                mode = "read-only" if rec.read_only else "read-write"
                print(
                    f"{rec.prefix}…  tenant={rec.tenant_name}  {mode}  {state}  created {rec.created_at:%Y-%m-%d}"
                )
        elif args.keys_command == "revoke":
            prefix = args.prefix.rstrip("…. ")
            if not store.revoke_key(prefix, utcnow()):
                print(f"no active key with prefix {prefix}", file=sys.stderr)
                return 1
            print(f"revoked {prefix}…")
    finally:
        store.close()
    return 0


def cmd_openapi(args: argparse.Namespace) -> int:
    from .app import create_app

    text = json.dumps(create_app().openapi(), indent=2, sort_keys=False) + "\n"
    if args.output == "-":
        sys.stdout.write(text)
    else:
        Path(args.output).write_text(text, encoding="utf-8")
    return 0


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="tessera", description="The Tessera memory service.")
    p.add_argument("--version", action="version", version=f"tessera {__version__}")
    sub = p.add_subparsers(dest="command", required=True)
    serve = sub.add_parser("serve", help="run the HTTP API (and the job worker)")
    serve.add_argument("--host", help="bind address (TESSERA_HOST, default 127.0.0.1)")
    serve.add_argument("--port", type=int, help="port (TESSERA_PORT, default 8420)")
    serve.add_argument(
        "--workers",
        type=int,
        default=1,
        metavar="N",
        help="API processes (default 1); with N > 1 no job worker runs inside them",
    )
    serve.set_defaults(func=cmd_serve)
    worker = sub.add_parser("worker", help="run job workers without the HTTP API")
    worker.add_argument("--threads", type=int, default=1, help="jobs run at once (default 1)")
    worker.set_defaults(func=cmd_worker)
    export = sub.add_parser("export", help="write memory as JSON Lines (see `tessera import`)")
    export.add_argument("--tenant", help="only this tenant (default: every tenant)")
    export.add_argument("--user-id", help="only this user's memory")
    export.add_argument("--output", required=True, help="file to write, or - for stdout")
    export.set_defaults(func=cmd_export)
    imp = sub.add_parser(
        "import", help="store the rows of a `tessera export` file, or a ChatGPT/Claude history"
    )
    imp.add_argument("--input", help="file to read, or - for stdin")
    history_import.add_arguments(imp)
    imp.set_defaults(func=cmd_import)
    sub.add_parser("migrate", help="apply schema migrations").set_defaults(func=cmd_migrate)
    k = sub.add_parser("keys", help="create, list and revoke API keys")
    ks = k.add_subparsers(dest="keys_command", required=True)
    create = ks.add_parser("create", help="create a key (prints it once)")
    create.add_argument(
        "--tenant", default="default", help="tenant name; a new name makes a new tenant"
    )
    create.add_argument("--read-only", action="store_true", help="the key may only read")
    ks.add_parser("list", help="list keys (prefixes only)")
    revoke = ks.add_parser("revoke", help="revoke a key by its prefix")
    revoke.add_argument("prefix")
    k.set_defaults(func=cmd_keys)
    from .cli_memories import add_parser as add_memories

    add_memories(sub)
    o = sub.add_parser("openapi", help="print the OpenAPI document")
    o.add_argument("--output", default="-")
    o.set_defaults(func=cmd_openapi)
    return p


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        code: int = args.func(args)
    except CommandError as exc:
        print(f"tessera: {exc}", file=sys.stderr)
        return 1
    except ImportError as exc:
        if exc.name and exc.name.split(".")[0] in ("psycopg", "psycopg_pool"):
            print(
                "tessera: TESSERA_DATABASE_URL names PostgreSQL but its driver is not installed; "
                "from the clone, `pip install './packages/tessera-server[postgres]'`",
                file=sys.stderr,
            )
            return 1
        raise
    return code


if __name__ == "__main__":
    raise SystemExit(main())
