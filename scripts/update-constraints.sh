#!/usr/bin/env bash
# Re-pin constraints.txt to what pip resolves today, on purpose (not on every run).
# The test suite's figures (trustworthiness floors, cluster agreement, fitted maps) depend on
# the releases of numpy, scipy, scikit-learn, numba, umap-learn, faiss, Lance and the models'
# libraries; scripts/test.sh installs with these pins so a new release cannot change a result
# silently. Run this in a fresh checkout, then run the whole suite before committing the file.
set -euo pipefail
cd "$(dirname "$0")/.."
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
python3 -m venv "$tmp/venv"
"$tmp/venv/bin/python" -m pip install -q --upgrade pip
"$tmp/venv/bin/python" -m pip install -q "torch==2.13.0" -e ".[test]"
{
  echo "# Pins for the test suite and the demo, made by scripts/update-constraints.sh on $(date -u +%F)."
  echo "# torch is pinned by scripts/test.sh itself (the CPU build); embver is the checkout."
  "$tmp/venv/bin/python" -m pip freeze --exclude-editable | grep -v -i -E '^(torch|embver)=='
} > constraints.txt
echo "wrote constraints.txt ($(grep -c '==' constraints.txt) pins)"
