#!/usr/bin/env bash
# Install everything the tests need, then run the whole suite. This is the README's test command.
set -euo pipefail
cd "$(dirname "$0")/.."
python -m pip install -q -r requirements-dev.txt
python -m pytest "$@"
