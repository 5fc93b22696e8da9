"""What every generator shares: where the repository's sources are, table cells."""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
OPENAPI = ROOT / "openapi.json"
BENCH_RESULTS = ROOT / "bench" / "results"
SOURCES = (
    ROOT / "packages" / "tessera-memory" / "src",
    ROOT / "packages" / "tessera-server" / "src",
)
HTTP_PAGE = "http.md"  # relative to the Python reference page (both live in docs/reference/)


def use_repository_sources() -> None:
    """Import the SDK and the service from this checkout, installed or not."""
    for src in reversed(SOURCES):
        if str(src) not in sys.path:
            sys.path.insert(0, str(src))


def _cell(text: str) -> str:
    """Text safe inside one Markdown table cell."""
    return " ".join(text.split()).replace("|", "\\|")
