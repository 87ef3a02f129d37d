#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-3.0-or-later
# Fuzzes mxtrap_apply() with libFuzzer for a bounded time.
#
# Usage: tests/fuzz/run.sh [SECONDS]   (default 60)
#
# Configures a build directory of its own with clang, -Dfuzzer=true and
# ASan+UBSan, builds the fuzz target (tests/fuzz/fuzz_core.c with
# module/trap.c and module/signer.c), copies the seed corpus
# (tests/fuzz/corpus) to a working corpus and runs one fuzzing job. Prints
# executions, coverage and corpus size at the end. Exits non-zero on any
# crash, leak, timeout or failed check; the input that caused it is kept in an
# artifact directory under /tmp (path printed). Set FUZZ_CORPUS_OUT=DIR to
# keep the grown working corpus, FUZZ_CFLAGS to add compiler flags.
set -euo pipefail
cd "$(dirname "$0")/../.."
root=$(pwd)

seconds=${1:-60}
if ! [[ $seconds =~ ^[0-9]+$ ]] || [ "$seconds" -lt 1 ]; then
	echo "usage: $0 [SECONDS]" >&2
	exit 2
fi

for tool in clang meson ninja timeout; do
	command -v "$tool" >/dev/null || { echo "fuzz: $tool not found (run tests/setup.sh)" >&2; exit 2; }
done

work=$(mktemp -d /tmp/mxtrap-fuzz.XXXXXX)
artifacts=$(mktemp -d /tmp/mxtrap-fuzz-artifacts.XXXXXX)
cleanup() {
	rm -rf "$work"
	# Keep the artifact directory only if it holds something.
	rmdir "$artifacts" 2>/dev/null || true
}
trap cleanup EXIT

echo "fuzz: building with $(clang --version | head -n 1)${FUZZ_CFLAGS:+ and $FUZZ_CFLAGS}"
# The sanitizers through CFLAGS: the target alone needs no -Db_sanitize set-up.
sanitize="-fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer"
if ! { CC=clang CFLAGS="$sanitize ${FUZZ_CFLAGS:-}" LDFLAGS="-fsanitize=address,undefined" \
	meson setup "$work/build" -Dfuzzer=true -Dbuildtype=debugoptimized &&
	ninja -C "$work/build" tests/fuzz/fuzz_core; } >"$work/build.log" 2>&1; then
	tail -n 40 "$work/build.log"
	echo "fuzz: FAILED to build"
	exit 1
fi
cp "$work/build/tests/fuzz/fuzz_core" "$work/fuzz_core"

mkdir "$work/corpus"
cp tests/fuzz/corpus/* "$work/corpus/"
seeds=$(find "$work/corpus" -type f | wc -l)
echo "fuzz: $seeds seeds, running for ${seconds}s"

# libFuzzer stops itself after max_total_time; timeout is the backstop.
status=0
(
	cd "$work"
	ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 \
	UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	timeout --kill-after=30 $((seconds + 120)) ./fuzz_core \
		-max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
		-print_final_stats=1 -artifact_prefix="$artifacts/" \
		-dict="$root/tests/fuzz/dns.dict" corpus
) >"$work/log" 2>&1 || status=$?

# The log is large (one line per new input): show the head of a failure
# and the final figures.
if [ "$status" -ne 0 ]; then
	grep -v -E '^#[0-9]+[[:space:]]+(NEW|REDUCE|pulse)' "$work/log" | tail -n 80
fi

last=$(grep -E '^#[0-9]+' "$work/log" | tail -n 1 || true)
execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$work/log")
rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$work/log")
cov=$(sed -n 's/.* cov: \([0-9]*\).*/\1/p' <<<"$last")
ft=$(sed -n 's/.* ft: \([0-9]*\).*/\1/p' <<<"$last")
corp=$(sed -n 's/.* corp: \([0-9]*\/[0-9a-zA-Z]*\).*/\1/p' <<<"$last")
files=$(find "$work/corpus" -type f | wc -l)
echo "fuzz: execs ${execs:-?} (${rate:-?}/s), cov ${cov:-?}, ft ${ft:-?}, corpus ${corp:-?} (${files} files, from $seeds seeds)"

if [ -n "${FUZZ_CORPUS_OUT:-}" ]; then
	mkdir -p "$FUZZ_CORPUS_OUT"
	cp "$work/corpus/"* "$FUZZ_CORPUS_OUT/"
	echo "fuzz: corpus copied to $FUZZ_CORPUS_OUT"
fi

if [ "$status" -ne 0 ]; then
	if [ "$status" -eq 124 ] || [ "$status" -eq 137 ]; then
		echo "fuzz: FAILED: libFuzzer did not stop in time (status $status)"
	else
		echo "fuzz: FAILED (status $status)"
	fi
	for f in "$artifacts"/*; do
		[ -e "$f" ] && echo "fuzz: reproducer kept: $f (replay: build/tests/fuzz/fuzz_replay $f)"
	done
	exit 1
fi
if [ -z "$execs" ]; then
	echo "fuzz: FAILED: no final statistics from libFuzzer"
	exit 1
fi
echo "fuzz: OK, no crash, leak or invariant failure"
