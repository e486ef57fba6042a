#!/usr/bin/env bash
# Install everything the test suite needs on a fresh Debian machine, then run it.
# Used verbatim by the README and by .ci/run.
set -euo pipefail
cd "$(dirname "$0")/.."

# System packages: Chromium for the web UI's browser tests, Fashion-MNIST as real images,
# Node.js and npm (when missing) to build the web UI.
need=()
command -v chromium >/dev/null 2>&1 || need+=(chromium)
dpkg -s dataset-fashion-mnist >/dev/null 2>&1 || need+=(dataset-fashion-mnist)
command -v npm >/dev/null 2>&1 || need+=(nodejs npm)
if [ ${#need[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ]; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
  else
    sudo apt-get update -qq && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
  fi
fi

# Python environment: the CPU build of torch is pinned; everything else from the extras, at
# the releases in constraints.txt (the suite's figures depend on them; re-pinned on purpose
# with scripts/update-constraints.sh, never by whatever pip picks on the day).
[ -x .venv/bin/python ] || python3 -m venv .venv
. .venv/bin/activate
python -m pip install -q --upgrade pip
python -m pip install -q "torch==2.13.0" -c constraints.txt -e ".[test]"

# The web UI's front end, built from source with npm into the package's static folder.
if [ -f frontend/package.json ]; then
  (cd frontend && npm ci --no-audit --no-fund --loglevel=error && npm run build --silent)
fi

# Lint, format, types and the import layers first: a submission that breaks them does not land.
ruff check src tests benchmarks
ruff format --check src tests benchmarks
mypy
lint-imports --no-cache  # the layer contract in pyproject.toml: no import runs upward

# Browser tests must run here, not skip: Chromium and the UI bundle were installed above.
export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 EMBVER_REQUIRE_BROWSER=1
python -m pytest -q "$@"
