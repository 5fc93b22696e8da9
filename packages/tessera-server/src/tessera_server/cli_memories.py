"""`tessera memories list|search|query`: a look at a scope from the terminal.

Each command calls the service's own app in-process (the same routes, engine and store as
over HTTP, acting as the named tenant), with no port, no key and no job worker, so a look
never consolidates or changes anything. `--json` prints the API's JSON body for scripts.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from typing import Any

import httpx

from .config import load_settings


def add_parser(sub: Any) -> None:
    m = sub.add_parser("memories", help="list, search or query a scope's memories")
    ms = m.add_subparsers(dest="memories_command", required=True)
    listing = ms.add_parser("list", help="episodes and facts, newest first")
    listing.add_argument("--limit", type=int, default=20, help="how many (default 20)")
    search = ms.add_parser("search", help="ranked hits for a question")
    search.add_argument("query")
    search.add_argument("--top-k", type=int, default=10, help="how many hits (default 10)")
    query = ms.add_parser("query", help="the prompt-ready context for a question")
    query.add_argument("query")
    for p in (listing, search, query):
        p.add_argument(
            "--tenant",
            default="default",
            help="tenant name (`tessera keys create --tenant`; `local` for Tessera.local)",
        )
        p.add_argument("--user-id", help="only this user's memories")
        p.add_argument("--session-id", help="only this session's memories")
        p.add_argument("--json", action="store_true", help="print the API's JSON body")
    m.set_defaults(func=cmd_memories)


def cmd_memories(args: argparse.Namespace) -> int:
    from .cli import CommandError, _store, redacted

    settings = load_settings(worker_enabled=False)
    store = _store(settings)
    try:
        tenants = {name for _, name, _ in store.export_tenants()}
    finally:
        store.close()
    if args.tenant not in tenants:
        known = ", ".join(sorted(tenants)) or "none yet"
        raise CommandError(
            f"no tenant {args.tenant!r} in {redacted(settings.database_url)} (tenants: {known}); "
            "pass --tenant NAME"
        )
    scope = {"user_id": args.user_id, "session_id": args.session_id}
    scope = {k: v for k, v in scope.items() if v is not None}
    if args.memories_command == "list":
        request: tuple[str, str, dict[str, Any]] = (
            "GET",
            "/v1/memories",
            {"params": {**scope, "limit": args.limit}},
        )
    elif args.memories_command == "search":
        body = {**scope, "query": args.query, "top_k": args.top_k}
        request = ("POST", "/v1/search", {"json": body})
    else:
        request = ("POST", "/v1/query", {"json": {**scope, "query": args.query}})
    status, data = asyncio.run(_call(settings, args.tenant, *request))
    if status >= 400:
        detail = data.get("detail") if isinstance(data, dict) else None
        raise CommandError(str(detail or f"the service answered {status}"))
    if args.json:
        print(json.dumps(data, ensure_ascii=False, indent=2))
    else:
        _show(args.memories_command, data)
    return 0


async def _call(
    settings: Any, tenant: str, method: str, path: str, options: dict[str, Any]
) -> tuple[int, Any]:
    from .app import create_app

    app = create_app(settings, local_tenant=tenant)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://tessera.cli"
        ) as client,
    ):
        response = await client.request(method, path, **options)
        return response.status_code, response.json()


def _show(command: str, data: dict[str, Any]) -> None:
    out = sys.stdout
    if command == "query":
        out.write((data.get("context") or "(nothing found)") + "\n")
        return
    rows = data.get("items") if command == "list" else data.get("results")
    if not rows:
        out.write("(nothing found)\n")
        return
    for row in rows:
        score = f"{row['score']:.3f}  " if "score" in row else ""
        text = " ".join(str(row["text"]).split())
        out.write(f"{score}{row['type']:<7}  {row['id']}  {text[:200]}\n")
