#!/usr/bin/env bash
# Install the Debian packages named as arguments, where any is missing (data sets, word lists).
set -euo pipefail
[ $# -gt 0 ] || exit 0
export DEBIAN_FRONTEND=noninteractive
if ! dpkg -s "$@" >/dev/null 2>&1; then
    apt-get update -qq && apt-get install -y -qq "$@"
fi
