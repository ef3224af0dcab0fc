#!/usr/bin/env bash
# Install glai with the CPU build of PyTorch (never a CUDA build) and its extras.
set -euo pipefail
cd "$(dirname "$0")/.."
pip install --quiet torch==2.13.0
pip install --quiet -e ".[test]"
