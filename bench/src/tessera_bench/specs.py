"""The benchmarks' command-line specs, `NAME[:KEY=VALUE,KEY=VALUE…]` (an ingest variant, an
embedder candidate): one reading of the shape, each benchmark giving the keys their meaning."""

from __future__ import annotations

import argparse


def named_items(text: str, what: str) -> tuple[str, list[tuple[str, str]]]:
    """The spec's name and its `KEY=VALUE` items in order; `what` names the spec in errors."""
    name, _, rest = text.partition(":")
    if not name:
        raise argparse.ArgumentTypeError(f"{what} needs a name: {text!r}")
    items: list[tuple[str, str]] = []
    for item in (x for x in rest.split(",") if x):
        key, sep, value = item.partition("=")
        if not sep:
            raise argparse.ArgumentTypeError(f"expected KEY=VALUE in {text!r}, got {item!r}")
        items.append((key, value))
    return name, items
