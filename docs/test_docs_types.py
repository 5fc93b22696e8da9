"""Every Python example on the documentation site and in the READMEs type-checks under
``mypy --strict``, as a reader's editor would check it.

The pages and blocks are those `test_docs_examples.py` runs: each page's `python` blocks, in
order, make one module (a page's blocks build on each other, e.g. a `client` made in the first
is used in the next). A block that cannot be typed on its own terms (deliberately partial, or
showing an error on purpose) is preceded by `<!-- docs-test: untyped (why) -->`: it still runs,
and is left out here. Use that sparingly; a `skip` block (not run) is left out too.

Errors are reported at the Markdown file and line of the example.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
from test_docs_examples import PYTHON, ROOT, Block, blocks_of, pages

mypy_api = pytest.importorskip("mypy.api")

UNTYPED = {"untyped", "skip"}


@dataclass(frozen=True)
class Module:
    """One page's typed blocks as a module, and where each of its lines came from."""

    page: Path
    text: str
    origin: list[tuple[Block, int]]  # per module line (0-based): block and line within it

    def where(self, line: int) -> str:
        block, offset = self.origin[line - 1]
        return f"{block.path.relative_to(ROOT)}:{block.line + offset}"


def module_of(page: Path) -> Module | None:
    lines: list[str] = []
    origin: list[tuple[Block, int]] = []
    for block in blocks_of(page):
        if block.lang not in PYTHON or block.marker in UNTYPED:
            continue
        for offset, line in enumerate(block.code.splitlines()):
            lines.append(line)
            origin.append((block, offset))
    if not lines:
        return None
    return Module(page, "\n".join(lines) + "\n", origin)


def test_every_python_example_type_checks(tmp_path: Path) -> None:
    modules: dict[Path, Module] = {}
    for n, page in enumerate(pages()):
        module = module_of(page)
        if module is not None:
            path = tmp_path / f"docs_page_{n}.py"
            path.write_text(module.text, encoding="utf-8")
            modules[path] = module
    assert len(modules) >= 10, "expected the documentation's Python examples"

    stdout, stderr, _ = mypy_api.run(
        [
            "--strict",
            "--no-error-summary",
            "--show-error-codes",
            "--cache-dir",
            str(tmp_path / ".mypy_cache"),
            *map(str, modules),
        ]
    )
    problems: list[str] = []
    for line in stdout.splitlines():
        file, sep, rest = line.partition(".py:")
        if not sep or ": note:" in rest:
            continue
        module = modules.get(Path(file + ".py"))
        number, _, message = rest.partition(":")
        if module is None or not number.isdigit():
            problems.append(line)
            continue
        problems.append(f"{module.where(int(number))}:{message}")
    assert not problems, "\n".join([*problems, stderr])
