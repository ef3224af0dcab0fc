#!/usr/bin/env bash
# Set up and run the whole test suite and the linter.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
ruff check src tests
ruff format --check src tests
python -m pytest -q
