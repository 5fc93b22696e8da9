#!/usr/bin/env bash
# Static checks: lint, format, strict typing, and drift of generated files.
set -euo pipefail
cd "$(dirname "$0")/.."
ruff check .
ruff format --check .
mypy
