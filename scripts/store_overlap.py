"""How much of the two store backends is the same code written twice.

For every function or method name defined in both `store/sqlite/` and `store/postgres/`, the
lines of the SQLite one that also stand in the PostgreSQL one, after normalising what only
differs by dialect (`%s` placeholders become `?`, white space is folded; blank lines, comments
and docstrings do not count). Prints the shared names, the shared lines and their share of the
SQLite lines in those methods and of all SQLite backend lines.

    python scripts/store_overlap.py            # the table
    python scripts/store_overlap.py --json     # the figures as JSON
    python scripts/store_overlap.py --bodies   # without signature lines (the protocol's)
"""

from __future__ import annotations

import argparse
import ast
import json
import re
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
STORE = ROOT / "packages" / "tessera-server" / "src" / "tessera_server" / "store"
# The throwaway server the PostgreSQL tests start is test tooling, not the store.
NOT_STORE = {"testserver.py"}


def _normalise(line: str) -> str:
    line = line.split("#", 1)[0] if not re.search(r"[\"'].*#", line) else line
    line = line.replace("%s", "?")
    return " ".join(line.split())


def _docstring_lines(tree: ast.AST) -> set[int]:
    lines: set[int] = set()
    for node in ast.walk(tree):
        body = getattr(node, "body", None)
        if isinstance(body, list) and body:
            first = body[0]
            if (
                isinstance(first, ast.Expr)
                and isinstance(first.value, ast.Constant)
                and isinstance(first.value.value, str)
            ):
                lines.update(range(first.lineno, (first.end_lineno or first.lineno) + 1))
    return lines


def _functions(folder: Path, bodies: bool = False) -> tuple[dict[str, list[str]], int]:
    """Each function's normalised code lines by name (methods and module functions alike),
    and the backend's code-line count."""
    found: dict[str, list[str]] = {}
    total = 0
    for path in sorted(folder.rglob("*.py")):
        if path.name in NOT_STORE:
            continue
        source = path.read_text(encoding="utf-8")
        tree = ast.parse(source)
        skip = _docstring_lines(tree)
        text = source.splitlines()

        def code(start: int, end: int, skip: set[int] = skip, text: list[str] = text) -> list[str]:
            out = []
            for number in range(start, end + 1):
                if number in skip:
                    continue
                line = _normalise(text[number - 1])
                if line:
                    out.append(line)
            return out

        total += len(code(1, len(text)))
        for node in ast.walk(tree):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                # A signature is the protocol's, the same in every backend by design.
                start = node.body[0].lineno if bodies else node.lineno
                found.setdefault(node.name, []).extend(code(start, node.end_lineno or start))
    return found, total


def measure(bodies: bool = False) -> dict[str, object]:
    sqlite, sqlite_total = _functions(STORE / "sqlite", bodies)
    postgres, postgres_total = _functions(STORE / "postgres", bodies)
    names = sorted(set(sqlite) & set(postgres) - {"__init__"})
    shared = 0
    in_methods = 0
    for name in names:
        theirs = Counter(postgres[name])
        in_methods += len(sqlite[name])
        for line in sqlite[name]:
            if theirs[line] > 0:
                theirs[line] -= 1
                shared += 1
    return {
        "shared_names": len(names),
        "sqlite_lines_in_shared_methods": in_methods,
        "shared_lines": shared,
        "share_of_shared_methods": round(shared / in_methods, 3) if in_methods else 0.0,
        "sqlite_lines": sqlite_total,
        "postgres_lines": postgres_total,
        "share_of_sqlite_backend": round(shared / sqlite_total, 3) if sqlite_total else 0.0,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    parser.add_argument("--bodies", action="store_true", help="leave out signature lines")
    args = parser.parse_args()
    figures = measure(args.bodies)
    if args.json:
        print(json.dumps(figures, indent=2))
        return
    for key, value in figures.items():
        print(f"{key:32} {value}")


if __name__ == "__main__":
    main()
