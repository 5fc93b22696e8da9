"""`tessera import chatgpt|claude FILE --user-id ID`: a chat product's history, brought in.

The command is a client of a running service: it reads the export with the SDK's
`tessera_memory.history` and sends it through the batch path (`POST /v1/memories:batch`),
so the turns are embedded, consolidated and placed on the timeline exactly as live turns
are. It needs the SDK (`packages/tessera-memory` of this repository) and an API key in
`TESSERA_API_KEY`. Progress goes to stderr; the state file beside the export makes an
interrupted import resumable.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Any

from .config import load_settings

SOURCES = ("chatgpt", "claude")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The history import's arguments, beside `tessera import --input` (an export file)."""
    parser.add_argument(
        "source",
        nargs="?",
        choices=SOURCES,
        help="import a ChatGPT or Claude `conversations.json` instead of a `tessera export`",
    )
    parser.add_argument("file", nargs="?", help="the conversations.json of the export")
    parser.add_argument("--user-id", help="whose memory the history becomes (required)")
    parser.add_argument(
        "--base-url", help="the service (TESSERA_BASE_URL, else this host and port)"
    )
    parser.add_argument(
        "--state",
        help="progress file for resuming (default: FILE.import-state.json; 'none' for no file)",
    )
    parser.add_argument(
        "--no-consolidate", action="store_true", help="do not queue consolidation at the end"
    )


def run(args: argparse.Namespace) -> int:
    if not args.file or not args.user_id:
        print(f"usage: tessera import {args.source} FILE --user-id ID", file=sys.stderr)
        return 2
    try:
        from tessera_memory import Tessera, TesseraError
        from tessera_memory.history import ExportFormatError, ImportProgress, import_history
    except ImportError:
        print(
            "the history import needs the Python SDK: pip install -e packages/tessera-memory "
            "(from this repository)",
            file=sys.stderr,
        )
        return 1
    settings = load_settings()
    base_url = args.base_url or None
    kwargs: dict[str, Any] = {}
    if base_url is not None:
        kwargs["base_url"] = base_url
    elif "TESSERA_BASE_URL" not in os.environ:
        kwargs["base_url"] = f"http://{settings.host}:{settings.port}"
    state: Path | None = Path(args.file + ".import-state.json")
    if args.state:
        state = None if args.state == "none" else Path(args.state)

    def show(p: ImportProgress) -> None:
        title = (p.title or "untitled")[:50]
        print(
            f"[{p.done}/{p.total}] {title}: {p.turns_created} stored, "
            f"{p.turns_present} already present",
            file=sys.stderr,
        )

    try:
        with Tessera(**kwargs) as client:
            report = import_history(
                client,
                args.source,
                args.file,
                user_id=args.user_id,
                state_path=state,
                progress=show,
                consolidate=not args.no_consolidate,
            )
    except (ExportFormatError, OSError) as exc:
        print(f"nothing imported: {exc}", file=sys.stderr)
        return 1
    except TesseraError as exc:
        print(f"import stopped: {exc}; run the same command again to resume", file=sys.stderr)
        return 1
    print(report.summary())
    return 0
