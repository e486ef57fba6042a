#!/usr/bin/env bash
# Every check in one place without the installs: lint, format, types, tests
# (scripts/test.sh, the README's test command, installs first and runs the same checks).
set -euo pipefail
cd "$(dirname "$0")/.."
. .venv/bin/activate
ruff check src tests benchmarks
ruff format --check src tests benchmarks
mypy
lint-imports --no-cache  # the layer contract in pyproject.toml: no import runs upward
python -m pytest -q "$@"
