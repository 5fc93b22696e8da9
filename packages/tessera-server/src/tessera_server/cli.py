"""The `tessera` command: serve, keys, migrate, openapi."""

from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path

from .config import Settings, load_settings
from .engine import keys
from .engine.clock import utcnow


def _store(settings: Settings):  # type: ignore[no-untyped-def]
    from .store import open_store

    store = open_store(settings, dim=384)
    store.migrate()
    return store


def cmd_serve(args: argparse.Namespace) -> int:
    import uvicorn

    from .app import create_app

    settings = load_settings(host=args.host, port=args.port)
    logging.basicConfig(
        level=settings.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s %(message)s"
    )
    store = _store(settings)
    has_keys = bool([k for k in store.list_keys() if k.revoked_at is None])
    store.close()
    print(f"Tessera {settings.database_url} on http://{settings.host}:{settings.port}", flush=True)
    if not has_keys:
        print(
            "No API key exists yet. Create one in another shell with:\n"
            "    tessera keys create --tenant default\n"
            "then export TESSERA_API_KEY=<the key it prints>.",
            flush=True,
        )
    uvicorn.run(
        create_app(settings),
        host=settings.host,
        port=settings.port,
        log_level=settings.log_level.lower(),
        access_log=False,
        workers=1,
    )
    return 0


def cmd_migrate(args: argparse.Namespace) -> int:
    settings = load_settings()
    store = _store(settings)
    store.close()
    print(f"schema up to date at {settings.database_url}")
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
            print(f"Created {kind} {prefix}… for tenant {args.tenant!r}{made}.")
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
    sub = p.add_subparsers(dest="command", required=True)
    serve = sub.add_parser("serve", help="run the HTTP API (and the job worker)")
    serve.add_argument("--host", help="bind address (TESSERA_HOST, default 127.0.0.1)")
    serve.add_argument("--port", type=int, help="port (TESSERA_PORT, default 8420)")
    serve.set_defaults(func=cmd_serve)
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
    o = sub.add_parser("openapi", help="print the OpenAPI document")
    o.add_argument("--output", default="-")
    o.set_defaults(func=cmd_openapi)
    return p


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    code: int = args.func(args)
    return code


if __name__ == "__main__":
    raise SystemExit(main())
