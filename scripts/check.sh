#!/usr/bin/env bash
# Static checks: lint, format, strict typing, and drift of generated files.
set -euo pipefail
cd "$(dirname "$0")/.."
ruff check .
ruff format --check .
mypy
python scripts/config_table.py --check || { echo "README configuration table is stale: run python scripts/config_table.py"; exit 1; }
