#!/usr/bin/env bash
# Install everything the tests need, then run the whole suite. This is the README's test command.
# `bash scripts/test.sh --quick` is the fast lane (see CONTRIBUTING.md).
set -euo pipefail
cd "$(dirname "$0")/.."
if ! python3 -c 'import sys; sys.exit(sys.prefix == sys.base_prefix)'; then
  echo "scripts/test.sh: run it inside a virtual environment:" \
    "python3 -m venv .venv && . .venv/bin/activate && bash scripts/test.sh" >&2
  exit 1
fi
# `--quick`: the fast lane for the edit-test loop, in the venv you already set up: no install,
# no browser, no PostgreSQL, no published-client venv, no install-instruction venvs, no test
# marked slow (markers in pyproject.toml). CI runs the full suite. It runs a test file per
# worker, one worker per core (pytest-xdist; at most four, each starts its own services):
# the lane is CPU-bound, so one process would leave a core idle.
if [ "${1:-}" = "--quick" ]; then
  shift
  exec python3 -m pytest -q -n auto --maxprocesses=4 --dist loadfile \
    -m "not (browser or postgres or published or install or slow)" "$@"
fi
# `python3`, not `python`: stock Debian has no `python`. Inside an activated virtual
# environment both name the environment's interpreter.
python3 -m pip install -q -r requirements-dev.txt -r docs/requirements-browser.txt

# The browser test (docs/test_docs_site.py) drives a Chromium through playwright. Playwright's
# own browser download host is often unreachable, so it drives the system's: on Debian, as root
# (as in CI), Debian's `chromium` is installed when none is found. Once installed this is a
# no-op. Elsewhere the test is skipped without a Chromium (in CI, where CI is set, it fails).
have_chromium() {
  [ -n "${CHROMIUM:-}" ] && return 0
  local name
  for name in chromium chromium-browser google-chrome google-chrome-stable; do
    command -v "$name" >/dev/null 2>&1 && return 0
  done
  return 1
}
if ! have_chromium; then
  debian=$(. /etc/os-release 2>/dev/null && echo "${ID:-}")
  if [ "$(id -u)" = 0 ] && [ "$debian" = debian ] && command -v apt-get >/dev/null 2>&1; then
    echo "scripts/test.sh: installing Chromium for the browser test (apt-get install chromium)" >&2
    { apt-get update -qq && DEBIAN_FRONTEND=noninteractive \
      apt-get install -y -qq --no-install-recommends chromium; } </dev/null >/dev/null \
      || echo "scripts/test.sh: apt-get install chromium failed" >&2
  else
    echo "scripts/test.sh: no Chromium found; the browser test will be skipped" \
      "(install one, e.g. apt-get install chromium, or set CHROMIUM=/path/to/chrome)" >&2
  fi
fi

python3 -m pytest "$@"
