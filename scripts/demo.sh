#!/usr/bin/env bash
# Set up and run the main job.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
glai demo --out docs/demo
