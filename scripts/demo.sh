#!/usr/bin/env bash
# Set up and run the main job; it rewrites docs/demo/ (the tables and plots the README shows).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
# Fashion-MNIST from Debian: without it the demo runs on scikit-learn's digits only
bash scripts/apt.sh dataset-fashion-mnist || echo "dataset-fashion-mnist not installed: the demo runs on digits only" >&2
glai demo --out docs/demo
