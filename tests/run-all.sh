#!/usr/bin/env bash
# Sets up a fresh Debian machine (as root) and runs every test suite.
set -euo pipefail
cd "$(dirname "$0")/.."

bash tests/setup.sh

status=0
meson test -C build --print-errorlogs --num-processes 1 || status=$?

# One closing line for humans and CI: test programs passed/failed.
summary=build/meson-logs/testlog.txt
passed=$(grep -c '^result: *exit status 0$' "$summary" || true)
failed=$(grep -c '^result: ' "$summary" || true)
failed=$((failed - passed))
echo "meson: $passed passed, $failed failed"
exit "$status"
