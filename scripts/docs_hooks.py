"""MkDocs hooks (see `hooks:` in mkdocs.yml): fill in the generated parts of the site.

A page asks for a generated part with a line of its own, `<!-- generated: NAME -->`; the
generators live in `scripts/docs_reference.py`. An unknown name fails the build. The PNG plots
of the benchmark runs are added to the site under `assets/bench/`.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path
from typing import Any

from mkdocs.config.defaults import MkDocsConfig
from mkdocs.exceptions import PluginError
from mkdocs.structure.files import File, Files
from mkdocs.structure.pages import Page

sys.path.insert(0, str(Path(__file__).resolve().parent))

import docs_reference  # found through the path set just above

MARKER = re.compile(r"^<!-- generated: ([a-z-]+) -->$", re.MULTILINE)
PLOT_DIR = "assets/bench"


def on_files(files: Files, *, config: MkDocsConfig) -> Files:
    for result in docs_reference.bench_results():
        for plot in result.plots:
            uri = f"{PLOT_DIR}/{plot.name}"
            if plot.source is not None:
                files.append(File.generated(config, uri, abs_src_path=str(plot.source)))
            else:
                files.append(File.generated(config, uri, content=plot.content or ""))
    return files


def on_page_markdown(markdown: str, *, page: Page, config: MkDocsConfig, files: Files) -> str:
    def fill(match: re.Match[str]) -> str:
        name = match.group(1)
        generator = docs_reference.GENERATORS.get(name)
        if generator is None:
            known = ", ".join(sorted(docs_reference.GENERATORS))
            raise PluginError(f"{page.file.src_uri}: unknown generated part {name!r} ({known})")
        if name == "benchmark-results":
            depth = page.file.src_uri.count("/")
            text: str = docs_reference.benchmark_results(plot_dir="../" * depth + PLOT_DIR)
            return text
        generated: str = generator()
        return generated

    return MARKER.sub(fill, markdown)


def on_serve(server: Any, *, config: MkDocsConfig, builder: Any) -> Any:
    """`mkdocs serve` also rebuilds when the sources of the generated parts change."""
    root = docs_reference.ROOT
    for path in (
        docs_reference.OPENAPI,
        docs_reference.BENCH_RESULTS,
        root / "SECURITY.md",
        *docs_reference.SOURCES,
    ):
        if path.exists():
            server.watch(str(path))
    return server
