#!/usr/bin/env bash
# Install glai (editable) with its test and benchmark extras, and torch 2.13.0.
#
# torch comes from whatever index pip is configured with: on this machine that index
# serves a CPU build. pip's default index (PyPI) serves a CUDA build on Linux, so on such
# a machine install the CPU build of torch 2.13.0 first (from PyTorch's CPU index); this
# script then keeps it. The second line names torch==2.13.0 in the same resolve as the
# extras, so no dependency of theirs can upgrade or replace the installed torch.
set -euo pipefail
cd "$(dirname "$0")/.."
pip install --quiet "torch==2.13.0"
pip install --quiet -e ".[test]" "torch==2.13.0"
