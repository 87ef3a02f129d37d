#!/usr/bin/env bash
# Sets up a fresh Debian machine (as root) and runs every test suite.
set -euo pipefail
cd "$(dirname "$0")/.."

bash tests/setup.sh

status=0
# The DNSSEC suite (unbound validating) runs once, in the sanitizer job below.
meson test -C build --print-errorlogs --num-processes 1 --no-suite dnssec || status=$?

# Knot 3.4 (trixie) and 3.5 (sid): build, unit and integration suites in
# minimal chroots; then the Debian package, built and installed in a fresh
# bookworm chroot and used by its knotd.
bash tests/matrix.sh || status=$?
bash tests/package/test_deb.sh || status=$?

# Reliability jobs: ASan+UBSan build (module inside knotd via LD_PRELOAD),
# a bounded libFuzzer run on the core, and a bounded mixed-load soak.
bash tests/sanitize.sh || status=$?
bash tests/fuzz/run.sh 60 || status=$?
bash tests/soak/soak.sh 60 || status=$?

# One closing line for humans and CI: meson test programs passed/failed
# (the jobs above print their own verdicts and set the exit status).
summary=build/meson-logs/testlog.txt
passed=$(grep -c '^result: *exit status 0$' "$summary" || true)
failed=$(grep -c '^result: ' "$summary" || true)
failed=$((failed - passed))
echo "meson: $passed passed, $failed failed"
exit "$status"
