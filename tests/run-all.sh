#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-3.0-or-later
# Sets up a fresh Debian machine (as root) and runs every test suite: what CI
# runs. Each job prints its own verdict; the closing line counts the meson
# tests of this run from meson's JSON logs (build and build-asan), e.g.
# "meson: 14 passed, 0 failed". Exit status: non-zero if any job failed.
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=tests/lib/common.sh
source tests/lib/common.sh   # meson_results

bash tests/setup.sh
rm -f build/meson-logs/testlog*.json build-asan/meson-logs/testlog*.json

failed_jobs=()
# job NAME CMD...: runs CMD, reports its verdict and time.
job() {
	local name=$1 t0=$SECONDS rc=0
	shift
	"$@" || rc=$?
	echo "run-all: $name: $([ "$rc" = 0 ] && echo OK || echo "FAILED (exit status $rc)"), $((SECONDS - t0)) s"
	[ "$rc" = 0 ] || failed_jobs+=("$name")
}

# The DNSSEC suite (unbound validating) runs once, in the sanitizer job.
job meson meson test -C build --print-errorlogs --num-processes 1 --no-suite dnssec
# Knot 3.4 (trixie) and 3.5 (sid): build, unit and integration suites in
# minimal chroots; then the Debian package, built and installed in a fresh
# bookworm chroot and used by its knotd.
job matrix bash tests/matrix.sh
job package bash tests/package/test_deb.sh
# Reliability: the ASan+UBSan build (the module inside knotd via LD_PRELOAD),
# a bounded libFuzzer run on the core, a bounded mixed-load soak.
job sanitize bash tests/sanitize.sh
job fuzz bash tests/fuzz/run.sh 60
job soak bash tests/soak/soak.sh 60

logs=()
for f in build/meson-logs/testlog*.json build-asan/meson-logs/testlog*.json; do
	[ ! -f "$f" ] || logs+=("$f")
done
read -r passed failed < <(meson_results "${logs[@]}")
[ ${#failed_jobs[@]} = 0 ] || echo "run-all: failed jobs: ${failed_jobs[*]}"
echo "meson: $passed passed, $failed failed"
[ ${#failed_jobs[@]} = 0 ] && [ "$failed" = 0 ]
