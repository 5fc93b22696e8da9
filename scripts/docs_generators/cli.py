"""The CLI reference: `tessera --help` and every subcommand's help."""

from __future__ import annotations

import argparse
import os

from .common import use_repository_sources

# --------------------------------------------------------------------------------------
# CLI


def cli_reference() -> str:
    """`tessera --help` and the help of every subcommand, as console blocks."""
    use_repository_sources()
    from tessera_server.cli import parser

    out: list[str] = []

    def visit(p: argparse.ArgumentParser, words: list[str]) -> None:
        p.prog = " ".join(["tessera", *words])
        text = p.format_help().rstrip()
        out.append(f"```text\n$ {p.prog} --help\n{text}\n```")
        for action in p._actions:
            if isinstance(action, argparse._SubParsersAction):
                for name, sub in action.choices.items():
                    visit(sub, [*words, name])

    # A fixed width and no colour keep the output the same on every machine and terminal.
    fixed = {"COLUMNS": "100", "NO_COLOR": "1"}
    saved = {name: os.environ.get(name) for name in fixed}
    os.environ.update(fixed)
    try:
        visit(parser(), [])
    finally:
        for name, value in saved.items():
            if value is None:
                del os.environ[name]
            else:
                os.environ[name] = value
    return "\n\n".join(out)
