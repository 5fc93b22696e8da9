#!/usr/bin/env bash
# Static checks: lint, format, strict typing, and drift of generated files.
set -euo pipefail
cd "$(dirname "$0")/.."
ruff check .
ruff format --check .
mypy
python3 scripts/config_table.py --check || { echo "README configuration table is stale: run python scripts/config_table.py"; exit 1; }
NO_MKDOCS_2_WARNING=1 mkdocs build --strict --quiet --site-dir "$(mktemp -d)"
MYPYPATH=scripts:docs mypy --strict scripts/docs_reference.py scripts/docs_hooks.py scripts/docs_screenshots.py scripts/store_overlap.py docs/test_docs_examples.py docs/test_docs_install.py docs/test_docs_site.py docs/test_docs_contributing.py docs/test_docs_types.py
