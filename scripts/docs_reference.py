"""Generated parts of the documentation site, built from the code at `mkdocs build` time.

Each function returns Markdown that `scripts/docs_hooks.py` puts in place of a marker line
`<!-- generated: NAME -->` in a page, so these parts of the site cannot drift from what they
describe:

* `service-settings`: every `TESSERA_*` setting, from `tessera_server.config.Settings`;
* `cli-reference`: `tessera --help` and every subcommand's help, from the CLI's parser;
* `rerank-features`: the local reranker's features and their weights, from its source;
* `http-reference`: every operation and schema of the committed `openapi.json`;
* `python-reference`: the SDK's public surface, from its signatures and docstrings;
* `benchmark-results`: the latest `bench/results/*.md` tables and their plots.

Run `python scripts/docs_reference.py NAME` to print one of them.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable

from docs_generators.benchmarks import BenchResult, bench_results, benchmark_results
from docs_generators.cli import cli_reference
from docs_generators.common import BENCH_RESULTS, OPENAPI, ROOT, SOURCES, use_repository_sources
from docs_generators.http_api import _op_anchor, _schema_anchor, http_reference
from docs_generators.python_sdk import python_reference
from docs_generators.rerank import rerank_features, reranker_weights
from docs_generators.settings import service_settings

__all__ = [
    "BENCH_RESULTS",
    "OPENAPI",
    "ROOT",
    "SOURCES",
    "BenchResult",
    "_op_anchor",
    "_schema_anchor",
    "bench_results",
    "benchmark_results",
    "cli_reference",
    "http_reference",
    "python_reference",
    "rerank_features",
    "reranker_weights",
    "service_settings",
    "use_repository_sources",
]

GENERATORS: dict[str, Callable[[], str]] = {
    "service-settings": service_settings,
    "cli-reference": cli_reference,
    "rerank-features": rerank_features,
    "http-reference": http_reference,
    "python-reference": python_reference,
    "benchmark-results": benchmark_results,
}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description="Print a generated part of the documentation.")
    p.add_argument("name", choices=sorted(GENERATORS))
    args = p.parse_args(argv)
    sys.stdout.write(GENERATORS[args.name]() + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
