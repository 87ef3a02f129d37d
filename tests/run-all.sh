#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-3.0-or-later
# Sets up a fresh Debian machine (as root) and runs every test suite: what CI
# runs. The jobs run in three lanes at once, which overlap their waiting (on
# apt, on knotd's key rollovers); on CI's two cores a run lasts about the
# jobs' CPU time halved. A job's output is printed whole when it ends, with
# its verdict, wall time and CPU time.
# The closing line counts the meson tests of this run from meson's JSON logs
# (build and build-asan), e.g. "meson: 14 passed, 0 failed". Exit status:
# non-zero if any job failed.
#
#   tests/run-all.sh [--knot-src DIR]
#
# --knot-src: a directory holding a Knot source tarball (knot-*.tar.xz; .ci/run
# gives ../shared/knot-src); the knot-src job builds that Knot and runs the
# matrix suites against it. Without it, that job says it did not run.
set -euo pipefail
knot_src=
while [ $# -gt 0 ]; do
	case $1 in
	--knot-src) [ $# -ge 2 ] || { echo "run-all: --knot-src needs a directory" >&2; exit 2; }
		knot_src=$(realpath -m "$2"); shift 2 ;;
	*) echo "usage: $0 [--knot-src DIR]" >&2; exit 2 ;;
	esac
done
cd "$(dirname "$0")/.."
# shellcheck source=tests/lib/common.sh
source tests/lib/common.sh   # meson_results

bash tests/setup.sh
rm -f build/meson-logs/testlog*.json build-asan/meson-logs/testlog*.json
logs=$(mktemp -d)
trap 'rm -rf "$logs"' EXIT

# job NAME CMD...: runs CMD, then prints its output, verdict, wall time and
# CPU time (its processes', user + system); the verdict is kept in
# $logs/NAME.rc for the summary.
job() {
	local name=$1 t0=$SECONDS rc=0 cpu
	shift
	# shellcheck disable=SC2030 # times: the subshell's children
	("$@" >"$logs/$name.log" 2>&1 </dev/null; rc=$?; times >"$logs/$name.cpu"; exit "$rc") || rc=$?
	cpu=$(awk 'NR == 2 { for (i = 1; i <= 2; i++) { split($i, t, /[ms]/); s += t[1] * 60 + t[2] } printf "%.0f", s }' "$logs/$name.cpu")
	{
		echo "==== $name"
		cat "$logs/$name.log"
		echo "run-all: $name: $([ "$rc" = 0 ] && echo OK || echo "FAILED (exit status $rc)"), $((SECONDS - t0)) s, CPU ${cpu:-?} s"
	} | flock "$logs/print.lock" cat
	echo "$rc" >"$logs/$name.rc"
}

meson_plain() {
	meson test -C build --print-errorlogs --num-processes 1 --suite unit --suite integration &&
		meson test -C build --print-errorlogs --logbase testlog-live live
}
# Lane 1: the host's Knot: the unit and integration suites and ops/live
# (reload under load), then the ASan+UBSan build with the unit, integration,
# dnssec (unbound validating) suites and the other ops tests, then a bounded
# mixed-load soak of that build; then a bounded libFuzzer run.
lane_host() {
	job meson meson_plain
	job sanitize bash tests/sanitize.sh
	job soak bash tests/soak/soak.sh 30
	job fuzz bash tests/fuzz/run.sh 30
}
# Lane 2: the Knot series of the other two of bookworm (3.2), trixie (3.4)
# and sid (3.5) in minimal chroots: unit and integration suites, then with
# ASan+UBSan unit, integration, dnssec and ops/restore.
lane_matrix() {
	job matrix bash tests/matrix.sh
}
# Lane 3: the Debian package of bookworm, trixie and sid, each built in its
# release and installed in a fresh chroot of it; then the matrix's suites
# against the Knot of --knot-src (built once, cached by its checksum).
lane_other() {
	job package bash tests/package/test_deb.sh
	if [ -n "$knot_src" ]; then
		export MXTRAP_KNOT_SRC=$knot_src
		job knot-src bash tests/matrix.sh knot-src
	else
		echo "run-all: knot-src: NOT RUN (no --knot-src DIR given: Knot built from source not tested)"
	fi
}

t0=$SECONDS
# On a machine's first run, the Debian chroots of the matrix and package jobs
# are made all at once (each under its lock; the jobs wait for theirs). A
# failure here shows again in the job that needs the chroot.
for suite in bookworm trixie sid; do
	bash tests/matrix.sh --image "$suite" >/dev/null 2>&1 </dev/null &
done
lane_host & lane_matrix & lane_other &
wait

failed_jobs=()
for name in meson sanitize soak matrix package fuzz ${knot_src:+knot-src}; do
	[ "$(cat "$logs/$name.rc" 2>/dev/null)" = 0 ] || failed_jobs+=("$name")
done
test_logs=()
for f in build/meson-logs/testlog*.json build-asan/meson-logs/testlog*.json; do
	[ ! -f "$f" ] || test_logs+=("$f")
done
read -r passed failed < <(meson_results "${test_logs[@]}")
echo "run-all: all jobs $((SECONDS - t0)) s"
[ ${#failed_jobs[@]} = 0 ] || echo "run-all: failed jobs: ${failed_jobs[*]}"
echo "meson: $passed passed, $failed failed"
[ ${#failed_jobs[@]} = 0 ] && [ "$failed" = 0 ]
