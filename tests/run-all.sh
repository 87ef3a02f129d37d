#!/usr/bin/env bash
# Sets up a fresh Debian machine (as root) and runs every test suite.
set -euo pipefail
cd "$(dirname "$0")/.."

bash tests/setup.sh
meson test -C build --print-errorlogs --num-processes 1
